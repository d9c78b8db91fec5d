//! Run directories: every run writes into `OUT/<pipeline>/<run-id>/`, never over an
//! earlier run. Files go into a hidden `.partial` directory that is renamed when the
//! run is complete; then its effects are applied, and only then does the `latest` link
//! move. A failed run leaves nothing, unless its gates stopped it: that run is kept as
//! `<run-id>.failed` for the evidence. An interrupted run (SIGINT, SIGTERM) removes
//! its partial directory before the process exits.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{NaiveDate, NaiveDateTime};

use crate::diag::is_identifier;
use crate::error::{Error, Result};
use crate::stages::Effect;

/// The partial directory of the run in progress, for the signal handler to remove.
/// Held locked while the directory is renamed, so the two never race.
static PARTIAL: Mutex<Option<PathBuf>> = Mutex::new(None);

/// On SIGINT or SIGTERM, removes the partial run directory and exits with 130.
pub fn remove_partial_on_signal() {
    let _ = ctrlc::set_handler(|| {
        let mut partial = PARTIAL.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(dir) = partial.take() {
            // Stages may still be writing into it; a few tries get the last files.
            for _ in 0..5 {
                if std::fs::remove_dir_all(&dir).is_ok() || !dir.exists() {
                    break;
                }
            }
        }
        std::process::exit(130);
    });
}

pub struct RunDir {
    pub run_id: String,
    /// Where files are written while the run is in progress.
    pub work: PathBuf,
    pub base: PathBuf,
    done: bool,
}

impl RunDir {
    /// Creates the work directory of a new run under `base` (`OUT/<pipeline>`); the id
    /// is the as-of date and the start time, with a suffix if that id is taken.
    pub fn create(base: &Path, as_of: NaiveDate, started: NaiveDateTime) -> Result<Self> {
        std::fs::create_dir_all(base).map_err(|e| Error::io(base, e))?;
        let stem = format!("{as_of}_{}", started.format("%Y%m%dT%H%M%S"));
        let taken = |id: &str| ["", ".failed"].iter().any(|s| base.join(format!("{id}{s}")).exists());
        let run_id = (1..)
            .map(|n| if n == 1 { stem.clone() } else { format!("{stem}-{n}") })
            .find(|id| !taken(id) && !base.join(format!(".{id}.partial")).exists())
            .expect("some suffix is free");
        let work = base.join(format!(".{run_id}.partial"));
        std::fs::create_dir(&work).map_err(|e| Error::io(&work, e))?;
        *PARTIAL.lock().unwrap_or_else(|e| e.into_inner()) = Some(work.clone());
        Ok(RunDir { run_id, work, base: base.to_path_buf(), done: false })
    }

    /// A file of this run, by a name that cannot leave the run directory.
    pub fn file(&self, name: &str) -> Result<PathBuf> {
        let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
        if !is_identifier(stem) || name.contains(['/', '\\']) {
            return Err(Error::io(name, std::io::Error::other("not a file name inside the run directory")));
        }
        Ok(self.work.join(name))
    }

    /// Moves the finished run into place, applies its effects, then points `latest` at it.
    pub fn commit(mut self, effects: &[Effect]) -> Result<PathBuf> {
        let id = self.run_id.clone();
        let done = self.finish(&id)?;
        for effect in effects {
            apply(effect, &self.run_id)?;
        }
        let link = self.base.join("latest");
        let tmp = self.base.join(format!(".latest.{}", self.run_id));
        #[cfg(unix)]
        std::os::unix::fs::symlink(&self.run_id, &tmp).map_err(|e| Error::io(&tmp, e))?;
        #[cfg(not(unix))]
        std::fs::write(&tmp, &self.run_id).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &link).map_err(|e| Error::io(&link, e))?;
        Ok(done)
    }

    /// Keeps a run its gates stopped as `<run-id>.failed`; `latest` stays where it was.
    pub fn fail(mut self) -> Result<PathBuf> {
        let id = format!("{}.failed", self.run_id);
        self.finish(&id)
    }

    /// Renames the partial directory to `name`, out of the signal handler's reach.
    fn finish(&mut self, name: &str) -> Result<PathBuf> {
        let mut partial = PARTIAL.lock().unwrap_or_else(|e| e.into_inner());
        let done = self.base.join(name);
        std::fs::rename(&self.work, &done).map_err(|e| Error::io(&done, e))?;
        *partial = None;
        self.done = true;
        Ok(done)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.done {
            let mut partial = PARTIAL.lock().unwrap_or_else(|e| e.into_inner());
            let _ = std::fs::remove_dir_all(&self.work);
            *partial = None;
        }
    }
}

/// Writes an effect's file beside its target and renames it into place, so a reader
/// sees the old file or the new one, never a part.
fn apply(effect: &Effect, run_id: &str) -> Result<()> {
    let path = &effect.path;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{run_id}.tmp"));
    let written = std::fs::write(&tmp, &effect.bytes).and_then(|_| std::fs::rename(&tmp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}
