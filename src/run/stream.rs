//! Streams a Parquet source through the batched stages that read it (see
//! [`Batched`](crate::stages::Batched)), a run of row groups at a time: a batch is
//! loaded while the one before it runs through the stages, and each table the stream
//! makes is written to Parquet batch by batch. A table is held whole only where a
//! stage outside the stream reads it, or the workbook takes it. So a transactions
//! file larger than memory goes through load, FX and a count holding a few batches.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use polars::prelude::*;

use super::context::RunContext;
use super::executor::{NodeOutput, SourceRun, conforms, source_findings, stage_error, stage_run};
use super::manifest::OutputInfo;
use super::progress::Progress;
use super::rundir::RunDir;
use crate::config::Format;
use crate::error::{Error, Result, catch_panic};
use crate::load::{self, LoadStats, Loaded};
use crate::plan::{NodeId, Plan};
use crate::rejects;
use crate::stages::{Batched, Role, StageOutput};
use crate::write::ParquetSink;

/// A Parquet source and the batched stages it streams through.
pub struct Stream {
    pub source: usize,
    /// Member stages by index, each after the stage it reads.
    pub stages: Vec<usize>,
    /// Tables its stages look up, made outside the stream before it starts.
    pub lookups: Vec<String>,
}

impl Stream {
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::once(NodeId::Source(self.source)).chain(self.stages.iter().map(|&i| NodeId::Stage(i)))
    }
}

/// The streams of a plan. A stage joins a source's stream when it is batched, its one
/// rows input is a table the stream makes batch by batch, and no table it looks up
/// is made from a Parquet source's rows (which could wait on a stream).
pub fn streams(plan: &Plan) -> Vec<Stream> {
    let order: Vec<usize> =
        plan.levels.iter().flatten().filter_map(|id| if let NodeId::Stage(i) = id { Some(*i) } else { None }).collect();
    let parquet: Vec<usize> =
        (0..plan.pipeline.sources.len()).filter(|&s| plan.pipeline.sources[s].format == Format::Parquet).collect();
    let mut made_from_parquet = HashSet::new();
    for &s in &parquet {
        made_from_parquet.extend(downstream(plan, &order, &plan.pipeline.sources[s].name));
    }
    let mut streams = Vec::new();
    for s in parquet {
        let mut tables = HashSet::from([plan.pipeline.sources[s].name.as_str()]);
        let (mut stages, mut lookups) = (Vec::new(), Vec::new());
        for &i in &order {
            let stage = &plan.stages[i].stage;
            let Some(batched) = stage.batched() else { continue };
            let (rows, looked): (Vec<_>, Vec<_>) = stage.inputs().iter().partition(|i| i.role == Role::Rows);
            let fits = matches!(rows[..], [r] if tables.contains(r.table.as_str()))
                && looked.iter().all(|l| !made_from_parquet.contains(&l.table));
            if fits {
                stages.push(i);
                lookups.extend(looked.iter().map(|l| l.table.clone()));
                if batched.passes_rows() {
                    tables.insert(stage.output());
                }
            }
        }
        if !stages.is_empty() {
            streams.push(Stream { source: s, stages, lookups });
        }
    }
    streams
}

/// Tables made by stages that read `table`, or what those make, and so on.
fn downstream(plan: &Plan, order: &[usize], table: &str) -> HashSet<String> {
    let mut found = HashSet::new();
    for &i in order {
        let stage = &plan.stages[i].stage;
        if stage.inputs().iter().any(|i| i.table == table || found.contains(&i.table)) {
            found.extend(stage.outputs());
        }
    }
    found
}

/// What a stream hands back: an output per member, as the nodes would have, and the
/// outputs it wrote itself.
pub struct Streamed {
    pub nodes: Vec<(NodeId, NodeOutput)>,
    pub written: Vec<OutputInfo>,
}

/// A table the stream makes batch by batch.
struct Made {
    name: String,
    /// Its batches, while something will need it whole.
    kept: Option<Vec<DataFrame>>,
    /// Whether a stage outside the stream reads it (else only the workbook might).
    read_outside: bool,
    rows: usize,
}

/// A member stage's running totals.
#[derive(Default)]
struct Member {
    index: usize,
    rows_in: usize,
    rows_out: usize,
    seconds: f64,
    /// The partial results of the batches so far: merged, and those since.
    merged: Option<DataFrame>,
    pending: Vec<DataFrame>,
    rejects: Vec<DataFrame>,
}

impl Member {
    /// Adds a batch's partial result. Pending ones are merged once they hold as many
    /// rows as the merged one (and a batch's worth at least), so merging costs work in
    /// proportion to the rows, not to rows times batches.
    fn add(&mut self, batched: &dyn Batched, partial: DataFrame) -> PolarsResult<()> {
        self.pending.push(partial);
        let pending: usize = self.pending.iter().map(DataFrame::height).sum();
        if pending >= self.merged.as_ref().map_or(0, DataFrame::height).max(MERGE_ROWS) {
            self.merge(batched)?;
        }
        Ok(())
    }

    fn merge(&mut self, batched: &dyn Batched) -> PolarsResult<DataFrame> {
        let partials: Vec<DataFrame> = self.merged.take().into_iter().chain(self.pending.drain(..)).collect();
        let merged = batched.merge(partials)?;
        self.merged = Some(merged.clone());
        Ok(merged)
    }
}

/// Rows of pending partial results that are worth merging.
const MERGE_ROWS: usize = 1 << 20;

pub fn run(
    plan: &Plan,
    stream: &Stream,
    lookups: &HashMap<String, DataFrame>,
    cx: &RunContext,
    progress: &Progress,
    dir: &RunDir,
    batch_rows: usize,
) -> Result<Streamed> {
    let started = Instant::now();
    let source = &plan.pipeline.sources[stream.source];
    let unreadable = |why: String| Error::input(&source.path, format!("cannot be read: {why}"));
    let batches =
        catch_panic(|| load::batches(source, batch_rows), unreadable)?.expect("a stream starts at a Parquet source");
    let bar = progress.start(&format!("stream {} ({} batches)", source.name, batches.len()));
    let mut members: Vec<Member> = stream.stages.iter().map(|&index| Member { index, ..Default::default() }).collect();
    let mut made: Vec<Made> = std::iter::once(source.name.as_str())
        .chain(
            members
                .iter()
                .map(|m| &plan.stages[m.index].stage)
                .filter_map(|s| s.batched().filter(|b| b.passes_rows()).map(|_| s.output())),
        )
        .map(|name| {
            let read_inside =
                members.iter().flat_map(|m| plan.stages[m.index].stage.inputs()).filter(|i| i.table == name);
            let read_outside = plan.readers.get(name).copied().unwrap_or(0) > read_inside.count();
            let workbook = plan.pipeline.output_names().any(|o| o == name) && plan.pipeline.workbook.takes(name, 0);
            Made { name: name.to_string(), kept: (read_outside || workbook).then(Vec::new), read_outside, rows: 0 }
        })
        .collect();
    let (mut stats, mut source_rejects): (Option<LoadStats>, Vec<DataFrame>) = (None, Vec::new());

    let written = std::thread::scope(|scope| -> Result<Vec<OutputInfo>> {
        // Batches of outputs are written on a thread of their own, beside the stages.
        let (to_write, batches_out) = std::sync::mpsc::sync_channel::<(String, DataFrame)>(2);
        let writer = scope.spawn(move || write(dir, batches_out));
        // The next batch loads while this one runs through the stages.
        let (send, loaded) = std::sync::mpsc::sync_channel::<Result<Loaded>>(1);
        let batches = &batches;
        scope.spawn(move || {
            for i in 0..batches.len() {
                let batch = catch_panic(|| batches.load(i), unreadable);
                let failed = batch.is_err();
                if send.send(batch).is_err() || failed {
                    return;
                }
            }
        });
        'batches: for batch in loaded {
            let batch = batch?;
            match &mut stats {
                Some(s) => s.add(&batch.stats),
                None => stats = Some(batch.stats.clone()),
            }
            source_rejects.push(batch.rejects);
            let mut tables = HashMap::from([(source.name.clone(), batch.table)]);
            for m in &mut members {
                run_batch(plan, m, &mut tables, lookups, cx)?;
            }
            for t in &mut made {
                if let Some(frame) = tables.remove(&t.name) {
                    if plan.pipeline.output_names().any(|o| o == t.name) {
                        let data = frame.drop(rejects::ORIGIN).unwrap_or_else(|_| frame.clone());
                        // A writer that stopped has its error to give at the join.
                        if to_write.send((t.name.clone(), data)).is_err() {
                            break 'batches;
                        }
                    }
                    keep(plan, t, frame);
                }
            }
        }
        drop(to_write);
        let internal = |why: String| Error::Polars {
            context: "internal error while writing a streamed output".to_string(),
            source: polars_err!(ComputeError: "{why}"),
        };
        writer.join().unwrap_or_else(|p| Err(internal(crate::error::panic_message(&*p))))
    })?;

    let mut whole = HashMap::new();
    for t in made {
        let needed = t.read_outside || plan.pipeline.workbook.takes(&t.name, t.rows);
        if let Some(kept) = t.kept.filter(|_| needed) {
            whole.insert(t.name, concatenated(kept).map_err(|e| Error::input(&source.path, e.to_string()))?);
        }
    }

    let stats = stats.expect("a stream has a batch");
    let rows = stats.rows_read;
    let run = SourceRun { name: source.name.clone(), seconds: started.elapsed().as_secs_f64(), stats };
    let source_rejects = concatenated(source_rejects).map_err(|e| Error::input(&source.path, e.to_string()))?;
    let findings = source_findings(source, &run, &source_rejects);
    let table = whole.remove(&source.name);
    let mut nodes = vec![(NodeId::Source(stream.source), NodeOutput::Source(table, source_rejects, run, findings))];
    for m in members {
        let id = NodeId::Stage(m.index);
        nodes.push((id, finish(plan, m, &source.name, &mut whole, cx)?));
    }
    bar.finish(&format!("{rows} rows in {} batches", batches.len()));
    Ok(Streamed { nodes, written })
}

/// Runs a member stage on the batch's table it reads, adding its rows to `tables`.
fn run_batch(
    plan: &Plan,
    m: &mut Member,
    tables: &mut HashMap<String, DataFrame>,
    lookups: &HashMap<String, DataFrame>,
    cx: &RunContext,
) -> Result<()> {
    let started = Instant::now();
    let node = &plan.stages[m.index];
    let stage = &node.stage;
    let batched = stage.batched().expect("members are batched");
    let mut inputs = Vec::new();
    for input in stage.inputs() {
        let table = match input.role {
            Role::Rows => &tables[&input.table],
            Role::Lookup => &lookups[&input.table],
        };
        if input.role == Role::Rows {
            m.rows_in += table.height();
        }
        inputs.push(table.clone());
    }
    let error = |e| stage_error(plan, node, e);
    let internal = |why| error(polars_err!(ComputeError: "internal error: {why}"));
    let batch = catch_panic(|| batched.run_batch(inputs, cx).map_err(error), internal)?;
    if let Some(rows) = batch.rows {
        conforms(&stage.outputs()[..1], &node.schemas[..1], std::slice::from_ref(&rows)).map_err(error)?;
        m.rows_out += rows.height();
        tables.insert(stage.output().to_string(), rows);
    }
    m.rejects.extend(batch.rejects);
    m.add(batched, batch.partial).map_err(error)?;
    m.seconds += started.elapsed().as_secs_f64();
    Ok(())
}

/// A batch of a table the stream makes, kept while something will need it whole.
fn keep(plan: &Plan, t: &mut Made, frame: DataFrame) {
    t.rows += frame.height();
    if !t.read_outside && !plan.pipeline.workbook.takes(&t.name, t.rows) {
        t.kept = None;
    }
    if let Some(kept) = &mut t.kept {
        kept.push(frame);
    }
}

/// Writes the batches of each output it is sent to `<output>.parquet`, in the order
/// they come; the outputs written, once the sender is done.
fn write(dir: &RunDir, batches: std::sync::mpsc::Receiver<(String, DataFrame)>) -> Result<Vec<OutputInfo>> {
    let mut sinks: Vec<(ParquetSink, OutputInfo)> = Vec::new();
    for (name, batch) in batches {
        let started = Instant::now();
        let at = match sinks.iter().position(|(_, info)| info.table == name) {
            Some(at) => at,
            None => {
                let parquet = format!("{name}.parquet");
                let sink = ParquetSink::create(&dir.file(&parquet)?, batch.schema())?;
                let columns = batch.get_column_names().iter().map(|c| c.to_string()).collect();
                sinks.push((sink, OutputInfo { table: name, rows: 0, columns, parquet, seconds: 0.0 }));
                sinks.len() - 1
            }
        };
        let (sink, info) = &mut sinks[at];
        info.rows += batch.height();
        sink.write(batch)?;
        info.seconds += started.elapsed().as_secs_f64();
    }
    sinks
        .into_iter()
        .map(|(sink, mut info)| {
            let started = Instant::now();
            sink.finish()?;
            info.seconds += started.elapsed().as_secs_f64();
            Ok(info)
        })
        .collect()
}

/// A member's output once every batch has run, as its node would have given it.
fn finish(
    plan: &Plan,
    mut m: Member,
    source: &str,
    whole: &mut HashMap<String, DataFrame>,
    cx: &RunContext,
) -> Result<NodeOutput> {
    let started = Instant::now();
    let node = &plan.stages[m.index];
    let stage = &node.stage;
    let batched = stage.batched().expect("members are batched");
    let error = |e| stage_error(plan, node, e);
    let internal = |why| error(polars_err!(ComputeError: "internal error: {why}"));
    let partial = m.merge(batched).map_err(error)?;
    let mut output: StageOutput = catch_panic(|| batched.finish(partial, cx).map_err(error), internal)?;
    let rows = if batched.passes_rows() {
        output.tables = whole.remove(stage.output()).into_iter().collect();
        vec![m.rows_out]
    } else {
        conforms(&stage.outputs(), &node.schemas, &output.tables).map_err(error)?;
        output.tables.iter().map(DataFrame::height).collect()
    };
    if !m.rejects.is_empty() {
        output.rejects = Some(concatenated(m.rejects).map_err(error)?);
    }
    let seconds = m.seconds + started.elapsed().as_secs_f64();
    let mut run = stage_run(plan, node, m.rows_in, &rows, &mut output, seconds)?;
    run.streamed_from = Some(source.to_string());
    Ok(NodeOutput::Stage(output, run))
}

/// Batches as one table, each column in one piece.
fn concatenated(batches: Vec<DataFrame>) -> PolarsResult<DataFrame> {
    let mut batches = batches.into_iter();
    let mut all = batches.next().unwrap_or_default();
    for batch in batches {
        all.vstack_mut_owned(batch)?;
    }
    all.rechunk_mut();
    Ok(all)
}
