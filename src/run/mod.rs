//! `tally run`: execute a checked pipeline and write its run directory.

mod executor;
mod manifest;
mod progress;
mod rundir;

pub use executor::{Outcome, SourceRun, StageRun, execute};
pub use manifest::Manifest;
pub use progress::Progress;
pub use rundir::RunDir;

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Local, NaiveDate};
use polars::prelude::*;

use crate::config::{Format, Pipeline};
use crate::error::{Error, PolarsContext, Result};
use crate::rejects;
use crate::write::{write_parquet, write_workbook};
use manifest::{InputInfo, OutputInfo, PipelineInfo, RejectsInfo, WorkbookInfo, file_digest, sha256_hex};

pub struct RunOptions {
    pub out: PathBuf,
    pub as_of: Option<NaiveDate>,
    pub quiet: bool,
}

/// What a finished run reports back: where it went and its manifest.
pub struct RunReport {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

pub fn run_pipeline(pipeline: &Pipeline, options: &RunOptions) -> Result<RunReport> {
    let started = Instant::now();
    let now = Local::now().naive_local();
    let as_of = options.as_of.or(pipeline.as_of).unwrap_or(now.date());
    let dir = RunDir::create(&options.out, &pipeline.name, as_of, now)?;
    let progress = Progress::new(options.quiet);
    let mut outcome = execute(pipeline, &progress)?;

    let mut outputs = Vec::new();
    for name in &pipeline.outputs {
        let table = outcome.tables.get_mut(name).expect("outputs are checked to exist");
        let file = format!("{name}.parquet");
        write_parquet(table, &dir.work.join(&file))?;
        let columns = table.get_column_names().iter().map(|c| c.to_string()).collect();
        outputs.push(OutputInfo { table: name.clone(), rows: table.height(), columns, parquet: file });
    }
    write_parquet(&mut outcome.rejects, &dir.work.join("rejects.parquet"))?;
    for (name, bytes) in &outcome.files {
        let path = dir.work.join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    }

    let workbook_file = format!("{}.xlsx", pipeline.name);
    let mut sheets: Vec<(&str, &DataFrame)> =
        pipeline.outputs.iter().map(|n| (n.as_str(), &outcome.tables[n])).collect();
    sheets.extend(outcome.sheets.iter().map(|(name, df)| (name.as_str(), df)));
    sheets.push(("rejects", &outcome.rejects));
    let sheet_notes = write_workbook(&sheets, &dir.work.join(&workbook_file), as_of)?;

    let manifest = Manifest {
        tally_version: env!("CARGO_PKG_VERSION"),
        pipeline: PipelineInfo {
            name: pipeline.name.clone(),
            path: pipeline.path.display().to_string(),
            sha256: sha256_hex(pipeline.text.as_bytes()),
        },
        run_id: dir.run_id.clone(),
        as_of: as_of.to_string(),
        inputs: inputs(pipeline, &outcome.loads)?,
        stages: outcome.stages.clone(),
        outputs,
        rejects: RejectsInfo {
            rows: outcome.loads.iter().map(|l| l.stats.rows_rejected).sum::<usize>()
                + outcome.stages.iter().map(|s| s.rows_rejected).sum::<usize>(),
            entries: outcome.rejects.height(),
            by_reason: rejects::by_reason(&outcome.rejects).context(|| "counting rejects".into())?,
            parquet: "rejects.parquet".into(),
        },
        workbook: WorkbookInfo { path: workbook_file, sheets: sheet_notes },
        files: outcome.files.iter().map(|(name, _)| name.clone()).collect(),
        seconds: started.elapsed().as_secs_f64(),
    };
    let manifest_path = dir.work.join("manifest.json");
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
    std::fs::write(&manifest_path, json).map_err(|e| Error::io(&manifest_path, e))?;
    let dir = dir.commit()?;
    Ok(RunReport { dir, manifest })
}

fn inputs(pipeline: &Pipeline, loads: &[SourceRun]) -> Result<Vec<InputInfo>> {
    pipeline
        .sources
        .iter()
        .map(|source| {
            let (bytes, sha256) = file_digest(&source.path)?;
            let run = loads.iter().find(|l| l.name == source.name).expect("every source ran").clone();
            Ok(InputInfo {
                path: source.path.display().to_string(),
                format: format_name(source.format).into(),
                bytes,
                sha256,
                run,
            })
        })
        .collect()
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Xlsx => "xlsx",
        Format::Parquet => "parquet",
    }
}

/// A path relative to the working directory when it lies below it, for shorter summaries.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}
