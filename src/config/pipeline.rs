//! Pipeline files (`pipelines/*.yaml`): sources, stages and outputs, checked in phases
//! (parse, resolve, graph, schema) that each report every problem they find.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use indexmap::IndexMap;
use polars::prelude::{DataFrame, IntoLazy, LazyFrame, PolarsResult, Schema as FrameSchema};
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::schema::{Schema, load_schema};
use super::source::{Format, SourceConfig};
use super::yaml::{Doc, Node};
use crate::diag::Diagnostic;
use crate::plan;
use crate::stages::StageConfig;

/// A pipeline that passed every check: all files exist, every input is produced by
/// exactly one node, there is no cycle, and every stage's columns exist upstream.
#[derive(Debug)]
pub struct Pipeline {
    pub path: PathBuf,
    pub text: String,
    pub name: String,
    pub as_of: Option<NaiveDate>,
    pub sources: Vec<Source>,
    pub stages: Vec<StageNode>,
    pub outputs: Vec<String>,
    /// Groups of nodes (sources first, then stages by index) that can run in parallel.
    pub levels: Vec<Vec<plan::NodeId>>,
}

#[derive(Debug)]
pub struct Source {
    pub name: String,
    pub config: SourceConfig,
    /// `config.path` resolved against the pipeline file's folder.
    pub path: PathBuf,
    pub format: Format,
    pub schema: Schema,
}

impl Source {
    /// The columns a loaded source has: its schema's, plus `source_system` when tagged.
    pub fn frame_schema(&self) -> FrameSchema {
        let mut schema = self.schema.polars_schema();
        if self.config.system.is_some() {
            schema.insert("source_system".into(), polars::prelude::DataType::String);
        }
        schema
    }
}

#[derive(Debug)]
pub struct StageNode {
    pub config: StageConfig,
    pub at: Location,
}

impl StageNode {
    pub fn id(&self) -> &str {
        self.config.output()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineDoc {
    name: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    as_of: Option<Spanned<String>>,
    sources: IndexMap<String, Node>,
    #[serde(default)]
    stages: Vec<Node>,
    outputs: Vec<Spanned<String>>,
}

/// Reads a pipeline file and everything it names, and checks it without reading data.
pub fn load_pipeline(path: &Path) -> Result<Pipeline, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![Diagnostic::new(path, 0, 0, format!("cannot read pipeline file: {e}"))])?;
    let doc = Doc::new(path, &text);
    let top: PipelineDoc = doc.parse().map_err(|d| vec![d])?;
    let mut diags = Vec::new();

    let base = path.parent().unwrap_or(Path::new("."));
    let mut sources = Vec::new();
    for (name, node) in &top.sources {
        match doc.parse_node::<SourceConfig>(node) {
            Ok(config) => match resolve_source(&doc, base, name, config) {
                Ok(source) => sources.push(source),
                Err(mut d) => diags.append(&mut d),
            },
            Err(d) => diags.push(d),
        }
    }
    let mut stages = Vec::new();
    for node in &top.stages {
        match doc.parse_node::<StageConfig>(node) {
            Ok(mut config) => {
                config.resolve_paths(base);
                diags.extend(config.validate(&doc, &node.referenced));
                stages.push(StageNode { config, at: node.referenced });
            }
            Err(d) => diags.push(d),
        }
    }
    let as_of = top.as_of.as_ref().and_then(|s| match NaiveDate::parse_from_str(&s.value, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            diags.push(doc.at(&s.referenced, format!("as_of '{}' is not a date like 2024-12-31", s.value)));
            None
        }
    });
    if !diags.is_empty() {
        // The graph and schema checks would only repeat these problems in other words.
        return Err(diags);
    }

    let levels = check_graph(&doc, &sources, &stages, &top.outputs)?;
    check_schemas(&doc, &sources, &stages, &levels)?;
    Ok(Pipeline {
        path: path.to_path_buf(),
        name: top.name.value.clone(),
        as_of,
        outputs: top.outputs.iter().map(|o| o.value.clone()).collect(),
        text,
        sources,
        stages,
        levels,
    })
}

fn resolve_source(doc: &Doc, base: &Path, name: &str, config: SourceConfig) -> Result<Source, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let path = clean_path(&base.join(&config.path.value));
    if !path.is_file() {
        diags.push(doc.at(&config.path.referenced, format!("source '{name}': file not found: {}", path.display())));
    }
    let format = config.format.or_else(|| Format::from_extension(&path));
    if format.is_none() {
        diags.push(
            doc.at(&config.path.referenced, format!("source '{name}': cannot tell the format of {}", path.display()))
                .with_help("add `format: csv`, `format: xlsx` or `format: parquet`"),
        );
    }
    let schema_path = clean_path(&base.join(&config.schema.value));
    let schema = if schema_path.is_file() {
        load_schema(&schema_path).map_err(|mut d| diags.append(&mut d)).ok()
    } else {
        diags.push(doc.at(
            &config.schema.referenced,
            format!("source '{name}': schema file not found: {}", schema_path.display()),
        ));
        None
    };
    match (format, schema) {
        (Some(format), Some(schema)) if diags.is_empty() => {
            Ok(Source { name: name.to_string(), config, path, format, schema })
        }
        _ => Err(diags),
    }
}

/// Removes `.` and `dir/..` from a path without touching the file system, so that
/// paths in messages and the manifest read as the user would write them.
fn clean_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Every table is produced once, every input exists, outputs exist, no cycles.
fn check_graph(
    doc: &Doc,
    sources: &[Source],
    stages: &[StageNode],
    outputs: &[Spanned<String>],
) -> Result<Vec<Vec<plan::NodeId>>, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut producers: HashMap<&str, plan::NodeId> = HashMap::new();
    let side_outputs: Vec<Vec<String>> = stages.iter().map(|s| s.config.stage().side_outputs()).collect();
    let names = sources.iter().map(|s| vec![s.name.as_str()]).chain(
        stages
            .iter()
            .zip(&side_outputs)
            .map(|(s, side)| std::iter::once(s.id()).chain(side.iter().map(String::as_str)).collect::<Vec<_>>()),
    );
    for (i, produced) in names.enumerate() {
        let id = plan::NodeId::new(i, sources.len());
        for name in produced {
            if producers.insert(name, id).is_none() {
                continue;
            }
            let at = match id {
                plan::NodeId::Stage(s) => stages[s].at,
                plan::NodeId::Source(_) => Location::UNKNOWN,
            };
            diags.push(doc.at(&at, format!("table '{name}' is produced twice")));
        }
    }
    let known: Vec<&str> = producers.keys().copied().collect();
    let mut edges = Vec::new();
    for (s, stage) in stages.iter().enumerate() {
        for input in stage.config.inputs() {
            match producers.get(input) {
                Some(&from) => edges.push((from, plan::NodeId::Stage(s))),
                None => diags.push(
                    doc.at(&stage.at, format!("stage '{}' reads table '{input}', which nothing produces", stage.id()))
                        .suggest(input, known.iter().copied()),
                ),
            }
        }
    }
    for out in outputs {
        if !producers.contains_key(out.value.as_str()) {
            diags.push(
                doc.at(&out.referenced, format!("output '{}' is not a table of this pipeline", out.value))
                    .suggest(&out.value, known.iter().copied()),
            );
        }
    }
    let node_count = sources.len() + stages.len();
    match plan::levels(node_count, sources.len(), &edges) {
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

/// Runs every stage's plan on empty frames of the declared schemas, so a missing
/// column or a type mismatch is found before any data is read.
fn check_schemas(
    doc: &Doc,
    sources: &[Source],
    stages: &[StageNode],
    levels: &[Vec<plan::NodeId>],
) -> Result<(), Vec<Diagnostic>> {
    let mut tables: HashMap<String, FrameSchema> = sources.iter().map(|s| (s.name.clone(), s.frame_schema())).collect();
    let mut diags = Vec::new();
    for id in levels.iter().flatten() {
        let plan::NodeId::Stage(i) = *id else { continue };
        let stage = &stages[i];
        let Some(inputs) = stage
            .config
            .inputs()
            .into_iter()
            .map(|name| tables.get(name).map(|s| DataFrame::empty_with_schema(s).lazy()))
            .collect::<Option<Vec<LazyFrame>>>()
        else {
            continue; // an upstream stage failed its check and was reported
        };
        let input_columns: Vec<String> = stage
            .config
            .inputs()
            .iter()
            .filter_map(|n| tables.get(*n))
            .flat_map(|s| s.iter_names().map(|c| c.to_string()))
            .collect();
        match produced_schemas(stage, inputs) {
            Ok(produced) => tables.extend(produced),
            Err(e) => diags.push(schema_diagnostic(doc, stage, &e, &input_columns)),
        }
    }
    if diags.is_empty() { Ok(()) } else { Err(diags) }
}

/// The schemas of the tables a stage produces, from its plan, or for a stage with side
/// outputs from running it on the empty frames. `__…` working columns are left out.
fn produced_schemas(stage: &StageNode, inputs: Vec<LazyFrame>) -> PolarsResult<Vec<(String, FrameSchema)>> {
    let visible = |schema: &FrameSchema| -> FrameSchema {
        schema.iter().filter(|(n, _)| !n.starts_with("__")).map(|(n, t)| (n.clone(), t.clone())).collect()
    };
    let stage = stage.config.stage();
    if stage.side_outputs().is_empty() {
        let schema = stage.plan(inputs)?.collect_schema()?;
        return Ok(vec![(stage.output().to_string(), visible(&schema))]);
    }
    let frames = inputs.into_iter().map(LazyFrame::collect).collect::<PolarsResult<Vec<_>>>()?;
    let out = stage.run(frames)?;
    Ok(std::iter::once((stage.output().to_string(), out.table))
        .chain(out.side_tables)
        .map(|(name, table)| (name, visible(table.schema())))
        .collect())
}

fn schema_diagnostic(doc: &Doc, stage: &StageNode, err: &polars::error::PolarsError, columns: &[String]) -> Diagnostic {
    let text = err.to_string();
    let first = text.lines().next().unwrap_or_default();
    let diag = doc.at(&stage.at, format!("stage '{}': {first}", stage.id()));
    match missing_column_name(&text) {
        Some(name) => diag.suggest(name, columns.iter().map(String::as_str)),
        None => diag,
    }
}

/// Polars names an unknown column as `unable to find column "x"` or `not found: x`.
fn missing_column_name(message: &str) -> Option<&str> {
    if let Some(rest) = message.split("unable to find column \"").nth(1) {
        return rest.split('"').next();
    }
    let rest = message.split("not found: ").nth(1)?;
    rest.split(|c: char| c.is_whitespace() || c == '"').find(|s| !s.is_empty())
}
