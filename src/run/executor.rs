//! Executes a checked pipeline: each level of the graph runs its nodes in parallel,
//! tables flow between stages by name, and every node's rows and time are recorded.

use std::collections::HashMap;
use std::time::Instant;

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

use super::progress::Progress;
use crate::config::Pipeline;
use crate::error::{Error, PolarsContext, Result};
use crate::load::{LoadStats, load};
use crate::plan::NodeId;
use crate::rejects;
use crate::stages::StageOutput;

/// Everything a run produced, before it is written.
pub struct Outcome {
    pub tables: HashMap<String, DataFrame>,
    pub rejects: DataFrame,
    /// Extra workbook sheets stages asked for (e.g. `cleaning_summary`).
    pub sheets: Vec<(String, DataFrame)>,
    /// Files stages asked to put in the run directory (e.g. a trained dedup model).
    pub files: Vec<(String, Vec<u8>)>,
    pub loads: Vec<SourceRun>,
    pub stages: Vec<StageRun>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceRun {
    #[serde(rename = "source")]
    pub name: String,
    pub seconds: f64,
    #[serde(flatten)]
    pub stats: LoadStats,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageRun {
    pub id: String,
    pub kind: &'static str,
    pub inputs: Vec<String>,
    pub rows_in: usize,
    pub rows_out: usize,
    pub rows_rejected: usize,
    pub seconds: f64,
    /// What the stage reports about its work (e.g. the clean stage's summary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
}

enum NodeOutput {
    Source(DataFrame, DataFrame, SourceRun),
    Stage(StageOutput, StageRun),
}

pub fn execute(pipeline: &Pipeline, progress: &Progress) -> Result<Outcome> {
    let mut outcome = Outcome {
        tables: HashMap::new(),
        rejects: rejects::empty(),
        sheets: Vec::new(),
        files: Vec::new(),
        loads: Vec::new(),
        stages: Vec::new(),
    };
    for level in &pipeline.levels {
        let results: Vec<Result<NodeOutput>> =
            level.par_iter().map(|id| run_node(pipeline, *id, &outcome.tables, progress)).collect();
        for result in results {
            match result? {
                NodeOutput::Source(table, rejected, run) => {
                    outcome
                        .rejects
                        .vstack_mut(&rejected)
                        .context(|| format!("collecting rejects of '{}'", run.name))?;
                    outcome.tables.insert(run.name.clone(), table);
                    outcome.loads.push(run);
                }
                NodeOutput::Stage(output, run) => {
                    if let Some(rejected) = &output.rejects {
                        outcome
                            .rejects
                            .vstack_mut(rejected)
                            .context(|| format!("collecting rejects of '{}'", run.id))?;
                    }
                    outcome.sheets.extend(output.sheets);
                    outcome.files.extend(output.files);
                    outcome.tables.extend(output.side_tables);
                    outcome.tables.insert(run.id.clone(), output.table);
                    outcome.stages.push(run);
                }
            }
        }
    }
    outcome.rejects.rechunk_mut();
    // Levels finish in any order; report in the order the pipeline declares.
    let position = |id: &str| pipeline.stages.iter().position(|s| s.id() == id);
    outcome.stages.sort_by_key(|s| position(&s.id));
    outcome.loads.sort_by_key(|l| pipeline.sources.iter().position(|s| s.name == l.name));
    Ok(outcome)
}

fn run_node(
    pipeline: &Pipeline,
    id: NodeId,
    tables: &HashMap<String, DataFrame>,
    progress: &Progress,
) -> Result<NodeOutput> {
    let started = Instant::now();
    match id {
        NodeId::Source(i) => {
            let source = &pipeline.sources[i];
            let bar = progress.start(&format!("load {}", source.name));
            let loaded = load(source)?;
            let run =
                SourceRun { name: source.name.clone(), seconds: started.elapsed().as_secs_f64(), stats: loaded.stats };
            bar.finish(&format!("{} rows, {} rejected", run.stats.rows_accepted, run.stats.rows_rejected));
            Ok(NodeOutput::Source(loaded.table, loaded.rejects, run))
        }
        NodeId::Stage(i) => {
            let node = &pipeline.stages[i];
            let config = &node.config;
            let bar = progress.start(&format!("{} {}", config.kind(), node.id()));
            let inputs: Vec<DataFrame> = config.inputs().iter().map(|name| tables[*name].clone()).collect();
            let rows_in = inputs.iter().take(config.stage().row_inputs()).map(DataFrame::height).sum();
            let stage_error = |e: PolarsError| Error::Stage { stage: node.id().to_string(), message: e.to_string() };
            let mut output = config.stage().run(inputs).map_err(stage_error)?;
            let rows_rejected = match &output.rejects {
                Some(r) => r.column(rejects::ROW_COLUMN).and_then(|c| c.n_unique()).map_err(stage_error)?,
                None => 0,
            };
            let run = StageRun {
                id: node.id().to_string(),
                kind: config.kind(),
                inputs: config.inputs().iter().map(|s| s.to_string()).collect(),
                rows_in,
                rows_out: output.table.height(),
                rows_rejected,
                seconds: started.elapsed().as_secs_f64(),
                report: output.report.take(),
            };
            bar.finish(&format!("{} rows, {} rejected", run.rows_out, run.rows_rejected));
            Ok(NodeOutput::Stage(output, run))
        }
    }
}
