//! Executes a plan: a node starts as soon as the tables it reads exist, beside any
//! other that can run, so a short chain never waits behind a long one; tables flow
//! between stages by name, and every node's rows and time are recorded. An output is
//! written to Parquet as soon as it exists, beside the nodes still running. A table is
//! freed once the last stage reading it has run and it is written, unless the workbook
//! takes it. After an error finding no node starts; those running finish.

use std::collections::HashMap;
use std::time::Instant;

use polars::prelude::*;
use serde::Serialize;

use super::context::RunContext;
use super::manifest::OutputInfo;
use super::progress::Progress;
use super::rundir::RunDir;
use super::stream::{self, Stream, Streamed};
use crate::config::Source;
use crate::error::{Error, PolarsContext, Result, catch_panic};
use crate::load::{LoadStats, load};
use crate::plan::{NodeId, Plan, PlannedStage};
use crate::rejects;
use crate::stages::{Effect, Finding, Role, Severity, StageOutput};
use crate::write::write_parquet;

/// Everything a run produced, its outputs written.
pub struct Outcome {
    /// The outputs the workbook takes (all of them, unless the run was stopped).
    pub tables: HashMap<String, DataFrame>,
    /// Every output written, in the pipeline's order.
    pub outputs: Vec<OutputInfo>,
    pub rejects: DataFrame,
    /// Extra workbook sheets stages asked for (e.g. `<output>_cleaning`).
    pub sheets: Vec<(String, DataFrame)>,
    /// Files stages asked to put in the run directory (e.g. a trained dedup model).
    pub files: Vec<(String, Vec<u8>)>,
    pub effects: Vec<Effect>,
    pub findings: Vec<Finding>,
    pub loads: Vec<SourceRun>,
    pub stages: Vec<StageRun>,
}

impl Outcome {
    /// Whether an error finding stopped the run.
    pub fn stopped(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
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
    /// Rows of every table the stage produced, main output first.
    pub tables: Vec<TableRows>,
    pub seconds: f64,
    /// The source it streamed from, batch by batch: its seconds are then its share of
    /// that source's, which they overlap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streamed_from: Option<String>,
    /// What the stage reports about its work (e.g. the clean stage's summary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableRows {
    pub table: String,
    pub rows: usize,
}

/// What a node gives: a source's table (none when it streamed and nothing needs it
/// whole), rejects, run and findings; or a stage's output and run.
pub enum NodeOutput {
    Source(Option<DataFrame>, DataFrame, SourceRun, Vec<Finding>),
    Stage(StageOutput, StageRun),
}

/// What a thread of the run reports when it ends.
enum Done {
    Node(NodeId, Box<Result<NodeOutput>>),
    Stream(Box<Result<Streamed>>),
    Written(Result<OutputInfo>),
}

/// What the run starts: a node, or a stream of nodes (a Parquet source and the
/// batched stages it streams through).
#[derive(Clone, Copy)]
enum Task {
    Node(NodeId),
    Stream(usize),
}

/// Runs a plan. With `batch_rows`, each Parquet source that batched stages read
/// streams through them that many rows at a time (see `stream`); with 0, every table
/// is held whole.
pub fn execute(plan: &Plan, cx: &RunContext, progress: &Progress, dir: &RunDir, batch_rows: usize) -> Result<Outcome> {
    let mut outcome = Outcome {
        tables: HashMap::new(),
        outputs: Vec::new(),
        rejects: rejects::empty(),
        sheets: Vec::new(),
        files: Vec::new(),
        effects: Vec::new(),
        findings: Vec::new(),
        loads: Vec::new(),
        stages: Vec::new(),
    };
    let mut readers = plan.readers.clone();
    let is_output = |name: &str| plan.pipeline.output_names().any(|o| o == name);
    let in_workbook =
        |name: &str, table: &DataFrame| is_output(name) && plan.pipeline.workbook.takes(name, table.height());
    // The plan's levels, flattened, are an order in which every node follows its inputs.
    let order: Vec<NodeId> = plan.levels.iter().flatten().copied().collect();
    let streams = if batch_rows > 0 { stream::streams(plan) } else { Vec::new() };
    let streamed: Vec<NodeId> = streams.iter().flat_map(Stream::nodes).collect();
    let mut waiting: Vec<Task> = (0..streams.len())
        .map(Task::Stream)
        .chain(order.iter().filter(|id| !streamed.contains(id)).map(|id| Task::Node(*id)))
        .collect();
    let needs = |task: &Task| -> Vec<&str> {
        match task {
            Task::Node(id) => inputs_of(plan, *id),
            Task::Stream(k) => streams[*k].lookups.iter().map(String::as_str).collect(),
        }
    };
    let mut in_order = InOrder::default();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::scope(|scope| -> Result<()> {
        let mut running = 0;
        loop {
            // Every node whose input tables exist starts now, on a thread of its own,
            // with its inputs (shared, not copied); none starts after an error finding.
            if outcome.stopped() {
                waiting.clear();
            }
            let ready = |task: &&Task| needs(task).iter().all(|t| outcome.tables.contains_key(*t));
            let (start, rest): (Vec<Task>, Vec<Task>) = waiting.iter().partition(ready);
            waiting = rest;
            for task in start {
                // A table no other node will read, and the workbook does not take, is
                // handed over rather than shared, so the node can free it as it goes.
                let mut input = |t: &str| {
                    let table = &outcome.tables[t];
                    let last = readers.get(t) == Some(&1) && !in_workbook(t, table);
                    let table = if last { outcome.tables.remove(t) } else { Some(table.clone()) };
                    (t.to_string(), table.expect("a ready node's inputs exist"))
                };
                let inputs: HashMap<String, DataFrame> = needs(&task).into_iter().map(&mut input).collect();
                let done = done.clone();
                let streams = &streams;
                running += 1;
                // The receiver outlives every thread: the loop waits for all that run.
                scope.spawn(move || {
                    let _ = done.send(match task {
                        Task::Node(id) => {
                            let inputs = inputs_of(plan, id).iter().map(|t| inputs[*t].clone()).collect();
                            Done::Node(id, Box::new(run_node(plan, id, inputs, cx, progress)))
                        }
                        Task::Stream(k) => {
                            let run = || stream::run(plan, &streams[k], &inputs, cx, progress, dir, batch_rows);
                            let internal = |why| Error::Polars {
                                context: "internal error while streaming".to_string(),
                                source: polars_err!(ComputeError: "{why}"),
                            };
                            Done::Stream(Box::new(catch_panic(run, internal)))
                        }
                    });
                });
            }
            if running == 0 {
                if !waiting.is_empty() && !outcome.stopped() {
                    let context = "internal error: nodes wait on each other".to_string();
                    return Err(Error::Polars {
                        context,
                        source: polars_err!(ComputeError: "{} waiting", waiting.len()),
                    });
                }
                return Ok(());
            }
            let nodes = match finished.recv().expect("a running thread reports") {
                Done::Node(id, result) => result.map(|output| (vec![(id, output)], Vec::new())),
                Done::Stream(result) => result.map(|s| (s.nodes, s.written)),
                Done::Written(result) => result.map(|info| {
                    outcome.outputs.push(info);
                    (Vec::new(), Vec::new())
                }),
            };
            let result = nodes.map(|(nodes, written)| {
                let streamed: Vec<String> = written.iter().map(|w| w.table.clone()).collect();
                outcome.outputs.extend(written);
                for (id, output) in nodes {
                    let place = order.iter().position(|n| *n == id).expect("every node is in the order");
                    let new = take(&mut outcome, &mut in_order, &mut readers, place, output);
                    // A stopped run writes the outputs it got to.
                    for (name, table) in new.into_iter().filter(|(n, _)| is_output(n) && !streamed.contains(n)) {
                        let done = done.clone();
                        running += 1;
                        scope.spawn(move || {
                            let _ = done.send(Done::Written(write_output(&name, table, dir)));
                        });
                    }
                }
            });
            running -= 1;
            if let Err(e) = result {
                // The threads still running finish before the error is reported.
                for _ in 0..running {
                    let _ = finished.recv();
                }
                return Err(e);
            }
            // Free what no later stage reads and the workbook does not take.
            let kept = |name: &String, table: &mut DataFrame| {
                readers.get(name).is_some_and(|&n| n > 0) || in_workbook(name, table)
            };
            outcome.tables.retain(kept);
        }
    })?;
    let position = |table: &str| plan.pipeline.output_names().position(|o| o == table);
    outcome.outputs.sort_by_key(|o| position(&o.table));
    // What is left is for the workbook, which shows the data, not the origin.
    for table in outcome.tables.values_mut() {
        let _ = table.drop_in_place(rejects::ORIGIN);
    }
    in_order.merge_into(&mut outcome)?;
    let files = plan.pipeline.sources.iter().map(|s| (s.name.as_str(), s.path.display().to_string()));
    outcome.rejects = rejects::with_files(std::mem::take(&mut outcome.rejects), files)
        .context(|| "naming the files of stage rejects".to_string())?;
    outcome.rejects.rechunk_mut();
    // Levels finish in any order; report in the order the pipeline declares.
    let position = |id: &str| plan.stages.iter().position(|s| s.id() == id);
    outcome.stages.sort_by_key(|s| position(&s.id));
    outcome.loads.sort_by_key(|l| plan.pipeline.sources.iter().position(|s| s.name == l.name));
    Ok(outcome)
}

/// The tables a node reads.
pub(super) fn inputs_of(plan: &Plan, id: NodeId) -> Vec<&str> {
    match id {
        NodeId::Source(_) => Vec::new(),
        NodeId::Stage(i) => plan.stages[i].stage.inputs().iter().map(|i| i.table.as_str()).collect(),
    }
}

/// What nodes add to the outcome besides tables, each with its node's place in the
/// plan's order: merged in that order at the end, so a run writes the same rejects,
/// sheets and findings whatever order its nodes finish in.
#[derive(Default)]
struct InOrder {
    rejects: Vec<(usize, DataFrame)>,
    sheets: Vec<(usize, (String, DataFrame))>,
    files: Vec<(usize, (String, Vec<u8>))>,
    effects: Vec<(usize, Effect)>,
    /// The place of each of `outcome.findings`, which the run reads as they come.
    findings: Vec<usize>,
}

impl InOrder {
    fn merge_into(self, outcome: &mut Outcome) -> Result<()> {
        fn sorted<T>(mut items: Vec<(usize, T)>) -> impl Iterator<Item = T> {
            items.sort_by_key(|(place, _)| *place);
            items.into_iter().map(|(_, item)| item)
        }
        for r in sorted(self.rejects) {
            outcome.rejects.vstack_mut(&r).context(|| "collecting rejects".to_string())?;
        }
        outcome.sheets.extend(sorted(self.sheets));
        outcome.files.extend(sorted(self.files));
        outcome.effects.extend(sorted(self.effects));
        let findings = std::mem::take(&mut outcome.findings);
        outcome.findings.extend(sorted(self.findings.into_iter().zip(findings).collect()));
        Ok(())
    }
}

/// Files a node's output: its tables into the outcome at once (later nodes read them),
/// its findings too (an error stops the run), the rest in order; a stage's inputs each
/// lose a reader. Returns the new tables, shared.
fn take(
    outcome: &mut Outcome,
    in_order: &mut InOrder,
    readers: &mut HashMap<String, usize>,
    place: usize,
    output: NodeOutput,
) -> Vec<(String, DataFrame)> {
    let mut new = Vec::new();
    let (findings, rejected) = match output {
        NodeOutput::Source(table, rejected, run, gate) => {
            if let Some(table) = table {
                new.push((run.name.clone(), table.clone()));
                outcome.tables.insert(run.name.clone(), table);
            }
            outcome.loads.push(run);
            (gate, Some(rejected))
        }
        NodeOutput::Stage(output, run) => {
            in_order.sheets.extend(output.sheets.into_iter().map(|s| (place, s)));
            in_order.files.extend(output.files.into_iter().map(|f| (place, f)));
            in_order.effects.extend(output.effects.into_iter().map(|e| (place, e)));
            for (t, table) in run.tables.iter().zip(output.tables) {
                new.push((t.table.clone(), table.clone()));
                outcome.tables.insert(t.table.clone(), table);
            }
            for input in &run.inputs {
                *readers.get_mut(input).expect("every input is counted") -= 1;
            }
            let findings = output.findings.into_iter().map(|f| Finding { origin: run.id.clone(), ..f }).collect();
            outcome.stages.push(run);
            (findings, output.rejects)
        }
    };
    in_order.findings.extend(std::iter::repeat_n(place, findings.len()));
    outcome.findings.extend(findings);
    in_order.rejects.extend(rejected.map(|r| (place, r)));
    new
}

/// Writes output `name` as `<name>.parquet` in the run directory, without the origin
/// (it is for rejects; outputs hold the data).
fn write_output(name: &str, mut table: DataFrame, dir: &RunDir) -> Result<OutputInfo> {
    let started = Instant::now();
    let _ = table.drop_in_place(rejects::ORIGIN);
    let file = format!("{name}.parquet");
    write_parquet(&mut table, &dir.file(&file)?)?;
    let columns = table.get_column_names().iter().map(|c| c.to_string()).collect();
    let seconds = started.elapsed().as_secs_f64();
    Ok(OutputInfo { table: name.to_string(), rows: table.height(), columns, parquet: file, seconds })
}

pub(super) fn run_node(
    plan: &Plan,
    id: NodeId,
    inputs: Vec<DataFrame>,
    cx: &RunContext,
    progress: &Progress,
) -> Result<NodeOutput> {
    let started = Instant::now();
    match id {
        NodeId::Source(i) => {
            let source = &plan.pipeline.sources[i];
            let bar = progress.start(&format!("load {}", source.name));
            let unreadable = |why: String| Error::input(&source.path, format!("cannot be read: {why}"));
            let mut loaded = catch_panic(|| load(source), unreadable)?;
            contiguous(std::slice::from_mut(&mut loaded.table));
            let run =
                SourceRun { name: source.name.clone(), seconds: started.elapsed().as_secs_f64(), stats: loaded.stats };
            bar.finish(&format!("{} rows, {} rejected", run.stats.rows_accepted, run.stats.rows_rejected));
            let findings = source_findings(source, &run, &loaded.rejects);
            Ok(NodeOutput::Source(Some(loaded.table), loaded.rejects, run, findings))
        }
        NodeId::Stage(i) => run_stage(plan, &plan.stages[i], inputs, cx, progress, started),
    }
}

fn run_stage(
    plan: &Plan,
    node: &PlannedStage,
    inputs: Vec<DataFrame>,
    cx: &RunContext,
    progress: &Progress,
    started: Instant,
) -> Result<NodeOutput> {
    let stage = &node.stage;
    let bar = progress.start(&format!("{} {}", stage.kind(), node.id()));
    let rows_in = stage.inputs().iter().zip(&inputs).filter(|(i, _)| i.role == Role::Rows).map(|(_, t)| t.height());
    let rows_in = rows_in.sum();
    let error = |e| stage_error(plan, node, e);
    let run = || stage.run(inputs, cx).map_err(error);
    let mut output = catch_panic(run, |why| error(polars_err!(ComputeError: "internal error: {why}")))?;
    conforms(&stage.outputs(), &node.schemas, &output.tables).map_err(error)?;
    contiguous(&mut output.tables);
    let rows: Vec<usize> = output.tables.iter().map(DataFrame::height).collect();
    let run = stage_run(plan, node, rows_in, &rows, &mut output, started.elapsed().as_secs_f64())?;
    bar.finish(&format!("{} rows, {} rejected", run.rows_out, run.rows_rejected));
    Ok(NodeOutput::Stage(output, run))
}

/// Each column of each table in one piece, once, where it is made: a join rechunks a
/// table whose columns are in pieces, so every stage that joined it would copy it again.
fn contiguous(tables: &mut [DataFrame]) {
    tables.iter_mut().for_each(|t| {
        t.rechunk_mut_par();
    });
}

/// A stage's failure, at its place in the pipeline file.
pub fn stage_error(plan: &Plan, node: &PlannedStage, source: PolarsError) -> Error {
    Error::Stage { stage: node.id().to_string(), at: plan.pipeline.doc().at(&node.at, "").location(), source }
}

/// The record of a stage's run, its report taken from its output; `rows` of each table
/// it produced.
pub fn stage_run(
    plan: &Plan,
    node: &PlannedStage,
    rows_in: usize,
    rows: &[usize],
    output: &mut StageOutput,
    seconds: f64,
) -> Result<StageRun> {
    let stage = &node.stage;
    let rows_rejected = match &output.rejects {
        Some(r) => rejects::rows(r).map_err(|e| stage_error(plan, node, e))?,
        None => 0,
    };
    Ok(StageRun {
        id: node.id().to_string(),
        kind: stage.kind(),
        inputs: stage.inputs().iter().map(|i| i.table.clone()).collect(),
        rows_in,
        rows_out: rows[0],
        rows_rejected,
        tables: stage.outputs().into_iter().zip(rows).map(|(table, &rows)| TableRows { table, rows }).collect(),
        seconds,
        streamed_from: None,
        report: output.report.take(),
    })
}

/// A source's gate and warning findings.
pub fn source_findings(source: &Source, run: &SourceRun, rejects: &DataFrame) -> Vec<Finding> {
    let mut findings: Vec<Finding> =
        reject_gate(source.config.max_reject_rate.as_ref().map(|r| r.value), run).into_iter().collect();
    findings.extend(mostly_rejected(run, rejects));
    findings
}

/// A stage must produce the tables it declared, with the schemas `check` derived:
/// later stages were checked against them.
pub fn conforms(names: &[String], declared: &[Schema], tables: &[DataFrame]) -> PolarsResult<()> {
    if tables.len() != names.len() {
        polars_bail!(ComputeError: "produced {} tables, declared {}", tables.len(), names.len());
    }
    for ((name, schema), table) in names.iter().zip(declared).zip(tables) {
        let got = table.schema();
        if got.as_ref() != schema {
            let show = |s: &Schema| s.iter().map(|(n, t)| format!("{n}: {t}")).collect::<Vec<_>>().join(", ");
            polars_bail!(SchemaMismatch: "table '{name}' has columns [{}], declared [{}]", show(got), show(schema));
        }
    }
    Ok(())
}

/// Above this share of rows rejected, a source is reported even without a gate: an
/// export whose rows are nearly all refused (a CRM's English categories against a
/// Chinese `allowed:` list) is a broken mapping, not dirty data.
const MOSTLY_REJECTED: f64 = 0.5;

/// A warning finding when most of a source's rows were rejected, naming the main reason.
fn mostly_rejected(run: &SourceRun, rejects: &DataFrame) -> Option<Finding> {
    let (read, rejected) = (run.stats.rows_read, run.stats.rows_rejected);
    if read == 0 || (rejected as f64) <= MOSTLY_REJECTED * read as f64 {
        return None;
    }
    let counts = rejects
        .clone()
        .lazy()
        .group_by([col("reason")])
        .agg([len().alias("n")])
        .sort(["n", "reason"], SortMultipleOptions::default().with_order_descending_multi([true, false]))
        .first()
        .collect()
        .ok()?;
    let top = counts.column("reason").ok()?.str().ok()?.get(0)?.to_string();
    let n = counts.column("n").ok()?.idx().ok()?.get(0)?;
    let top = top.as_str();
    let hint = match top {
        "not_allowed" => {
            "; if the source writes other words for the allowed values, map them with the column's `values:`"
        }
        _ => "",
    };
    let message = format!(
        "{rejected} of {read} rows rejected ({:.0}%), most for {top} ({n}){hint}; set max_reject_rate to stop such runs",
        rejected as f64 / read as f64 * 100.0
    );
    Some(Finding { origin: run.name.clone(), ..Finding::new(Severity::Warn, "mostly_rejected", message) })
}

/// The `max_reject_rate` gate of a source: an error finding when more rows were rejected.
fn reject_gate(max: Option<f64>, run: &SourceRun) -> Option<Finding> {
    let (read, rejected) = (run.stats.rows_read, run.stats.rows_rejected);
    let rate = if read == 0 { 0.0 } else { rejected as f64 / read as f64 };
    let max = max.filter(|&m| rate > m)?;
    let message =
        format!("{rejected} of {read} rows rejected ({:.1}%), above max_reject_rate {:.1}%", rate * 100.0, max * 100.0);
    Some(Finding { origin: run.name.clone(), ..Finding::new(Severity::Error, "max_reject_rate", message) })
}
