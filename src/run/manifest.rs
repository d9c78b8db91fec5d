//! `manifest.json`: what ran, on which inputs (with hashes), and where every row went.

use std::io::Read;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::context::PreviousRun;
use super::executor::{SourceRun, StageRun};
use crate::error::{Error, Result};
use crate::stages::{Effect, Finding};
use crate::write::SheetNote;

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub tally_version: &'static str,
    /// `ok`, or `failed` when an error finding stopped the run.
    pub status: &'static str,
    pub pipeline: PipelineInfo,
    pub run_id: String,
    /// When the run started, local time to the nanosecond.
    pub started_at: String,
    pub as_of: String,
    /// The committed run `latest` pointed at when this one started, offered to stages.
    pub previous_run: Option<PreviousRun>,
    pub inputs: Vec<InputInfo>,
    pub stages: Vec<StageRun>,
    pub outputs: Vec<OutputInfo>,
    pub rejects: RejectsInfo,
    pub workbook: WorkbookInfo,
    /// Other files stages wrote into the run directory (e.g. trained models).
    pub files: Vec<String>,
    /// What stages and gates found: warnings, and the errors that stopped a run.
    pub findings: Vec<Finding>,
    /// Files written outside the run directory once it was committed.
    pub effects: Vec<EffectInfo>,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct EffectInfo {
    pub path: String,
    pub bytes: usize,
    pub sha256: String,
}

impl EffectInfo {
    pub fn of(effect: &Effect) -> Self {
        EffectInfo {
            path: effect.path.display().to_string(),
            bytes: effect.bytes.len(),
            sha256: sha256_hex(&effect.bytes),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PipelineInfo {
    pub name: String,
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Serialize)]
pub struct InputInfo {
    pub path: String,
    pub format: String,
    pub bytes: u64,
    pub sha256: String,
    #[serde(flatten)]
    pub run: SourceRun,
}

#[derive(Debug, Serialize)]
pub struct OutputInfo {
    pub table: String,
    pub rows: usize,
    pub columns: Vec<String>,
    pub parquet: String,
    /// Time to write the Parquet file, beside the stages still running.
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct RejectsInfo {
    /// Distinct rows rejected, over all sources and stages.
    pub rows: usize,
    /// Reject entries: a row failing in two columns has two.
    pub entries: usize,
    pub by_reason: Vec<(String, u64)>,
    pub parquet: String,
}

#[derive(Debug, Serialize)]
pub struct WorkbookInfo {
    pub path: String,
    pub sheets: Vec<SheetNote>,
}

/// Size and SHA-256 of a file, streamed so large inputs are not held twice.
pub fn file_digest(path: &Path) -> Result<(u64, String)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex(&hasher.finalize())))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
