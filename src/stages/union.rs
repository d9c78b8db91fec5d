//! `union`: stacks tables that describe the same thing (e.g. ERP and CRM customer lists).
//! Columns are matched by name; a column missing from one input is null there.

use polars::prelude::*;
use serde::Deserialize;

use super::Stage;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnionConfig {
    /// Tables to stack, in order.
    pub inputs: Vec<String>,
    pub output: String,
}

impl Stage for UnionConfig {
    fn inputs(&self) -> Vec<&str> {
        self.inputs.iter().map(String::as_str).collect()
    }

    fn output(&self) -> &str {
        &self.output
    }

    fn plan(&self, inputs: Vec<LazyFrame>) -> PolarsResult<LazyFrame> {
        concat_lf_diagonal(inputs, UnionArgs { rechunk: false, ..Default::default() })
    }
}
