//! Run directories: every run writes into `OUT/<pipeline>/<run-id>/`, never over an
//! earlier run. Files go into a hidden `.partial` directory that is renamed when the
//! run is complete; only then does the `latest` link move. A failed run leaves nothing.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};

use crate::error::{Error, Result};

pub struct RunDir {
    pub run_id: String,
    /// Where files are written while the run is in progress.
    pub work: PathBuf,
    base: PathBuf,
    committed: bool,
}

impl RunDir {
    /// Creates the work directory of a new run; the id is the as-of date and the start
    /// time, with a suffix if a run with that id already exists.
    pub fn create(out: &Path, pipeline: &str, as_of: NaiveDate, started: NaiveDateTime) -> Result<Self> {
        let base = out.join(pipeline);
        std::fs::create_dir_all(&base).map_err(|e| Error::io(&base, e))?;
        let stem = format!("{as_of}_{}", started.format("%Y%m%dT%H%M%S"));
        let run_id = (1..)
            .map(|n| if n == 1 { stem.clone() } else { format!("{stem}-{n}") })
            .find(|id| !base.join(id).exists() && !base.join(format!(".{id}.partial")).exists())
            .expect("some suffix is free");
        let work = base.join(format!(".{run_id}.partial"));
        std::fs::create_dir(&work).map_err(|e| Error::io(&work, e))?;
        Ok(RunDir { run_id, work, base, committed: false })
    }

    /// Moves the finished run into place and points `latest` at it.
    pub fn commit(mut self) -> Result<PathBuf> {
        let done = self.base.join(&self.run_id);
        std::fs::rename(&self.work, &done).map_err(|e| Error::io(&done, e))?;
        self.committed = true;
        let link = self.base.join("latest");
        let tmp = self.base.join(format!(".latest.{}", self.run_id));
        #[cfg(unix)]
        std::os::unix::fs::symlink(&self.run_id, &tmp).map_err(|e| Error::io(&tmp, e))?;
        #[cfg(not(unix))]
        std::fs::write(&tmp, &self.run_id).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &link).map_err(|e| Error::io(&link, e))?;
        Ok(done)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.work);
        }
    }
}
