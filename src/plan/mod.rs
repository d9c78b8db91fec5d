//! Planning: a pipeline file becomes a plan of compiled stages, checked without
//! reading any data. Every table is produced once and every input exists, there is
//! no cycle, and each stage's output schemas are derived from its inputs' schemas, so
//! a missing column or a type mismatch is found before any data is read.

mod graph;

pub use graph::{NodeId, levels};

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::Schema;
use serde_saphyr::Location;

use crate::config::yaml::Doc;
use crate::config::{Pipeline, load_pipeline};
use crate::diag::Diagnostic;
use crate::stages::{BuildContext, Stage, StageConfig};

/// A pipeline ready to run.
pub struct Plan {
    pub pipeline: Pipeline,
    pub stages: Vec<PlannedStage>,
    /// Groups of nodes (sources first, then stages by index) that can run in parallel.
    pub levels: Vec<Vec<NodeId>>,
    /// How many stages read each table; the executor frees a table read by all of
    /// them that is not an output.
    pub readers: HashMap<String, usize>,
}

pub struct PlannedStage {
    pub stage: Box<dyn Stage>,
    /// Where its entry starts in the pipeline file.
    pub at: Location,
    /// The schema of each output table, as derived at check time; the run holds the
    /// stage to them.
    pub schemas: Vec<Schema>,
}

impl PlannedStage {
    pub fn id(&self) -> &str {
        self.stage.output()
    }
}

/// Reads, compiles and checks a pipeline; every problem found is returned at once.
pub fn plan(path: &Path) -> Result<Plan, Vec<Diagnostic>> {
    build(path, false)
}

/// `tally check`: the plan, with each source's file opened just enough to check that
/// its sheet exists and its header row maps to the schema. No data row is read.
pub fn check(path: &Path) -> Result<Plan, Vec<Diagnostic>> {
    build(path, true)
}

fn build(path: &Path, probe: bool) -> Result<Plan, Vec<Diagnostic>> {
    let (pipeline, mut diags) = load_pipeline(path)?;
    let doc = pipeline.doc();
    if probe {
        for source in pipeline.sources.iter().filter(|s| s.path.is_file()) {
            if let Err(e) = crate::load::probe(source) {
                diags.push(doc.at(&source.config.path.referenced, format!("source '{}': {e}", source.name)));
            }
        }
    }
    let mut stages = Vec::new();
    for node in &pipeline.stages {
        let built = doc
            .parse_node::<StageConfig>(node)
            .map_err(|d| vec![d])
            .and_then(|config| config.build(&BuildContext { doc: &doc, at: node.referenced }));
        match built {
            Ok(stage) => stages.push(PlannedStage { stage, at: node.referenced, schemas: Vec::new() }),
            Err(d) => diags.extend(d),
        }
    }
    diags.extend(shared_effects(&doc, &stages));
    // A stage that failed to build is left out; the tables it would produce are known
    // by name only, so the graph check does not report them again.
    let unbuilt = pipeline.stages.len() - stages.len();
    let levels = match check_graph(&pipeline, &stages, unbuilt > 0 || !pipeline.unresolved.is_empty()) {
        Ok(levels) => levels,
        Err(d) => {
            diags.extend(d);
            return Err(diags);
        }
    };
    diags.extend(derive_schemas(&pipeline, &mut stages, &levels));
    if !diags.is_empty() {
        return Err(diags);
    }
    let mut readers: HashMap<String, usize> = HashMap::new();
    for s in &stages {
        for input in s.stage.inputs() {
            *readers.entry(input.table.clone()).or_default() += 1;
        }
    }
    Ok(Plan { pipeline, stages, levels, readers })
}

/// Two stages writing one file outside the run would overwrite each other's.
fn shared_effects(doc: &Doc, stages: &[PlannedStage]) -> Vec<Diagnostic> {
    let mut writers: HashMap<&Path, &PlannedStage> = HashMap::new();
    let mut diags = Vec::new();
    for stage in stages {
        for path in stage.stage.effect_paths() {
            if let Some(first) = writers.insert(path, stage) {
                let message = format!("stages '{}' and '{}' both write {}", first.id(), stage.id(), path.display());
                diags.push(doc.at(&stage.at, message));
            }
        }
    }
    diags
}

/// Names of the run directory's own files (`rejects.parquet`, `manifest.json`) and
/// sheets, which no table may take.
const RESERVED: [&str; 2] = ["rejects", "manifest"];

/// Every table is produced once, every input exists, outputs exist, no cycles. When
/// `partial`, some producers failed to build and reads of unknown tables are not
/// reported (their cause already is).
fn check_graph(
    pipeline: &Pipeline,
    stages: &[PlannedStage],
    partial: bool,
) -> Result<Vec<Vec<NodeId>>, Vec<Diagnostic>> {
    let doc = pipeline.doc();
    let mut diags = Vec::new();
    let mut producers: HashMap<String, NodeId> = HashMap::new();
    let at = |id: NodeId| match id {
        NodeId::Stage(s) => stages[s].at,
        NodeId::Source(s) => pipeline.sources[s].config.path.referenced,
    };
    let sources = pipeline.sources.iter().map(|s| vec![s.name.clone()]);
    let produced = sources.chain(stages.iter().map(|s| s.stage.outputs()));
    for (i, names) in produced.enumerate() {
        let id = NodeId::new(i, pipeline.sources.len());
        for name in names {
            if producers.insert(name.clone(), id).is_some() {
                diags.push(doc.at(&at(id), format!("table '{name}' is produced twice")));
            }
        }
    }
    for (name, id) in &producers {
        if let Some(own) = RESERVED.iter().find(|r| r.eq_ignore_ascii_case(name)) {
            diags.push(doc.at(
                &at(*id),
                format!("table name '{name}' is reserved: the run directory has a {own} file and sheet of its own"),
            ));
        }
    }
    let known: Vec<&str> = producers.keys().map(String::as_str).collect();
    let mut edges = Vec::new();
    for (s, stage) in stages.iter().enumerate() {
        for input in stage.stage.inputs() {
            match producers.get(&input.table) {
                Some(&from) => edges.push((from, NodeId::Stage(s))),
                None if partial => {}
                None => diags.push(
                    doc.at(
                        &stage.at,
                        format!("stage '{}' reads table '{}', which nothing produces", stage.id(), input.table),
                    )
                    .suggest(&input.table, known.iter().copied()),
                ),
            }
        }
    }
    // Excel's sheet names ignore case, and each output is a sheet.
    let mut sheets: HashMap<String, &str> = HashMap::new();
    for out in &pipeline.outputs {
        if let Some(other) = sheets.insert(out.value.to_lowercase(), &out.value) {
            let message = if *other == out.value {
                format!("output '{other}' is listed twice")
            } else {
                format!("outputs '{other}' and '{}' differ only in case, as Excel's sheet names would not", out.value)
            };
            diags.push(doc.at(&out.referenced, message));
        }
    }
    for out in &pipeline.outputs {
        if !producers.contains_key(&out.value) && !partial {
            diags.push(
                doc.at(&out.referenced, format!("output '{}' is not a table of this pipeline", out.value))
                    .suggest(&out.value, known.iter().copied()),
            );
        }
    }
    // Edges into stages whose inputs are unknown are missing; such a stage simply
    // has no schema to check against.
    let node_count = pipeline.sources.len() + stages.len();
    match levels(node_count, pipeline.sources.len(), &edges) {
        Ok(levels) if diags.is_empty() => Ok(levels),
        Ok(_) => Err(diags),
        Err(cycle) => {
            let path: Vec<&str> = cycle.iter().map(|id| stages[id.stage_index()].id()).collect();
            let at = stages[cycle[0].stage_index()].at;
            diags.push(doc.at(&at, format!("stages form a cycle: {} -> {}", path.join(" -> "), path[0])));
            Err(diags)
        }
    }
}

/// Derives every stage's output schemas in graph order, recording them on the stage.
fn derive_schemas(pipeline: &Pipeline, stages: &mut [PlannedStage], levels: &[Vec<NodeId>]) -> Vec<Diagnostic> {
    let doc = pipeline.doc();
    let mut tables: HashMap<String, Schema> =
        pipeline.sources.iter().map(|s| (s.name.clone(), s.frame_schema())).collect();
    let mut diags = Vec::new();
    for id in levels.iter().flatten() {
        let NodeId::Stage(i) = *id else { continue };
        let stage = &mut stages[i];
        let Some(inputs) =
            stage.stage.inputs().iter().map(|i| tables.get(&i.table).cloned()).collect::<Option<Vec<_>>>()
        else {
            continue; // an upstream node failed its check and was reported
        };
        match stage.stage.schemas(&inputs) {
            Ok(schemas) => {
                tables.extend(stage.stage.outputs().into_iter().zip(schemas.iter().cloned()));
                stage.schemas = schemas;
            }
            Err(problems) => diags.extend(problems.into_iter().map(|p| {
                let d = doc.at(&p.at.unwrap_or(stage.at), format!("stage '{}': {}", stage.id(), p.message));
                match p.help {
                    Some(h) => d.with_help(h),
                    None => d,
                }
            })),
        }
    }
    diags
}
