//! `dedup`: finds which records are the same customer and merges them into golden
//! records, explaining every link. Probabilistic record linkage in the Fellegi–Sunter
//! tradition: blocking rules pick candidate pairs, comparisons grade each pair column by
//! column, a model trained without labels turns grades into a match probability,
//! clusters are the connected links (cannot-link rules respected), and survivorship
//! rules build one golden record per cluster.
//!
//! With `left` and `right` instead of `input`, it links two tables: only pairs across
//! them are compared.

mod blocking;
mod cluster;
mod compare;
mod explain;
mod golden;
mod model;
mod reviewed;
mod run;
mod schema;

#[cfg(test)]
mod tests;

pub use blocking::Census;
pub use compare::Method;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use polars::prelude::*;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{BuildContext, Diagnostics, Input, Io, Problem, Sql, Stage, StageOutput, require};
use crate::diag::Diagnostic;
use crate::run::RunContext;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupConfig {
    /// The table to deduplicate; or `left` and `right` to link two tables.
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub left: Option<String>,
    #[serde(default)]
    pub right: Option<String>,
    /// The golden records; the cluster map, scored pairs, review queue and lineage are
    /// the tables `<output>_map`, `_pairs`, `_review` and `_lineage`.
    pub output: Spanned<String>,
    /// The record id, unique within a source.
    pub id: String,
    /// Which system a record came from. In link mode it defaults to the table's name.
    #[serde(default)]
    pub source: Option<String>,
    /// Candidate pairs share every key of at least one rule. A key is a column or a SQL
    /// expression, e.g. `LEFT(name_key, 4)`.
    #[serde(default)]
    pub blocking: Vec<BlockingRule>,
    /// Blocks with more records than this are skipped and reported.
    #[serde(default = "default_max_block_size")]
    pub max_block_size: usize,
    pub compare: IndexMap<String, CompareConfig>,
    /// Columns whose equal values link records outright (e.g. a validated tax id).
    #[serde(default)]
    pub exact_keys: Vec<String>,
    /// SQL predicates over `<column>_l` and `<column>_r`; a true one keeps two records apart.
    #[serde(default)]
    pub cannot_link: Vec<Spanned<String>>,
    /// Columns whose values must be equal (null included) for records to link. By
    /// default every `*_branch` column, so a branch (分公司) never merges with its parent.
    #[serde(default)]
    pub keep_apart: Option<Vec<String>>,
    pub threshold: Threshold,
    /// `default:` and per-column rules: most_recent(column), source_priority([a, b]),
    /// most_complete, most_frequent, longest.
    #[serde(default)]
    pub survivorship: IndexMap<String, String>,
    /// A model file written by an earlier run, used instead of training.
    #[serde(default)]
    pub model: Option<Spanned<PathBuf>>,
    /// Where to save the trained model for later runs' `model:`. Written only when the
    /// run succeeds (a deferred effect); the run directory always has a copy.
    #[serde(default)]
    pub save_model: Option<Spanned<PathBuf>>,
    #[serde(default)]
    pub training: Training,
    /// Extra columns shown for both records in the pairs and review tables.
    #[serde(default)]
    pub show: Vec<String>,
    /// A table of reviewed decisions: the review queue of an earlier run with its
    /// `verdict` filled in (same/different, 是/否), keyed by both records' (source, id).
    #[serde(default)]
    pub reviewed: Option<String>,
}

/// A `blocking:` entry: its keys, or `{ keys, split_by, split_over }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum BlockingRule {
    Keys(Vec<String>),
    Split(SplitRule),
}

/// A rule whose blocks of more than `split_over` records are split by one more SQL
/// expression (see `blocking::Split`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitRule {
    pub keys: Vec<String>,
    pub split_by: String,
    #[serde(default = "default_split_over")]
    pub split_over: usize,
}

fn default_split_over() -> usize {
    blocking::LARGE_BLOCK
}

impl BlockingRule {
    fn keys(&self) -> &[String] {
        match self {
            BlockingRule::Keys(keys) | BlockingRule::Split(SplitRule { keys, .. }) => keys,
        }
    }

    fn split(&self) -> Option<&SplitRule> {
        match self {
            BlockingRule::Keys(_) => None,
            BlockingRule::Split(rule) => Some(rule),
        }
    }
}

fn default_max_block_size() -> usize {
    1000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareConfig {
    /// The column compared; defaults to the comparison's name.
    #[serde(default)]
    pub column: Option<String>,
    pub method: Method,
    /// Thresholds, closest first; each method has defaults.
    #[serde(default)]
    pub levels: Option<Vec<f64>>,
    /// Weigh agreement on rare values more than on common ones.
    #[serde(default)]
    pub tf_adjust: bool,
    /// For `levenshtein` and `jaro_winkler`: a level of its own, after the thresholds,
    /// for a value of two characters or more contained in the other (an abbreviation:
    /// 中新 and 中新网络科技).
    #[serde(default)]
    pub contains: bool,
    /// Another column to compare the pair both ways: `given_name` with `swap_with:
    /// surname` agrees with a record whose given name and surname were swapped (give
    /// the surname comparison `swap_with: given_name` too).
    #[serde(default)]
    pub swap_with: Option<String>,
    /// Fixed match weights (log2 m/u) per level, closest first and `else` last, instead of training.
    #[serde(default)]
    pub weights: Option<Vec<f64>>,
}

impl CompareConfig {
    fn thresholds(&self) -> Vec<f64> {
        self.levels.clone().unwrap_or_else(|| self.method.default_levels())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// Pairs at or above this match probability link.
    #[serde(rename = "match")]
    pub link: f64,
    /// Pairs at or above this (and below `match`) go to the review queue.
    pub review: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// Random record pairs sampled to estimate u.
    #[serde(default = "default_u_pairs")]
    pub u_pairs: usize,
    #[serde(default = "default_iterations")]
    pub max_iterations: usize,
    #[serde(default = "default_seed")]
    pub seed: u64,
}

impl Default for Training {
    fn default() -> Self {
        Training { u_pairs: default_u_pairs(), max_iterations: default_iterations(), seed: default_seed() }
    }
}

fn default_u_pairs() -> usize {
    1_000_000
}

/// Per EM pass; a pass over the candidate pairs' patterns costs microseconds to
/// milliseconds, so a generous cap costs little.
fn default_iterations() -> usize {
    500
}

fn default_seed() -> u64 {
    42
}

/// The ports: `<output>_map`, `_pairs`, `_review`, `_lineage`.
const PORTS: [&str; 4] = ["map", "pairs", "review", "lineage"];

impl DedupConfig {
    /// The source column of the records: configured, or in link mode the table name.
    fn source_column(&self) -> Option<&str> {
        self.source.as_deref().or(self.left.as_ref().map(|_| LINK_SOURCE))
    }

    fn compiled_rules(&self, cx: &BuildContext, d: &mut Diagnostics) -> Vec<blocking::Rule> {
        let exact = self
            .exact_keys
            .iter()
            .map(|k| blocking::Rule::new(format!("exact_key: {k}"), vec![blocking::Key::Expr(col(k.as_str()))]));
        let rules = self.blocking.iter().filter_map(|rule| {
            let keys = rule.keys();
            let exprs = keys.iter().map(|k| blocking::Key::parse(k)).collect::<PolarsResult<Vec<_>>>();
            let compiled = exprs.and_then(|exprs| {
                let compiled = blocking::Rule::new(keys.join(" + "), exprs);
                match rule.split() {
                    Some(split) => compiled.split_by(&split.split_by, split.split_over),
                    None => Ok(compiled),
                }
            });
            let compiled = compiled.map_err(|e| {
                let first = e.to_string().lines().next().unwrap_or_default().to_string();
                cx.error(
                    None,
                    format!(
                        "dedup '{}': blocking rule [{}] is not columns or SQL: {first}",
                        self.output.value,
                        keys.join(", ")
                    ),
                )
            });
            d.take(compiled)
        });
        exact.chain(rules).collect()
    }

    fn survivorship(&self) -> Result<golden::Survivorship, String> {
        let mut columns = IndexMap::new();
        let mut default = golden::Rule::MostComplete;
        for (column, rule) in &self.survivorship {
            let rule: golden::Rule = rule.parse().map_err(|e| format!("survivorship of '{column}': {e}"))?;
            if matches!(rule, golden::Rule::SourcePriority(_)) && self.source_column().is_none() {
                return Err(format!("survivorship of '{column}': source_priority needs `source:`"));
            }
            if column == "default" {
                default = rule;
            } else {
                columns.insert(column.clone(), rule);
            }
        }
        Ok(golden::Survivorship { default, columns })
    }

    /// Every column the config reads, to check them against the input's schema.
    fn referenced_columns(&self) -> Vec<String> {
        let mut out = vec![self.id.clone()];
        out.extend(self.source.clone());
        out.extend(self.exact_keys.iter().cloned());
        out.extend(self.compare.iter().map(|(n, c)| c.column.clone().unwrap_or_else(|| n.clone())));
        out.extend(self.compare.values().filter_map(|c| c.swap_with.clone()));
        out.extend(self.show.iter().cloned());
        out.extend(self.keep_apart.iter().flatten().cloned());
        if let Ok(s) = self.survivorship() {
            out.extend(s.columns.keys().cloned());
            out.extend(s.columns.values().chain([&s.default]).filter_map(|r| r.column().map(String::from)));
        }
        out
    }
}

/// The compiled stage: rules, survivorship and cannot-link predicates compiled once,
/// model paths resolved against the pipeline's folder.
pub struct Dedup {
    config: DedupConfig,
    io: Io,
    rules: Vec<blocking::Rule>,
    survivorship: golden::Survivorship,
    cannot_link: Vec<Sql>,
    model: Option<PathBuf>,
    save_model: Option<PathBuf>,
}

impl Dedup {
    /// The records' inputs, and the reviewed decisions if the stage reads them.
    fn split_reviewed<'a, T>(&self, inputs: &'a [T]) -> (&'a [T], Option<&'a T>) {
        match self.config.reviewed {
            Some(_) => (&inputs[..inputs.len() - 1], inputs.last()),
            None => (inputs, None),
        }
    }
}

/// Where `save_model:` may write: a `.json` file in an existing folder, replacing
/// nothing but a model tally wrote, so that a typo cannot overwrite the data or the
/// pipeline itself.
fn save_model_path(cx: &BuildContext, path: &Spanned<PathBuf>) -> Result<PathBuf, Diagnostic> {
    let full = cx.path(&path.value);
    let refuse = |why: String| Err(cx.error(Some(&path.referenced), format!("save_model: {why}")));
    if full.extension().is_none_or(|e| e != "json") {
        return refuse(format!("'{}' is not a .json file", path.value.display()));
    }
    // The file in its folder's real path: `a/../m.json` and `./m.json` are one file.
    let folder = full.parent().and_then(|f| std::fs::canonicalize(f).ok()).filter(|f| f.is_dir());
    let (Some(folder), Some(name)) = (folder, full.file_name()) else {
        return refuse(format!("the folder of '{}' does not exist", path.value.display()));
    };
    let full = folder.join(name);
    match std::fs::symlink_metadata(&full) {
        Err(_) => Ok(full),
        Ok(m) if !m.is_file() => refuse(format!("'{}' exists and is not a plain file", path.value.display())),
        Ok(_) => match std::fs::read(&full).map(|b| serde_json::from_slice::<model::Model>(&b)) {
            Ok(Ok(_)) => Ok(full),
            _ => {
                refuse(format!("'{}' exists and is not a model tally wrote; it is not replaced", path.value.display()))
            }
        },
    }
}

/// The source column added in link mode: which of the two tables a record came from.
const LINK_SOURCE: &str = "table";

impl DedupConfig {
    pub fn build(self, cx: &BuildContext) -> Result<Dedup, Vec<Diagnostic>> {
        let mut d = Diagnostics::default();
        let output = d.take(cx.table_name(&self.output));
        for p in self.problems() {
            d.push(cx.error(None, format!("dedup '{}': {p}", self.output.value)));
        }
        let rules = self.compiled_rules(cx, &mut d);
        let survivorship =
            d.take(self.survivorship().map_err(|p| cx.error(None, format!("dedup '{}': {p}", self.output.value))));
        let cannot_link: Vec<Sql> = self.cannot_link.iter().filter_map(|r| d.take(Sql::compile(cx, r))).collect();
        let inputs = match (&self.input, &self.left, &self.right) {
            (Some(i), _, _) => vec![Input::rows(i)],
            (None, Some(l), Some(r)) => vec![Input::rows(l), Input::rows(r)],
            _ => Vec::new(),
        };
        // Reviewed decisions come last: they are read, not resolved.
        let inputs = inputs.into_iter().chain(self.reviewed.as_deref().map(Input::lookup)).collect();
        let model = self.model.as_ref().map(|p| (cx.path(&p.value), p.referenced));
        if let Some((path, at)) = &model
            && !path.is_file()
        {
            d.push(cx.error(Some(at), format!("model file not found: {}", path.display())));
        }
        let model = model.map(|(path, _)| path);
        let save_model = self.save_model.as_ref().and_then(|p| d.take(save_model_path(cx, p)));
        d.finish(|| Dedup {
            io: Io { inputs, output: output.expect("checked") },
            rules,
            survivorship: survivorship.expect("checked"),
            cannot_link,
            model,
            save_model,
            config: self,
        })
    }

    /// Problems of the config that need no schema.
    fn problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = Vec::new();
        match (&self.input, &self.left, &self.right) {
            (None, Some(l), Some(r)) if l == r => problems.push("`left` and `right` must be two tables".into()),
            (Some(_), None, None) | (None, Some(_), Some(_)) => {}
            _ => problems.push("give either `input`, or `left` and `right`".into()),
        }
        if self.blocking.is_empty() && self.exact_keys.is_empty() {
            problems.push("`blocking` needs at least one rule (or give `exact_keys`)".into());
        }
        if self.blocking.iter().any(|r| r.keys().is_empty()) {
            problems.push("a blocking rule needs at least one key".into());
        }
        if self.blocking.iter().filter_map(BlockingRule::split).any(|s| s.split_over < 2) {
            problems.push("split_over must be at least 2: a block of two records is one pair".into());
        }
        if self.compare.is_empty() {
            problems.push("`compare` needs at least one column".into());
        }
        for (column, c) in &self.compare {
            let thresholds = c.thresholds();
            if let Err(e) = c.method.check_levels(&thresholds) {
                problems.push(format!("compare '{column}': {e}"));
            }
            if c.contains && !matches!(c.method, Method::Levenshtein | Method::JaroWinkler) {
                problems.push(format!("compare '{column}': `contains` is for levenshtein and jaro_winkler"));
            }
            let labels = compare::labels(c.method, &thresholds, c.contains);
            if let Some(w) = &c.weights {
                if w.len() != labels.len() - 1 {
                    problems.push(format!(
                        "compare '{column}': {} weights given for {} levels ({})",
                        w.len(),
                        labels.len() - 1,
                        labels[1..].join(", ")
                    ));
                }
                if c.tf_adjust {
                    problems.push(format!("compare '{column}': tf_adjust needs trained u, not fixed weights"));
                }
            }
        }
        let t = &self.threshold;
        if !(0.0 < t.review && t.review <= t.link && t.link <= 1.0) {
            problems.push("threshold: need 0 < review <= match <= 1 (they are probabilities)".into());
        }
        if self.max_block_size < 2 {
            problems.push("max_block_size must be at least 2".into());
        }
        problems
    }
}

impl Stage for Dedup {
    fn kind(&self) -> &'static str {
        "dedup"
    }

    fn io(&self) -> &Io {
        &self.io
    }

    fn ports(&self) -> &'static [&'static str] {
        &PORTS
    }

    fn effect_paths(&self) -> Vec<&Path> {
        self.save_model.iter().map(PathBuf::as_path).collect()
    }

    fn schemas(&self, inputs: &[Schema]) -> Result<Vec<Schema>, Vec<Problem>> {
        let (inputs, decisions) = self.split_reviewed(inputs);
        let records = schema::records(inputs)?;
        let mut columns = self.config.referenced_columns();
        columns.extend(self.rules.iter().flat_map(|r| r.roots()));
        let mut problems = require(&records, columns.into_iter().map(|c| (c, None)));
        // Cannot-link rules read `<column>_l` and `<column>_r`.
        let sides = self
            .cannot_link
            .iter()
            .flat_map(Sql::columns)
            .filter_map(|(n, at)| Some((n.strip_suffix("_l").or_else(|| n.strip_suffix("_r"))?.to_string(), at)));
        problems.extend(require(&records, sides));
        if let (Some(decisions), Some(table)) = (decisions, &self.config.reviewed) {
            let wanted = reviewed::columns(&self.config).into_iter().map(|c| (c, None));
            problems.extend(require(decisions, wanted).into_iter().map(|mut p| {
                p.message = format!("reviewed decisions '{table}': {}", p.message);
                p
            }));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(schema::outputs(self, &records))
    }

    fn run(&self, inputs: Vec<DataFrame>, _: &RunContext) -> PolarsResult<StageOutput> {
        run::run(self, inputs)
    }

    fn census(&self, inputs: Vec<DataFrame>) -> Option<PolarsResult<Vec<Census>>> {
        Some(run::census(self, inputs))
    }
}
