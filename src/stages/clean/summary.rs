//! What cleaning did, per column: values seen, changed, emptied, failed, and the most
//! common failures with examples. Goes to the manifest and to an `<output>_cleaning` sheet.

use polars::prelude::*;
use serde::Serialize;

use super::{Clean, error_name, raw_name};

/// How many failure reasons, and examples of each, are listed.
const TOP_REASONS: usize = 5;
const EXAMPLES: usize = 3;

#[derive(Debug, Serialize)]
struct ColumnSummary {
    column: String,
    normalize: String,
    values: u64,
    changed: u64,
    emptied: u64,
    failed: u64,
    failures: Vec<Failure>,
}

#[derive(Debug, Serialize)]
struct Failure {
    reason: String,
    count: u64,
    examples: Vec<String>,
}

pub fn summarize(config: &Clean, full: &DataFrame) -> PolarsResult<(DataFrame, serde_json::Value)> {
    let mut summaries = Vec::new();
    let schema = full.schema();
    // All columns' counts in one pass over the frame.
    let counts = full
        .clone()
        .lazy()
        .select(
            config
                .columns
                .keys()
                .flat_map(|name| {
                    let (raw, value) = comparable(name, schema);
                    let present = raw.clone().is_not_null();
                    let changed = present.clone().and(value.clone().is_not_null()).and(value.clone().neq(raw));
                    [
                        present.clone().sum().alias(format!("{name}/values")),
                        changed.sum().alias(format!("{name}/changed")),
                        present.and(value.is_null()).sum().alias(format!("{name}/emptied")),
                        col(error_name(name)).is_not_null().sum().alias(format!("{name}/failed")),
                    ]
                })
                .collect::<Vec<_>>(),
        )
        .collect()?;
    for (name, cc) in &config.columns {
        let raw = col(raw_name(name)).cast(DataType::String);
        let error = col(error_name(name));
        let n = |c: &str| -> PolarsResult<u64> {
            Ok(counts.column(&format!("{name}/{c}"))?.cast(&DataType::UInt64)?.u64()?.get(0).unwrap_or(0))
        };
        summaries.push(ColumnSummary {
            column: name.clone(),
            normalize: cc.normalize.value.name().to_string(),
            values: n("values")?,
            changed: n("changed")?,
            emptied: n("emptied")?,
            failed: n("failed")?,
            failures: failures(full, raw, error)?,
        });
    }
    let flags: Vec<(String, u64)> = config
        .flags
        .iter()
        .map(|(f, _)| Ok((f.clone(), full.column(f)?.bool()?.sum().unwrap_or(0) as u64)))
        .collect::<PolarsResult<_>>()?;
    let table = df! {
        "column" => summaries.iter().map(|s| s.column.as_str()).collect::<Vec<_>>(),
        "normalize" => summaries.iter().map(|s| s.normalize.as_str()).collect::<Vec<_>>(),
        "values" => summaries.iter().map(|s| s.values).collect::<Vec<_>>(),
        "changed" => summaries.iter().map(|s| s.changed).collect::<Vec<_>>(),
        "emptied" => summaries.iter().map(|s| s.emptied).collect::<Vec<_>>(),
        "failed" => summaries.iter().map(|s| s.failed).collect::<Vec<_>>(),
        "top_failures" => summaries.iter().map(|s| describe(&s.failures)).collect::<Vec<_>>(),
    }?;
    let report = serde_json::json!({ "columns": summaries, "flags": flags.into_iter().map(|(f, n)| (f, n.into())).collect::<serde_json::Map<_, _>>() });
    Ok((table, report))
}

/// The raw and the cleaned value of a column, as what a person compares: their text,
/// or, for two decimals of the same scale, their numbers (which compare as their text
/// does, without printing 35 million amounts twice).
fn comparable(name: &str, schema: &Schema) -> (Expr, Expr) {
    let (raw, value) = (col(raw_name(name)), col(name));
    match (schema.get(&raw_name(name)), schema.get(name)) {
        (Some(DataType::Decimal(_, a)), Some(DataType::Decimal(_, b))) if a == b => {
            let wide = DataType::Decimal(38, *a);
            (raw.cast(wide.clone()), value.cast(wide))
        }
        _ => (raw.cast(DataType::String), value.cast(DataType::String)),
    }
}

/// The most common failure codes of a column, each with a few distinct raw values.
fn failures(full: &DataFrame, raw: Expr, error: Expr) -> PolarsResult<Vec<Failure>> {
    let top = full
        .clone()
        .lazy()
        .filter(error.clone().is_not_null())
        .group_by([error.clone().alias("reason")])
        .agg([len().cast(DataType::UInt64).alias("count"), raw.unique_stable().head(Some(EXAMPLES)).alias("examples")])
        .sort_by_exprs(
            [col("count"), col("reason")],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .limit(TOP_REASONS as IdxSize)
        .collect()?;
    let reasons = top.column("reason")?.str()?;
    let counts = top.column("count")?.u64()?;
    let examples = top.column("examples")?.list()?;
    Ok((0..top.height())
        .map(|i| Failure {
            reason: reasons.get(i).unwrap_or_default().to_string(),
            count: counts.get(i).unwrap_or(0),
            examples: examples
                .get_as_series(i)
                .map(|s| s.str().map(|s| s.iter().flatten().map(String::from).collect()).unwrap_or_default())
                .unwrap_or_default(),
        })
        .collect())
}

fn describe(failures: &[Failure]) -> String {
    failures
        .iter()
        .map(|f| format!("{} {} (e.g. {})", f.reason, f.count, f.examples.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}
