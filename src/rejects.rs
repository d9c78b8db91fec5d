//! The rejects table: every row that did not make it through, with where it came from
//! and why. Written as `rejects.parquet` and as a sheet of the workbook.

use polars::prelude::*;

pub const ROW_COLUMN: &str = "row";
pub const RECORD: &str = "record";

/// Where rejects come from: the stage, and for loads the source name and file.
#[derive(Debug, Clone)]
pub struct Origin {
    pub stage: String,
    pub source: String,
    pub file: String,
}

/// The columns of one reject entry, in the table's order.
pub fn entry(
    origin: &Origin,
    row: Expr,
    column: Option<&str>,
    value: Expr,
    reason: Expr,
    detail: Expr,
    record: Expr,
) -> Vec<Expr> {
    let text = |s: &str| lit(s.to_string());
    vec![
        text(&origin.stage).alias("stage"),
        text(&origin.source).alias("source"),
        text(&origin.file).alias("file"),
        row.cast(DataType::UInt64).alias(ROW_COLUMN),
        column.map_or(lit(NULL).cast(DataType::String), text).alias("column"),
        value.cast(DataType::String).alias("value"),
        reason.cast(DataType::String).alias("reason"),
        detail.cast(DataType::String).alias("detail"),
        record.cast(DataType::String).alias(RECORD),
    ]
}

/// A whole row as text, `column=value; …`, from (name, value) pairs.
pub fn record<'a>(columns: impl IntoIterator<Item = (&'a str, Expr)>) -> Expr {
    let parts: Vec<Expr> = columns
        .into_iter()
        .map(|(name, value)| {
            concat_str([lit(format!("{name}=")), value.cast(DataType::String).fill_null(lit(""))], "", false)
        })
        .collect();
    concat_str(parts, "; ", false)
}

pub fn schema() -> Schema {
    let text = ["stage", "source", "file"].map(|n| (n.into(), DataType::String));
    let rest = ["column", "value", "reason", "detail", RECORD].map(|n| (n.into(), DataType::String));
    text.into_iter().chain([(ROW_COLUMN.into(), DataType::UInt64)]).chain(rest).collect()
}

pub fn empty() -> DataFrame {
    DataFrame::empty_with_schema(&schema())
}

/// Reject counts by reason, for the manifest and summary.
pub fn by_reason(rejects: &DataFrame) -> PolarsResult<Vec<(String, u64)>> {
    let counts = rejects
        .clone()
        .lazy()
        .group_by([col("reason")])
        .agg([len().cast(DataType::UInt64).alias("n")])
        .sort(["reason"], Default::default())
        .collect()?;
    let reasons = counts.column("reason")?.str()?.clone();
    let n = counts.column("n")?.u64()?.clone();
    Ok(reasons.iter().zip(n.iter()).map(|(r, n)| (r.unwrap_or("").to_string(), n.unwrap_or(0))).collect())
}
