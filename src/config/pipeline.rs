//! Pipeline files (`pipelines/*.yaml`): name, sources, stage entries and outputs,
//! parsed and resolved with every problem reported at once. The stages are compiled
//! and the graph checked by [`crate::plan`]; this module knows no stage.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::schema::{Schema, load_schema};
use super::source::{Format, SourceConfig};
use super::yaml::{Doc, Node};
use crate::diag::{Diagnostic, IDENTIFIER_HELP, did_you_mean, is_identifier};

/// A pipeline file whose top level, sources and schemas are valid. Its stage entries
/// are kept as nodes for the planner to compile.
#[derive(Debug)]
pub struct Pipeline {
    pub path: PathBuf,
    pub text: String,
    pub name: String,
    pub as_of: Option<NaiveDate>,
    /// The sources whose format and schema are known (their file may be missing).
    pub sources: Vec<Source>,
    /// Sources declared but not resolved; their problems are reported already.
    pub unresolved: Vec<String>,
    pub stages: Vec<Node>,
    pub outputs: Vec<Spanned<String>>,
    pub workbook: WorkbookConfig,
}

/// What goes into the run's workbook. Every output goes to Parquet; the workbook holds
/// the tables people read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkbookConfig {
    /// Outputs (or `rejects`) to write as sheets, in this order; default: every output,
    /// then the rejects. The stages' summary sheets (a clean's `_cleaning`, a dedup's
    /// `_model`) come with them.
    #[serde(default)]
    pub tables: Option<Vec<Spanned<String>>>,
    /// A table with more rows is left out, with a warning: a sheet of millions of rows
    /// is for no one to read, and costs the run its time and memory.
    #[serde(default = "default_max_rows")]
    pub max_rows: Spanned<usize>,
}

impl Default for WorkbookConfig {
    fn default() -> Self {
        WorkbookConfig { tables: None, max_rows: default_max_rows() }
    }
}

fn default_max_rows() -> Spanned<usize> {
    Spanned::new(100_000, Location::UNKNOWN, Location::UNKNOWN)
}

impl WorkbookConfig {
    /// Whether the workbook takes output `name` of `rows` rows: named (or every output,
    /// by default) and small enough to read.
    pub fn takes(&self, name: &str, rows: usize) -> bool {
        let named = self.tables.as_ref().is_none_or(|t| t.iter().any(|t| t.value == name));
        named && rows <= self.max_rows.value
    }
}

/// The rejects table's name in `workbook.tables`.
pub const REJECTS_TABLE: &str = "rejects";

impl Pipeline {
    pub fn doc(&self) -> Doc<'_> {
        Doc::new(&self.path, &self.text)
    }

    pub fn output_names(&self) -> impl Iterator<Item = &str> {
        self.outputs.iter().map(|o| o.value.as_str())
    }
}

#[derive(Debug)]
pub struct Source {
    pub name: String,
    pub config: SourceConfig,
    /// `config.path` resolved against the pipeline file's folder through the file system.
    pub path: PathBuf,
    pub format: Format,
    pub schema: Schema,
}

impl Source {
    /// The columns a loaded source has: its schema's, `source_system` when tagged, and
    /// the rows' origin.
    pub fn frame_schema(&self) -> polars::prelude::Schema {
        let mut schema = self.schema.polars_schema();
        if self.config.system.is_some() {
            schema.insert("source_system".into(), polars::prelude::DataType::String);
        }
        schema.insert(crate::rejects::ORIGIN.into(), crate::rejects::origin_dtype());
        schema
    }
}

/// The top level of a pipeline file. Unknown keys are found separately, so that a typo
/// there does not hide the problems of the rest of the file.
#[derive(Deserialize)]
struct PipelineDoc {
    #[serde(default)]
    name: Option<Spanned<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    as_of: Option<Spanned<String>>,
    #[serde(default)]
    sources: Option<IndexMap<String, Node>>,
    #[serde(default)]
    stages: Vec<Node>,
    #[serde(default)]
    outputs: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    workbook: Option<Node>,
}

const TOP_KEYS: [&str; 7] = ["name", "description", "as_of", "sources", "stages", "outputs", "workbook"];

/// Reads a pipeline file and the files it names. A file that parses gives a pipeline,
/// with the problems found so far (a missing input file, a bad source), so that the
/// planner can go on and report its own in the same check.
pub fn load_pipeline(path: &Path) -> Result<(Pipeline, Vec<Diagnostic>), Vec<Diagnostic>> {
    let text = super::yaml::read_text(path, "pipeline file").map_err(|d| vec![d])?;
    let doc = Doc::new(path, &text);
    let mut diags = unknown_top_keys(&doc)?;
    let top: PipelineDoc = doc.parse().map_err(|d| vec![d])?;
    // A required key that an unknown key's "did you mean" names is reported once, there.
    let suggested: Vec<String> = diags.iter().filter_map(|d| d.help.clone()).collect();
    let mut required = |key: &str| {
        if !suggested.iter().any(|h| h.contains(&format!("'{key}'"))) {
            diags.push(Diagnostic::new(path, 0, 0, format!("missing key '{key}'")));
        }
    };
    let name = match &top.name {
        Some(n) => Some(n),
        None => {
            required("name");
            None
        }
    };
    if top.sources.is_none() {
        required("sources");
    }
    if top.outputs.is_none() {
        required("outputs");
    }
    if let Some(n) = name
        && !is_identifier(&n.value)
    {
        diags.push(identifier_problem(&doc, &n.referenced, "pipeline name", &n.value));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let (mut sources, mut unresolved) = (Vec::new(), Vec::new());
    for (name, node) in top.sources.iter().flatten() {
        if !is_identifier(name) {
            diags.push(identifier_problem(&doc, &node.referenced, "source name", name));
        }
        let source = match doc.parse_node::<SourceConfig>(node) {
            Ok(config) => resolve_source(&doc, base, name, config, &mut diags),
            Err(d) => {
                diags.push(d);
                None
            }
        };
        match source {
            Some(source) => sources.push(source),
            None => unresolved.push(name.clone()),
        }
    }
    let as_of = top.as_of.as_ref().and_then(|s| match NaiveDate::parse_from_str(&s.value, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            diags.push(doc.at(&s.referenced, format!("as_of '{}' is not a date like 2024-12-31", s.value)));
            None
        }
    });
    let outputs = top.outputs.unwrap_or_default();
    let workbook = match top.workbook.as_ref().map(|n| doc.parse_node::<WorkbookConfig>(n)) {
        None => WorkbookConfig::default(),
        Some(Ok(w)) => {
            diags.extend(check_workbook(&doc, &w, &outputs));
            w
        }
        Some(Err(d)) => {
            diags.push(d);
            WorkbookConfig::default()
        }
    };
    let pipeline = Pipeline {
        path: path.to_path_buf(),
        name: top.name.map(|n| n.value).unwrap_or_default(),
        as_of,
        sources,
        unresolved,
        stages: top.stages,
        outputs,
        workbook,
        text,
    };
    Ok((pipeline, diags))
}

/// `workbook.tables` names outputs or the rejects; `max_rows` fits a sheet.
fn check_workbook(doc: &Doc, w: &WorkbookConfig, outputs: &[Spanned<String>]) -> Vec<Diagnostic> {
    let known: Vec<&str> = outputs.iter().map(|o| o.value.as_str()).chain([REJECTS_TABLE]).collect();
    let mut diags: Vec<Diagnostic> = w
        .tables
        .iter()
        .flatten()
        .filter(|t| !known.contains(&t.value.as_str()))
        .map(|t| {
            doc.at(&t.referenced, format!("workbook table '{}' is not an output", t.value))
                .suggest(&t.value, known.iter().copied())
        })
        .collect();
    if !crate::write::fits_sheet(w.max_rows.value) {
        let message = format!("workbook max_rows {} is more than a sheet holds (1,048,575 rows)", w.max_rows.value);
        diags.push(doc.at(&w.max_rows.referenced, message));
    }
    diags
}

fn identifier_problem(doc: &Doc, at: &Location, what: &str, name: &str) -> Diagnostic {
    doc.at(at, format!("{what} '{name}' is not an identifier; it names files and folders of the run"))
        .with_help(IDENTIFIER_HELP)
}

/// Top-level keys that are not pipeline keys, each at its line with a suggestion.
fn unknown_top_keys(doc: &Doc) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
    let keys: IndexMap<String, Node> = doc.parse().map_err(|d| vec![d])?;
    Ok(keys
        .iter()
        .filter(|(k, _)| !TOP_KEYS.contains(&k.as_str()))
        .map(|(key, node)| {
            // A top-level key starts its line; the value's position is the fallback.
            let line = doc
                .text
                .lines()
                .position(|l| l.strip_prefix(key.as_str()).is_some_and(|r| r.trim_start().starts_with(':')));
            let diag = match line {
                Some(i) => Diagnostic::new(doc.path, i as u64 + 1, 1, format!("unknown key '{key}'")),
                None => doc.at(&node.referenced, format!("unknown key '{key}'")),
            };
            match did_you_mean(key, TOP_KEYS) {
                Some(best) => diag.with_help(format!("did you mean '{best}'?")),
                None => diag.with_help(format!("expected one of: {}", TOP_KEYS.join(", "))),
            }
        })
        .collect())
}

/// The source, when its format and schema are known; its problems go to `diags`.
fn resolve_source(
    doc: &Doc,
    base: &Path,
    name: &str,
    config: SourceConfig,
    diags: &mut Vec<Diagnostic>,
) -> Option<Source> {
    let path = resolve(&base.join(&config.path.value));
    diags.extend(unreadable(doc, &config.path.referenced, &format!("source '{name}': file"), &path));
    let format = config.format.or_else(|| Format::from_extension(&path));
    if format.is_none() {
        diags.push(
            doc.at(&config.path.referenced, format!("source '{name}': cannot tell the format of {}", path.display()))
                .with_help("add `format: csv`, `format: xlsx` or `format: parquet`"),
        );
    }
    if !config.delimiter.value.is_ascii() {
        let message = format!("delimiter '{}' is not a single-byte character", config.delimiter.value);
        diags.push(
            doc.at(&config.delimiter.referenced, message)
                .with_help("a CSV delimiter is one ASCII character, such as ',' ';' or '|'"),
        );
    }
    if let Some(h) = config.header_row.as_ref().filter(|h| h.value == 0) {
        diags.push(doc.at(&h.referenced, "header_row counts from 1 (the first row or line)"));
    }
    if let Some(h) = config.header_rows.as_ref().filter(|h| !(1..=2).contains(&h.value)) {
        diags.push(doc.at(&h.referenced, "header_rows is 1, or 2 for group titles over the column names"));
    }
    if let Some(rate) = &config.max_reject_rate
        && !(0.0..=1.0).contains(&rate.value)
    {
        diags.push(doc.at(&rate.referenced, "max_reject_rate is a share of rows, from 0 to 1 (0.05 is 5%)"));
    }
    let schema_path = resolve(&base.join(&config.schema.value));
    let schema =
        match unreadable(doc, &config.schema.referenced, &format!("source '{name}': schema file"), &schema_path) {
            None => load_schema(&schema_path).map_err(|d| diags.extend(d)).ok(),
            Some(d) => {
                diags.push(d);
                None
            }
        };
    Some(Source { name: name.to_string(), config, path, format: format?, schema: schema? })
}

/// Why the file `what` at `path` cannot be read, if it cannot: it is no regular file,
/// or it is missing (with a "did you mean" from the files beside it).
fn unreadable(doc: &Doc, at: &Location, what: &str, path: &Path) -> Option<Diagnostic> {
    if path.is_file() {
        return None;
    }
    if path.exists() {
        let message = format!("{what} {} is not a regular file (a folder, device or pipe)", path.display());
        return Some(doc.at(at, message));
    }
    let beside = path.parent().and_then(|dir| std::fs::read_dir(dir).ok());
    let found: Vec<String> =
        beside.into_iter().flatten().flatten().filter_map(|e| e.file_name().into_string().ok()).collect();
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
    Some(doc.at(at, format!("{what} not found: {}", path.display())).suggest(file, found.iter().map(String::as_str)))
}

/// The file a path names, as the file system resolves it (`sub/..` through a symlinked
/// `sub` is not the folder `sub` is in): its canonical path. A missing file is named in
/// its folder's canonical path, for the message that says so and its suggestions.
fn resolve(path: &Path) -> PathBuf {
    let in_real_folder = || Some(std::fs::canonicalize(path.parent()?).ok()?.join(path.file_name()?));
    std::fs::canonicalize(path).ok().or_else(in_real_folder).unwrap_or_else(|| clean_path(path))
}

/// Removes `.` and `dir/..` from a path without touching the file system.
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
