//! Stages: each kind is one module owning its config (deserialized and validated up
//! front) and its plan over Polars lazy frames. Adding a kind takes a module, a
//! variant and a match arm.

mod clean;
mod count;
mod dedup;
mod filter;
mod select;
mod union;

pub use clean::CleanConfig;
pub use count::CountConfig;
pub use dedup::DedupConfig;
pub use filter::FilterConfig;
pub use select::SelectConfig;
pub use union::UnionConfig;

use polars::prelude::{DataFrame, IntoLazy, LazyFrame, PolarsResult};
use serde::Deserialize;
use serde_saphyr::Location;

use crate::config::yaml::Doc;
use crate::diag::Diagnostic;

/// What every stage kind does. `plan` builds the computation; the pipeline check runs it
/// on empty frames of the declared schemas, so column mistakes surface before any data
/// is read, and the run executes the same plan on the real frames.
pub trait Stage: Send + Sync {
    /// The tables this stage reads, by name.
    fn inputs(&self) -> Vec<&str>;
    /// The table this stage produces.
    fn output(&self) -> &str;
    /// Further tables it produces (e.g. dedup's cluster map). The pipeline check runs
    /// such a stage on empty frames to learn their columns.
    fn side_outputs(&self) -> Vec<String> {
        Vec::new()
    }
    /// How many of `inputs`, from the first, carry the rows that flow through; the
    /// rest are lookup tables (such as FX rates) and are not counted as rows in.
    fn row_inputs(&self) -> usize {
        self.inputs().len()
    }
    /// Static checks of the config that need no schema (SQL syntax, empty lists).
    fn validate(&self, _doc: &Doc, _at: &Location) -> Vec<Diagnostic> {
        Vec::new()
    }
    /// The lazy computation over the input frames, in the order of `inputs`. Columns
    /// named `__…` are the stage's own working columns, not part of its output schema.
    fn plan(&self, inputs: Vec<LazyFrame>) -> PolarsResult<LazyFrame>;
    /// Runs on data. Stages that reject rows or report more than a table override this.
    fn run(&self, inputs: Vec<DataFrame>) -> PolarsResult<StageOutput> {
        let table = self.plan(inputs.into_iter().map(DataFrame::lazy).collect())?.collect()?;
        Ok(StageOutput { table, ..Default::default() })
    }
}

/// What a stage produced: its table, and optionally rejected rows (rejects schema), a
/// report for the manifest, extra workbook sheets, the tables named by `side_outputs`,
/// and files for the run directory (name, bytes).
#[derive(Default)]
pub struct StageOutput {
    pub table: DataFrame,
    pub rejects: Option<DataFrame>,
    pub report: Option<serde_json::Value>,
    pub sheets: Vec<(String, DataFrame)>,
    pub side_tables: Vec<(String, DataFrame)>,
    pub files: Vec<(String, Vec<u8>)>,
}

/// One entry of a pipeline's `stages:` list, written as `- <kind>: {...}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageConfig {
    Clean(CleanConfig),
    Union(UnionConfig),
    Filter(FilterConfig),
    Select(SelectConfig),
    Count(CountConfig),
    Dedup(Box<DedupConfig>),
}

impl StageConfig {
    pub fn stage(&self) -> &dyn Stage {
        match self {
            StageConfig::Clean(s) => s,
            StageConfig::Union(s) => s,
            StageConfig::Filter(s) => s,
            StageConfig::Select(s) => s,
            StageConfig::Count(s) => s,
            StageConfig::Dedup(s) => s.as_ref(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            StageConfig::Clean(_) => "clean",
            StageConfig::Union(_) => "union",
            StageConfig::Filter(_) => "filter",
            StageConfig::Select(_) => "select",
            StageConfig::Count(_) => "count",
            StageConfig::Dedup(_) => "dedup",
        }
    }

    /// Makes paths in the config relative to the pipeline file's folder.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        if let StageConfig::Dedup(d) = self {
            d.resolve_paths(base);
        }
    }

    pub fn inputs(&self) -> Vec<&str> {
        self.stage().inputs()
    }

    pub fn output(&self) -> &str {
        self.stage().output()
    }

    pub fn validate(&self, doc: &Doc, at: &Location) -> Vec<Diagnostic> {
        self.stage().validate(doc, at)
    }
}

/// Compiles a SQL expression written in a stage, with a diagnostic at its position.
pub(crate) fn sql(doc: &Doc, expr: &serde_saphyr::Spanned<String>) -> Result<polars::prelude::Expr, Diagnostic> {
    polars::sql::sql_expr(&expr.value).map_err(|e| {
        let msg = e.to_string();
        doc.at(&expr.referenced, format!("invalid SQL expression: {}", msg.lines().next().unwrap_or_default()))
    })
}

#[cfg(test)]
mod tests;
