//! `filter`: keeps the rows in scope, by a SQL predicate such as
//! `category IN ('成单客户','潜在客户') AND NOT invalid`.

use polars::prelude::*;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Stage, sql};
use crate::config::yaml::Doc;
use crate::diag::Diagnostic;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    pub input: String,
    pub output: String,
    /// SQL predicate; rows where it is true are kept (false and null are dropped).
    #[serde(rename = "where")]
    pub predicate: Spanned<String>,
}

impl Stage for FilterConfig {
    fn inputs(&self) -> Vec<&str> {
        vec![&self.input]
    }

    fn output(&self) -> &str {
        &self.output
    }

    fn validate(&self, doc: &Doc, _at: &serde_saphyr::Location) -> Vec<Diagnostic> {
        sql(doc, &self.predicate).err().into_iter().collect()
    }

    fn plan(&self, mut inputs: Vec<LazyFrame>) -> PolarsResult<LazyFrame> {
        let predicate = polars::sql::sql_expr(&self.predicate.value)?;
        Ok(inputs.remove(0).filter(predicate))
    }
}
