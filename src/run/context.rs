//! What every stage may know about the run it is part of: the as-of date, the run id,
//! the pipeline's previous committed run (for changes since then), and stores that
//! live outside run directories.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;

use crate::diag::is_identifier;
use crate::stages::Effect;

pub struct RunContext {
    pub as_of: NaiveDate,
    pub run_id: String,
    pub previous: Option<PreviousRun>,
}

impl RunContext {
    /// A context outside any run directory: no previous run.
    pub fn detached(as_of: NaiveDate) -> Self {
        RunContext { as_of, run_id: String::new(), previous: None }
    }

    /// The previous run's output table of this name, if it wrote one.
    pub fn previous_table(&self, table: &str) -> PolarsResult<Option<DataFrame>> {
        match &self.previous {
            Some(p) => p.table(table),
            None => Ok(None),
        }
    }
}

/// The run `OUT/<pipeline>/latest` pointed at when this run started.
#[derive(Debug, Clone, Serialize)]
pub struct PreviousRun {
    pub run_id: String,
    pub as_of: String,
    #[serde(skip)]
    pub dir: PathBuf,
    #[serde(skip)]
    outputs: Vec<String>,
}

impl PreviousRun {
    /// The previous committed run under `base` (`OUT/<pipeline>`), or none. A `latest`
    /// that does not lead to a readable manifest is treated as no previous run.
    pub fn find(base: &Path) -> Option<PreviousRun> {
        let dir = std::fs::canonicalize(base.join("latest")).ok()?;
        let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
        let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
        let text_of = |key: &str| manifest.get(key).and_then(|v| v.as_str()).map(String::from);
        let outputs = manifest.get("outputs")?.as_array()?;
        let outputs = outputs.iter().filter_map(|o| o.get("table")?.as_str().map(String::from)).collect();
        Some(PreviousRun { run_id: text_of("run_id")?, as_of: text_of("as_of")?, dir, outputs })
    }

    /// One of its output tables, read from its Parquet file.
    pub fn table(&self, table: &str) -> PolarsResult<Option<DataFrame>> {
        if !self.outputs.iter().any(|o| o == table) || !is_identifier(table) {
            return Ok(None);
        }
        read_parquet(&self.dir.join(format!("{table}.parquet"))).map(Some)
    }
}

/// A folder outside the run directories that a stage reads and, through effects,
/// writes: one Parquet file per named entry (a period's snapshot, say).
#[derive(Debug, Clone)]
pub struct Store {
    pub root: PathBuf,
}

impl Store {
    /// An entry, if the store has it.
    pub fn read(&self, entry: &str) -> PolarsResult<Option<DataFrame>> {
        let path = self.path(entry)?;
        if !path.is_file() {
            return Ok(None);
        }
        read_parquet(&path).map(Some)
    }

    /// Writing an entry, as an effect applied when the run commits.
    pub fn write(&self, entry: &str, table: &mut DataFrame) -> PolarsResult<Effect> {
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes).with_compression(ParquetCompression::Zstd(None)).finish(table)?;
        Ok(Effect { path: self.path(entry)?, bytes })
    }

    fn path(&self, entry: &str) -> PolarsResult<PathBuf> {
        if !is_identifier(entry) {
            polars_bail!(ComputeError: "store entry '{entry}' is not an identifier");
        }
        Ok(self.root.join(format!("{entry}.parquet")))
    }
}

fn read_parquet(path: &Path) -> PolarsResult<DataFrame> {
    let file = std::fs::File::open(path).map_err(|e| polars_err!(ComputeError: "{}: {e}", path.display()))?;
    ParquetReader::new(file).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_entry_round_trips_through_an_effect_and_names_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store { root: dir.path().to_path_buf() };
        assert!(store.read("q4").unwrap().is_none());
        let mut table = df! { "customers" => [3u64, 4] }.unwrap();
        let effect = store.write("q4", &mut table).unwrap();
        assert_eq!(effect.path, dir.path().join("q4.parquet"));
        std::fs::write(&effect.path, &effect.bytes).unwrap();
        assert_eq!(store.read("q4").unwrap().unwrap(), table);
        for bad in ["../q4", "/tmp/q4", "a/b", ""] {
            assert!(store.write(bad, &mut table).is_err(), "{bad}");
        }
    }
}
