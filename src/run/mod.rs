//! `tally run`: execute a plan and write its run directory.

mod census;
mod context;
mod executor;
mod manifest;
mod progress;
mod rundir;
mod stream;

pub use census::{StageCensus, census};
pub use context::{PreviousRun, RunContext, Store};
pub use executor::{Outcome, SourceRun, StageRun, execute};
pub use manifest::Manifest;
pub use progress::Progress;
pub use rundir::{RunDir, remove_partial_on_signal};

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Local, NaiveDate};
use polars::prelude::*;

use crate::config::{Format, Pipeline, REJECTS_TABLE};
use crate::error::{Error, PolarsContext, Result};
use crate::plan::Plan;
use crate::rejects;
use crate::stages::{Finding, Severity};
use crate::write::{SheetNote, write_parquet, write_workbook};
use manifest::{EffectInfo, InputInfo, PipelineInfo, RejectsInfo, WorkbookInfo, file_digest, sha256_hex};

pub struct RunOptions {
    pub out: PathBuf,
    pub as_of: Option<NaiveDate>,
    pub quiet: bool,
    /// Rows per batch of a streamed Parquet source; 0 holds every table whole.
    pub batch_rows: usize,
}

/// About a million rows: a batch of 35-column transactions takes a few hundred MB.
pub const BATCH_ROWS: usize = 1 << 20;

/// What a finished run reports back: where it went and its manifest.
pub struct RunReport {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// Effects are written after the run directory is committed, outside it: one aimed
/// inside the output folder would write into runs, or through `latest`.
fn effects_outside(plan: &Plan, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let out = std::fs::canonicalize(out).map_err(|e| Error::io(out, e))?;
    let inside = |p: &Path| p.parent().and_then(|d| std::fs::canonicalize(d).ok()).is_some_and(|d| d.starts_with(&out));
    let problems: Vec<_> = plan
        .stages
        .iter()
        .flat_map(|s| s.stage.effect_paths().into_iter().filter(|p| inside(p)).map(move |p| (s, p)))
        .map(|(s, p)| {
            let message =
                format!("stage '{}' would write {} inside the output folder {}", s.id(), p.display(), out.display());
            plan.pipeline.doc().at(&s.at, message)
        })
        .collect();
    if problems.is_empty() { Ok(()) } else { Err(Error::Config(problems)) }
}

pub fn run_pipeline(plan: &Plan, options: &RunOptions) -> Result<RunReport> {
    let pipeline = &plan.pipeline;
    let started = Instant::now();
    let now = Local::now().naive_local();
    let as_of = options.as_of.or(pipeline.as_of).unwrap_or(now.date());
    let base = options.out.join(&pipeline.name);
    effects_outside(plan, &options.out)?;
    let previous = PreviousRun::find(&base);
    let dir = RunDir::create(&base, as_of, now)?;
    let cx = RunContext { as_of, run_id: dir.run_id.clone(), previous };
    let progress = Progress::new(options.quiet);
    let mut outcome = execute(plan, &cx, &progress, &dir, options.batch_rows)?;
    write_parquet(&mut outcome.rejects, &dir.file("rejects.parquet")?)?;
    for (name, bytes) in &outcome.files {
        let path = dir.file(name)?;
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    }

    let workbook_file = format!("{}.xlsx", pipeline.name);
    let (sheets, left_out) = workbook_tables(pipeline, &outcome);
    let sheet_notes = write_workbook(&sheets, &dir.file(&workbook_file)?, as_of)?;
    outcome.findings.extend(sheet_notes.iter().filter_map(cut_cells));
    outcome.findings.extend(left_out);
    let stopped = outcome.stopped();
    let manifest = Manifest {
        tally_version: env!("CARGO_PKG_VERSION"),
        status: if stopped { "failed" } else { "ok" },
        pipeline: PipelineInfo {
            name: pipeline.name.clone(),
            path: pipeline.path.display().to_string(),
            sha256: sha256_hex(pipeline.text.as_bytes()),
        },
        run_id: dir.run_id.clone(),
        started_at: dir.started.clone(),
        as_of: as_of.to_string(),
        previous_run: cx.previous.clone(),
        inputs: inputs(pipeline, &outcome.loads)?,
        stages: outcome.stages.clone(),
        outputs: std::mem::take(&mut outcome.outputs),
        rejects: RejectsInfo {
            rows: outcome.loads.iter().map(|l| l.stats.rows_rejected).sum::<usize>()
                + outcome.stages.iter().map(|s| s.rows_rejected).sum::<usize>(),
            entries: outcome.rejects.height(),
            by_reason: rejects::by_reason(&outcome.rejects).context(|| "counting rejects".into())?,
            parquet: "rejects.parquet".into(),
        },
        workbook: WorkbookInfo { path: workbook_file, sheets: sheet_notes },
        files: outcome.files.iter().map(|(name, _)| name.clone()).collect(),
        findings: outcome.findings.clone(),
        effects: outcome.effects.iter().map(EffectInfo::of).collect(),
        seconds: started.elapsed().as_secs_f64(),
    };
    let manifest_path = dir.file("manifest.json")?;
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
    std::fs::write(&manifest_path, json).map_err(|e| Error::io(&manifest_path, e))?;
    if stopped {
        let dir = dir.fail()?;
        let findings = outcome.findings.iter().filter(|f| f.severity == Severity::Error);
        let findings = findings.map(|f| format!("error: {}: {}", f.origin, f.message)).collect();
        return Err(Error::Stopped { dir, findings });
    }
    let dir = dir.commit(&outcome.effects)?;
    Ok(RunReport { dir, manifest })
}

/// The workbook's sheets: the tables `workbook.tables` names (default: every output,
/// then the rejects) with the stages' summary sheets after the outputs, and a warning
/// for each table left out for its size. A table is never cut to fit.
fn workbook_tables<'a>(
    pipeline: &'a Pipeline,
    outcome: &'a executor::Outcome,
) -> (Vec<(&'a str, &'a DataFrame)>, Vec<Finding>) {
    let config = &pipeline.workbook;
    let max_rows = config.max_rows.value;
    let names: Vec<&str> = match &config.tables {
        Some(tables) => tables.iter().map(|t| t.value.as_str()).collect(),
        None => pipeline.output_names().chain([REJECTS_TABLE]).collect(),
    };
    let (mut sheets, mut left_out) = (Vec::new(), Vec::new());
    for name in names {
        if name == REJECTS_TABLE && outcome.rejects.height() <= max_rows {
            sheets.push((name, &outcome.rejects));
        } else if let Some(df) = outcome.tables.get(name) {
            sheets.push((name, df));
        } else {
            // Written but not kept for its size; a stopped run has only the tables it got to.
            let rows = match name {
                REJECTS_TABLE => outcome.rejects.height(),
                _ => match outcome.outputs.iter().find(|o| o.table == name) {
                    Some(o) => o.rows,
                    None => continue,
                },
            };
            let message = format!(
                "table '{name}' ({rows} rows) is left out of the workbook, which takes tables of up to {max_rows} rows \
                 (workbook: max_rows); {name}.parquet has all of it",
            );
            left_out.push(Finding {
                origin: "workbook".into(),
                ..Finding::new(Severity::Warn, "workbook_table_left_out", message)
            });
        }
    }
    let after_outputs = sheets.iter().position(|(n, _)| *n == REJECTS_TABLE).unwrap_or(sheets.len());
    let summaries = outcome.sheets.iter().map(|(name, df)| (name.as_str(), df));
    sheets.splice(after_outputs..after_outputs, summaries);
    (sheets, left_out)
}

/// A warning for a sheet whose cells were cut to Excel's limit.
fn cut_cells(note: &SheetNote) -> Option<Finding> {
    let (row, column) = note.first_cut.as_ref()?;
    let message = format!(
        "sheet '{}': {} cells over Excel's 32,767 characters were cut in the workbook, \
         the first at row {row}, column '{column}'; the Parquet file keeps them whole",
        note.sheet, note.cells_cut
    );
    Some(Finding { origin: "workbook".into(), ..Finding::new(Severity::Warn, "workbook_cell_cut", message) })
}

fn inputs(pipeline: &Pipeline, loads: &[SourceRun]) -> Result<Vec<InputInfo>> {
    loads
        .iter()
        .map(|run| {
            let source = pipeline.sources.iter().find(|s| s.name == run.name).expect("every load is a source");
            let (bytes, sha256) = file_digest(&source.path)?;
            Ok(InputInfo {
                path: source.path.display().to_string(),
                format: format_name(source.format).into(),
                bytes,
                sha256,
                run: run.clone(),
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
