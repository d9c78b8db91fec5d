//! Stages. Each kind is one module with a serde config and a compiled stage: `build`
//! turns the config into the stage once, compiling its SQL and rules and reporting
//! every problem at its YAML position; the stage then declares its inputs, its output
//! tables and their schemas without running, and runs on data with a run context.
//! Adding a kind takes a module, a variant and a match arm.

mod activity;
mod aging;
mod clean;
mod count;
mod days;
mod dedup;
mod filter;
mod ledger;
mod output;
mod select;
mod tier;
mod union;

pub use dedup::Census;
pub use output::{Effect, Finding, Severity, StageOutput};

use std::path::Path;

use polars::prelude::{DataFrame, Expr, LazyFrame, PolarsError, PolarsResult, Schema};
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use crate::config::yaml::Doc;
use crate::diag::{Diagnostic, IDENTIFIER_HELP, is_identifier};
use crate::run::RunContext;

/// What a compiled stage is to the planner and the executor.
pub trait Stage: Send + Sync {
    /// The stage's kind as written in YAML (`clean`, `dedup` …).
    fn kind(&self) -> &'static str;
    /// The tables it reads and its main output.
    fn io(&self) -> &Io;
    /// Further outputs, each the table `<output>_<port>` (dedup's `map`, `pairs` …).
    fn ports(&self) -> &'static [&'static str] {
        &[]
    }
    /// The schema of every output (main, then ports) from the inputs' schemas, without
    /// reading or computing anything.
    fn schemas(&self, inputs: &[Schema]) -> Result<Vec<Schema>, Vec<Problem>>;
    /// Runs on data: `inputs` in the order of `inputs()`, tables in the order of `schemas`.
    fn run(&self, inputs: Vec<DataFrame>, cx: &RunContext) -> PolarsResult<StageOutput>;

    /// The tables this stage reads, by name and role.
    fn inputs(&self) -> &[Input] {
        &self.io().inputs
    }

    /// The stage's main output table; it also names the stage.
    fn output(&self) -> &str {
        &self.io().output
    }

    /// Files outside the run directory the stage writes as effects (dedup's
    /// `save_model:`), so that a run can refuse one inside its output folder up front.
    fn effect_paths(&self) -> Vec<&Path> {
        Vec::new()
    }

    /// The blocking rules' census over these inputs, without comparing a pair, for a
    /// stage that blocks (dedup): what `tally check --pairs` prints.
    fn census(&self, _inputs: Vec<DataFrame>) -> Option<PolarsResult<Vec<Census>>> {
        None
    }

    /// How the stage runs a batch of rows at a time, if it can; see [`Batched`].
    fn batched(&self) -> Option<&dyn Batched> {
        None
    }

    /// Every table this stage produces: the main output, then `<output>_<port>`.
    fn outputs(&self) -> Vec<String> {
        std::iter::once(self.output().to_string())
            .chain(self.ports().iter().map(|p| format!("{}_{p}", self.output())))
            .collect()
    }
}

/// A stage that can take its rows input a batch at a time: its work on a row needs no
/// other row of the input (clean, filter, select), or it combines partial results (a
/// count). The executor streams a large source through such stages, holding a batch,
/// not the table. A batched stage's `run` is its batch path over one batch, so the
/// two cannot disagree.
pub trait Batched: Send + Sync {
    /// Whether a batch gives rows for the next stage, or only a partial result.
    fn passes_rows(&self) -> bool {
        true
    }
    /// One batch of the rows input, with the lookups whole.
    fn run_batch(&self, inputs: Vec<DataFrame>, cx: &RunContext) -> PolarsResult<Batch>;
    /// Batches' partial results, in batch order, as one; applied again to merged
    /// results, so a stream holds a few partial results however many batches it has.
    fn merge(&self, partials: Vec<DataFrame>) -> PolarsResult<DataFrame>;
    /// The stage's output from the partial result of all its batches: its tables (none
    /// when the rows went out batch by batch), report, sheets and findings.
    fn finish(&self, partial: DataFrame, cx: &RunContext) -> PolarsResult<StageOutput>;
}

/// What a batch gives.
pub struct Batch {
    /// The batch's rows for the next stage; none when the stage's output is made only
    /// at `finish` (a count).
    pub rows: Option<DataFrame>,
    pub rejects: Option<DataFrame>,
    /// What `finish` needs of this batch: a count's partial counts, a clean's tallies.
    pub partial: DataFrame,
}

impl Batch {
    /// A batch's rows, with nothing to finish.
    pub fn rows(rows: DataFrame) -> Self {
        Batch { rows: Some(rows), rejects: None, partial: DataFrame::empty() }
    }
}

/// `run` of a batched stage: its one batch, finished.
fn run_batched(stage: &dyn Batched, inputs: Vec<DataFrame>, cx: &RunContext) -> PolarsResult<StageOutput> {
    let batch = stage.run_batch(inputs, cx)?;
    let mut output = stage.finish(batch.partial, cx)?;
    output.tables.splice(0..0, batch.rows);
    output.rejects = batch.rejects;
    Ok(output)
}

/// What a stage reads, and the table it writes first.
#[derive(Debug, Clone)]
pub struct Io {
    pub inputs: Vec<Input>,
    pub output: String,
}

/// A table a stage reads.
#[derive(Debug, Clone)]
pub struct Input {
    pub table: String,
    pub role: Role,
}

/// Rows flow through a stage and are counted as its rows in; a lookup (an FX rate
/// table) is only consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Rows,
    Lookup,
}

impl Input {
    pub fn rows(table: &str) -> Self {
        Input { table: table.to_string(), role: Role::Rows }
    }

    pub fn lookup(table: &str) -> Self {
        Input { table: table.to_string(), role: Role::Lookup }
    }
}

/// A problem found while deriving a stage's schemas; at the stage when `at` is none.
#[derive(Debug, Clone)]
pub struct Problem {
    pub at: Option<Location>,
    pub message: String,
    pub help: Option<String>,
}

impl Problem {
    pub fn new(at: Option<Location>, message: impl Into<String>) -> Self {
        Problem { at, message: message.into(), help: None }
    }

    /// A Polars error from planning on the declared schemas: a type mismatch, say.
    /// Only its first line is kept; the rest is Polars' own plan dump.
    pub fn plan(at: Option<Location>, err: &PolarsError) -> Self {
        let text = err.to_string();
        Problem::new(at, text.lines().next().unwrap_or_default().to_string())
    }
}

/// Columns a stage names must exist in its input; each missing one is reported at
/// its position, with the nearest existing column.
pub fn require<S: AsRef<str>>(schema: &Schema, names: impl IntoIterator<Item = (S, Option<Location>)>) -> Vec<Problem> {
    names
        .into_iter()
        .filter(|(name, _)| !name.as_ref().starts_with("__") && schema.get(name.as_ref()).is_none())
        .map(|(name, at)| {
            let name = name.as_ref();
            let mut p = Problem::new(at, format!("column '{name}' not found"));
            p.help = crate::diag::did_you_mean(name, schema.iter_names().map(|n| n.as_str()))
                .map(|best| format!("did you mean '{best}'?"));
            p
        })
        .collect()
}

/// The schema of a lazy plan over empty frames of the given schemas.
/// Working columns (`__…`) are not part of a stage's output; the rows' origin is.
pub fn planned_schema(plan: PolarsResult<LazyFrame>) -> Result<Schema, Vec<Problem>> {
    let schema = plan.and_then(|mut lf| lf.collect_schema()).map_err(|e| vec![Problem::plan(None, &e)])?;
    let kept = |n: &str| !n.starts_with("__") || n == crate::rejects::ORIGIN;
    Ok(schema.iter().filter(|(n, _)| kept(n)).map(|(n, t)| (n.clone(), t.clone())).collect())
}

/// Empty frames of the given schemas, to plan over.
pub fn empty_frames(schemas: &[Schema]) -> Vec<LazyFrame> {
    use polars::prelude::IntoLazy;
    schemas.iter().map(|s| DataFrame::empty_with_schema(s).lazy()).collect()
}

/// What `build` knows: the pipeline file (for positions and relative paths) and where
/// the stage's entry starts.
pub struct BuildContext<'a> {
    pub doc: &'a Doc<'a>,
    pub at: Location,
}

impl BuildContext<'_> {
    pub fn error(&self, at: Option<&Location>, message: impl Into<String>) -> Diagnostic {
        self.doc.at(at.unwrap_or(&self.at), message)
    }

    /// A path in the config, relative to the pipeline file's folder.
    pub fn path(&self, path: &Path) -> std::path::PathBuf {
        let folder = self.doc.path.parent().filter(|p| !p.as_os_str().is_empty());
        folder.unwrap_or(Path::new(".")).join(path)
    }

    /// A table name must be an identifier: it names files in the run directory.
    pub fn table_name(&self, name: &Spanned<String>) -> Result<String, Diagnostic> {
        if is_identifier(&name.value) {
            Ok(name.value.clone())
        } else {
            Err(self
                .doc
                .at(&name.referenced, format!("table name '{}' is not an identifier", name.value))
                .with_help(format!("{IDENTIFIER_HELP}, e.g. customers_clean")))
        }
    }
}

/// The first word of `sql` that would read a table: `SELECT` (a subquery) or a table
/// function (`read_csv(`, `scan_parquet(` …). Comments and quoted text are set aside
/// first, so that neither hides such a word nor is taken for one.
fn reads_tables(sql: &str) -> Option<String> {
    static QUOTED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?s)'(?:[^']|'')*'?|"(?:[^"]|"")*"?|--[^\n]*|/\*.*?(?:\*/|$)"#).expect("valid")
    });
    static READS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\b(select)\b|\b((?:read|scan)_[a-z_0-9]*)\s*\(").expect("valid")
    });
    let bare = QUOTED.replace_all(sql, " ");
    let found = READS.captures(&bare)?;
    Some(found.get(1).or(found.get(2))?.as_str().to_lowercase())
}

#[cfg(test)]
#[test]
fn finds_what_would_read_a_table_past_comments_and_quotes() {
    assert_eq!(reads_tables("id IN (SELECT a FROM read_csv/**/('/etc/x'))").as_deref(), Some("select"));
    assert_eq!(reads_tables("x = read_parquet --\n ('f')").as_deref(), Some("read_parquet"));
    assert_eq!(reads_tables("id = 'read_x(' AND note <> 'select'"), None);
    assert_eq!(reads_tables("read_count > 3 AND \"select\" = 1"), None);
}

/// What to write instead of a function Polars' SQL does not have (README, "SQL").
fn unsupported_hint(error: &str) -> Option<&'static str> {
    let function = error.strip_prefix("unsupported function '")?.split('\'').next()?.to_ascii_lowercase();
    Some(match function.as_str() {
        "regexp_replace" | "regexp_extract" | "regexp_substr" | "regexp_matches" => {
            "Polars SQL has no regexp_replace or regexp_extract; did you mean REGEXP_LIKE(col, 'pattern') or \
             col ~ 'pattern' (a test), REPLACE(col, 'old', 'new') (literal text), or a clean stage's normalizer?"
        }
        "len" | "char_length" | "length_chars" => "did you mean LENGTH(col) (characters) or OCTET_LENGTH(col) (bytes)?",
        "substring" | "mid" => "did you mean SUBSTR(col, start, length)?",
        "nvl" | "isnull" => "did you mean COALESCE(a, b) or IFNULL(a, b)?",
        "instr" | "charindex" => "did you mean STRPOS(col, 'text')?",
        _ => "the README's SQL section lists the functions Polars' SQL supports",
    })
}

/// A SQL expression of a stage, compiled once, with where it was written.
#[derive(Debug, Clone)]
pub struct Sql {
    pub expr: Expr,
    pub at: Location,
}

impl Sql {
    pub fn compile(cx: &BuildContext, text: &Spanned<String>) -> Result<Sql, Diagnostic> {
        if let Some(word) = reads_tables(&text.value) {
            let message = format!("SQL here is one expression over the table's columns: '{word}' is refused");
            return Err(cx
                .doc
                .at(&text.referenced, message)
                .with_help("a subquery or a table function (read_csv …) would read other data, any file included"));
        }
        match polars::sql::sql_expr(&text.value) {
            Ok(expr) => Ok(Sql { expr, at: text.referenced }),
            Err(e) => {
                let msg = e.to_string();
                let first = msg.lines().next().unwrap_or_default();
                let diagnostic = cx.doc.at(&text.referenced, format!("invalid SQL expression: {first}"));
                Err(match unsupported_hint(first) {
                    Some(help) => diagnostic.with_help(help),
                    None => diagnostic,
                })
            }
        }
    }

    /// The columns the expression reads, each at the expression's position.
    pub fn columns(&self) -> Vec<(String, Option<Location>)> {
        self.expr.clone().meta().root_names().into_iter().map(|n| (n.to_string(), Some(self.at))).collect()
    }
}

/// Collects results and diagnostics: `all` keeps going after a failure so that every
/// problem of a config is reported in one check.
#[derive(Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn take<T>(&mut self, r: Result<T, Diagnostic>) -> Option<T> {
        r.map_err(|d| self.0.push(d)).ok()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// `value` when nothing was reported, else every diagnostic.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<Diagnostic>> {
        if self.0.is_empty() { Ok(value()) } else { Err(self.0) }
    }
}

/// One entry of a pipeline's `stages:` list, written as `- <kind>: {...}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageConfig {
    Clean(clean::CleanConfig),
    Union(union::UnionConfig),
    Filter(filter::FilterConfig),
    Select(select::SelectConfig),
    Count(count::CountConfig),
    Dedup(Box<dedup::DedupConfig>),
    Ledger(ledger::LedgerConfig),
    Activity(Box<activity::ActivityConfig>),
    Aging(aging::AgingConfig),
    Tier(Box<tier::TierConfig>),
}

impl StageConfig {
    /// Compiles the config into its stage.
    pub fn build(self, cx: &BuildContext) -> Result<Box<dyn Stage>, Vec<Diagnostic>> {
        fn boxed<S: Stage + 'static>(r: Result<S, Vec<Diagnostic>>) -> Result<Box<dyn Stage>, Vec<Diagnostic>> {
            r.map(|s| Box::new(s) as Box<dyn Stage>)
        }
        match self {
            StageConfig::Clean(c) => boxed(c.build(cx)),
            StageConfig::Union(c) => boxed(c.build(cx)),
            StageConfig::Filter(c) => boxed(c.build(cx)),
            StageConfig::Select(c) => boxed(c.build(cx)),
            StageConfig::Count(c) => boxed(c.build(cx)),
            StageConfig::Dedup(c) => boxed(c.build(cx)),
            StageConfig::Ledger(c) => boxed(c.build(cx)),
            StageConfig::Activity(c) => boxed(c.build(cx)),
            StageConfig::Aging(c) => boxed(c.build(cx)),
            StageConfig::Tier(c) => boxed(c.build(cx)),
        }
    }
}

/// Builds one stage outside a pipeline, from YAML such as `filter: {input: a, …}`;
/// for tests and benchmarks.
pub fn build_one(text: &str) -> Result<Box<dyn Stage>, Vec<Diagnostic>> {
    let doc = Doc::new(Path::new("stage.yaml"), text);
    let config: StageConfig = doc.parse().map_err(|d| vec![d])?;
    config.build(&BuildContext { doc: &doc, at: Location::UNKNOWN })
}

/// Stages built and run outside a pipeline, for unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use polars::prelude::*;

    /// A compiled stage; `run` runs it outside any run directory, as of 2024-12-31.
    pub struct Built(pub Box<dyn Stage>);

    impl Built {
        pub fn run(&self, inputs: Vec<DataFrame>) -> PolarsResult<StageOutput> {
            let as_of = chrono::NaiveDate::from_ymd_opt(2024, 12, 31).expect("a date");
            self.0.run(inputs, &RunContext::detached(as_of))
        }

        /// The main output's schema, derived from the inputs' without running.
        pub fn schema(&self, inputs: &[Schema]) -> Schema {
            self.0.schemas(inputs).unwrap_or_else(|p| panic!("{p:?}")).remove(0)
        }
    }

    pub type Doc<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, &'a str, &'a str);

    /// Documents `(doc_no, doc_type, original_no, customer_id, doc_date, amount)` as an
    /// export has them after its load: dates and decimal amounts.
    pub fn documents<'a>(rows: &[Doc<'a>]) -> DataFrame {
        let column =
            |f: for<'r> fn(&'r Doc<'a>) -> Option<&'a str>| -> Vec<Option<&'a str>> { rows.iter().map(f).collect() };
        df! {
            "doc_no" => column(|d| Some(d.0)),
            "doc_type" => column(|d| Some(d.1)),
            "original_no" => column(|d| d.2),
            "customer_id" => column(|d| Some(d.3)),
            "doc_date" => column(|d| Some(d.4)),
            "amount" => column(|d| Some(d.5)),
        }
        .unwrap()
        .lazy()
        .with_columns([crate::values::dates(col("doc_date")), col("amount").cast(DataType::Decimal(18, 2))])
        .collect()
        .unwrap()
    }

    /// Builds a stage from the body of its `- <kind>:` entry.
    pub fn stage(kind: &str, body: &str) -> Built {
        try_stage(kind, body).unwrap_or_else(|d| panic!("{}", crate::diag::render(&d)))
    }

    pub fn try_stage(kind: &str, body: &str) -> Result<Built, Vec<Diagnostic>> {
        let indented: String = body.lines().map(|l| format!("  {l}\n")).collect();
        build_one(&format!("{kind}:\n{indented}")).map(Built)
    }
}

#[cfg(test)]
mod tests;
