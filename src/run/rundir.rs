//! Run directories: every run writes into `OUT/<pipeline>/<run-id>/`, never over an
//! earlier run. Files go into a hidden `.<run-id>.<pid>.partial` directory that is
//! renamed when the run is complete; then its effects are applied, and only then does
//! the `latest` link move. A failed run leaves nothing, unless its gates stopped it:
//! that run is kept as `<run-id>.failed` for the evidence. An interrupted run (SIGINT,
//! SIGTERM) removes its partial directory before the process exits; one killed outright
//! leaves it for the next run to remove. Ids are picked and runs committed under a lock
//! on the pipeline's folder, so concurrent runs never share an id or move `latest` back.

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
    /// When the run started, to the nanosecond: `latest` goes to the run that started
    /// last, whatever order runs finish in.
    pub started: String,
    done: bool,
}

impl RunDir {
    /// Creates the work directory of a new run under `base` (`OUT/<pipeline>`); the id
    /// is the as-of date and the start time, with a suffix if that id is taken. Runs of
    /// one pipeline started in the same second get distinct ids.
    pub fn create(base: &Path, as_of: NaiveDate, started: NaiveDateTime) -> Result<Self> {
        std::fs::create_dir_all(base).map_err(|e| Error::io(base, e))?;
        let link = base.join("latest");
        if std::fs::symlink_metadata(&link).is_ok_and(|m| !m.file_type().is_symlink()) {
            let why = "is not the link tally keeps to the latest run; move it away and run again";
            return Err(Error::Config(vec![crate::diag::Diagnostic::new(&link, 0, 0, why)]));
        }
        let _lock = lock(base)?;
        let partials = remove_stale_partials(base);
        let stem = format!("{as_of}_{}", started.format("%Y%m%dT%H%M%S"));
        let taken = |id: &str| {
            ["", ".failed"].iter().any(|s| base.join(format!("{id}{s}")).exists())
                || partials.iter().any(|(other, _)| other == id)
        };
        for n in 1.. {
            let run_id = if n == 1 { stem.clone() } else { format!("{stem}-{n}") };
            if taken(&run_id) {
                continue;
            }
            let work = base.join(format!(".{run_id}.{}.partial", std::process::id()));
            match std::fs::create_dir(&work) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(&work, e)),
                Ok(()) => {}
            }
            *PARTIAL.lock().unwrap_or_else(|e| e.into_inner()) = Some(work.clone());
            return Ok(RunDir { run_id, work, base: base.to_path_buf(), started: stamp(started), done: false });
        }
        unreachable!("some suffix is free")
    }

    /// A file of this run, by a name that cannot leave the run directory.
    pub fn file(&self, name: &str) -> Result<PathBuf> {
        let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
        if !is_identifier(stem) || name.contains(['/', '\\']) {
            return Err(Error::io(name, std::io::Error::other("not a file name inside the run directory")));
        }
        Ok(self.work.join(name))
    }

    /// Moves the finished run into place, applies its effects, then points `latest` at
    /// it, unless a run that started later has committed already.
    pub fn commit(mut self, effects: &[Effect]) -> Result<PathBuf> {
        let _lock = lock(&self.base)?;
        let id = self.run_id.clone();
        let done = self.finish(&id)?;
        for effect in effects {
            apply(effect, &self.run_id)?;
        }
        let link = self.base.join("latest");
        if latest_started(&link).is_some_and(|other| other > self.started) {
            return Ok(done);
        }
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

/// The partial directories of runs in progress (`.<run-id>.<pid>.partial`), as (run
/// id, pid). Those whose process is gone (killed with SIGKILL, or by the machine
/// going down) are removed first, so they do not pile up.
fn remove_stale_partials(base: &Path) -> Vec<(String, u32)> {
    let entries = std::fs::read_dir(base).into_iter().flatten().flatten();
    let partials = entries.filter_map(|e| {
        let name = e.file_name().into_string().ok()?;
        let (id, pid) = name.strip_prefix('.')?.strip_suffix(".partial")?.rsplit_once('.')?;
        Some((id.to_string(), pid.parse::<u32>().ok()?))
    });
    let alive = |pid: u32| !Path::new("/proc").is_dir() || Path::new(&format!("/proc/{pid}")).exists();
    partials
        .filter(|(id, pid)| alive(*pid) || std::fs::remove_dir_all(base.join(format!(".{id}.{pid}.partial"))).is_err())
        .collect()
}

/// The start stamp written into manifests.
pub fn stamp(started: NaiveDateTime) -> String {
    started.format("%Y-%m-%dT%H:%M:%S%.9f").to_string()
}

/// When the run `latest` points at started, from its manifest.
fn latest_started(link: &Path) -> Option<String> {
    let text = std::fs::read_to_string(link.join("manifest.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
    manifest.get("started_at")?.as_str().map(String::from)
}

/// Holds the pipeline's lock, an advisory lock on its folder, while a run picks its id
/// or commits, so that concurrent runs of one pipeline never take one id or move
/// `latest` back. Released on drop.
fn lock(base: &Path) -> Result<std::fs::File> {
    let folder = std::fs::File::open(base).map_err(|e| Error::io(base, e))?;
    folder.lock().map_err(|e| Error::io(base, e))?;
    Ok(folder)
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
