//! `select`: derives columns from SQL expressions, keeps and orders columns, renames them.
//! Applied in that order, so a derived column can be kept and renamed.

use indexmap::IndexMap;
use polars::prelude::*;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Stage, sql};
use crate::config::yaml::Doc;
use crate::diag::Diagnostic;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectConfig {
    pub input: String,
    pub output: String,
    /// New or replaced columns: `name: SQL expression`, computed from the input's columns.
    #[serde(default)]
    pub derive: IndexMap<String, Spanned<String>>,
    /// Columns to keep, in this order; all when absent.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// `old: new` names.
    #[serde(default)]
    pub rename: IndexMap<String, String>,
}

impl Stage for SelectConfig {
    fn inputs(&self) -> Vec<&str> {
        vec![&self.input]
    }

    fn output(&self) -> &str {
        &self.output
    }

    fn validate(&self, doc: &Doc, _at: &serde_saphyr::Location) -> Vec<Diagnostic> {
        self.derive.values().filter_map(|e| sql(doc, e).err()).collect()
    }

    fn plan(&self, mut inputs: Vec<LazyFrame>) -> PolarsResult<LazyFrame> {
        let mut lf = inputs.remove(0);
        if !self.derive.is_empty() {
            let exprs = self
                .derive
                .iter()
                .map(|(name, e)| Ok(polars::sql::sql_expr(&e.value)?.alias(name.as_str())))
                .collect::<PolarsResult<Vec<_>>>()?;
            lf = lf.with_columns(exprs);
        }
        if let Some(columns) = &self.columns {
            lf = lf.select(columns.iter().map(|c| col(c.as_str())).collect::<Vec<_>>());
        }
        if !self.rename.is_empty() {
            lf = lf.rename(self.rename.keys(), self.rename.values(), true);
        }
        Ok(lf)
    }
}
