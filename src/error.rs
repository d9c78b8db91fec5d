//! The error type of a run, split by who must act: config mistakes (exit 2), data and
//! IO failures (exit 1), and a run stopped by its own gates (exit 3).

use std::path::PathBuf;

use crate::diag::{Diagnostic, render};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pipeline or a schema is wrong; found before any data is read.
    #[error("{}", render(.0))]
    Config(Vec<Diagnostic>),
    /// An input file cannot be read as declared (encoding, format, missing columns ...).
    #[error("{file}: {message}")]
    Input { file: PathBuf, message: String },
    /// A stage failed while running; `at` is its entry in the pipeline file.
    #[error("{at}: stage '{stage}': {source}")]
    Stage { stage: String, at: String, source: polars::error::PolarsError },
    /// An error finding (a gate, a stage's review) stopped the run; the run directory
    /// is kept as failed, for the evidence.
    #[error("{}\nrun stopped; nothing published. Evidence: {}", .findings.join("\n"), .dir.display())]
    Stopped { dir: PathBuf, findings: Vec<String> },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{context}: {source}")]
    Polars { context: String, source: polars::error::PolarsError },
}

impl Error {
    pub fn input(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Input { file: file.into(), message: message.into() }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// Exit codes: 2 for usage and config errors (as ripgrep), 1 for data and IO
    /// errors, 3 for a run its gates stopped.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) => 2,
            Error::Stopped { .. } => 3,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a context string to Polars errors.
pub trait PolarsContext<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> PolarsContext<T> for polars::error::PolarsResult<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Polars { context: context(), source })
    }
}

/// Runs `f`, turning a panic into the error `to_error` makes of its message: no
/// input may crash tally with a backtrace. Used around each loader and stage.
pub fn catch_panic<T>(f: impl FnOnce() -> Result<T>, to_error: impl FnOnce(String) -> Error) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(to_error(panic_message(&*payload))))
}

/// The text a panic was raised with.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => s.to_string(),
        (_, Some(s)) => s.clone(),
        _ => "a panic without a message".to_string(),
    }
}
