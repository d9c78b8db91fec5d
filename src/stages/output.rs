//! What a stage hands back besides its tables: rejects, a report, workbook sheets,
//! files for the run directory, findings that can stop publication, and effects to
//! apply outside the run directory once the run is committed.

use std::path::PathBuf;

use polars::prelude::DataFrame;
use serde::Serialize;

#[derive(Default)]
pub struct StageOutput {
    /// The main output, then one table per port, in the order the stage declares.
    pub tables: Vec<DataFrame>,
    /// Rejected rows, in the rejects schema.
    pub rejects: Option<DataFrame>,
    /// What the stage reports about its work, for the manifest.
    pub report: Option<serde_json::Value>,
    /// Extra workbook sheets, named `<output>_<what>`.
    pub sheets: Vec<(String, DataFrame)>,
    /// Files for the run directory (name, bytes), e.g. a trained model.
    pub files: Vec<(String, Vec<u8>)>,
    pub findings: Vec<Finding>,
    pub effects: Vec<Effect>,
}

impl StageOutput {
    pub fn table(table: DataFrame) -> Self {
        StageOutput { tables: vec![table], ..Default::default() }
    }
}

/// Something a stage or a gate found that people must see. An error stops the run
/// after the current level: the run is kept as failed and `latest` does not move.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The stage or source that found it; the executor fills it in.
    pub origin: String,
    /// A short code to filter on, e.g. `blocks_skipped`.
    pub code: String,
    pub message: String,
}

impl Finding {
    pub fn new(severity: Severity, code: &str, message: impl Into<String>) -> Self {
        Finding { severity, origin: String::new(), code: code.to_string(), message: message.into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Error,
}

/// A file written outside the run directory (a saved model, a snapshot store). It is
/// applied only after the run directory is committed, as a temporary file renamed
/// into place, so a failed or killed run leaves every store as it was.
#[derive(Debug, Clone)]
pub struct Effect {
    /// Where it goes, as the pipeline declared it (resolved against its folder).
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}
