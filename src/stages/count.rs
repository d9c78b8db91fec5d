//! `count`: customer counts grouped by any columns, with a total row, the core of a
//! customer-count inventory (客户数量盘点).

use polars::prelude::*;
use serde::Deserialize;

use super::Stage;
use crate::config::yaml::Doc;
use crate::diag::Diagnostic;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountConfig {
    pub input: String,
    pub output: String,
    /// Group columns; the output has one row per combination, sorted.
    pub by: Vec<String>,
    /// Count distinct values of this column (e.g. `customer_id`) instead of rows.
    #[serde(default)]
    pub distinct: Option<String>,
    /// Name of the count column.
    #[serde(default = "default_count_column")]
    pub count_column: String,
    /// Label of the appended total row, in the first group column; no total row when null.
    #[serde(default = "default_total")]
    pub total: Option<String>,
}

fn default_count_column() -> String {
    "customers".to_string()
}

fn default_total() -> Option<String> {
    Some("Total".to_string())
}

impl CountConfig {
    fn count_expr(&self) -> Expr {
        let count = match &self.distinct {
            // Nulls are not customers: n_unique would count null as one value.
            Some(c) => col(c.as_str()).drop_nulls().n_unique(),
            None => len(),
        };
        count.cast(DataType::UInt64).alias(self.count_column.as_str())
    }
}

impl Stage for CountConfig {
    fn inputs(&self) -> Vec<&str> {
        vec![&self.input]
    }

    fn output(&self) -> &str {
        &self.output
    }

    fn validate(&self, doc: &Doc, at: &serde_saphyr::Location) -> Vec<Diagnostic> {
        if self.by.is_empty() {
            return vec![doc.at(at, format!("count '{}': `by` needs at least one column", self.output))];
        }
        Vec::new()
    }

    fn plan(&self, mut inputs: Vec<LazyFrame>) -> PolarsResult<LazyFrame> {
        let lf = inputs.remove(0);
        let keys: Vec<Expr> = self.by.iter().map(|c| col(c.as_str()).cast(DataType::String)).collect();
        let groups = lf.clone().group_by(keys).agg([self.count_expr()]).sort(
            self.by.iter().map(String::as_str).collect::<Vec<_>>(),
            SortMultipleOptions::default().with_nulls_last(true),
        );
        let Some(label) = &self.total else { return Ok(groups) };
        let mut total_columns: Vec<Expr> = self
            .by
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let value = if i == 0 { lit(label.as_str()) } else { lit(NULL).cast(DataType::String) };
                value.alias(c.as_str())
            })
            .collect();
        total_columns.push(self.count_expr());
        let total = lf.select(total_columns);
        concat([groups, total], UnionArgs { rechunk: false, ..Default::default() })
    }
}
