//! What cleaning did, per column: values seen, changed, emptied, failed, and the most
//! common failures with examples. Goes to the manifest and to an `<output>_cleaning` sheet.
//! Tallied per batch and added up, so a stream of batches reports what one table would.

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

/// One count of what cleaning did: a column's `values`, `changed`, `emptied` or
/// `failed`, a `failure` reason's with its first examples, or a `flag`'s rows.
struct Tally {
    column: String,
    what: &'static str,
    reason: Option<String>,
    count: u64,
    examples: Vec<String>,
}

const MEASURES: [&str; 4] = ["values", "changed", "emptied", "failed"];

/// What cleaning did to one batch (or all rows), as a frame of tallies that
/// [`merge`] adds up and [`summarize`] reports.
pub fn tally(config: &Clean, full: &DataFrame) -> PolarsResult<DataFrame> {
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
                        present.clone().sum(),
                        changed.sum(),
                        present.and(value.is_null()).sum(),
                        col(error_name(name)).is_not_null().sum(),
                    ]
                    .into_iter()
                    .zip(MEASURES)
                    .map(move |(e, m)| e.cast(DataType::UInt64).alias(format!("{name}/{m}")))
                })
                .collect::<Vec<_>>(),
        )
        .collect()?;
    let mut tallies = Vec::new();
    for name in config.columns.keys() {
        for what in MEASURES {
            let count = counts.column(&format!("{name}/{what}"))?.u64()?.get(0).unwrap_or(0);
            tallies.push(Tally { column: name.clone(), what, reason: None, count, examples: Vec::new() });
        }
        tallies.extend(failures(full, name)?);
    }
    for (flag, _) in &config.flags {
        let count = full.column(flag)?.bool()?.sum().unwrap_or(0) as u64;
        tallies.push(Tally { column: flag.clone(), what: "flag", reason: None, count, examples: Vec::new() });
    }
    to_frame(&tallies)
}

/// Batches' tallies as one: counts added, the first examples kept.
pub fn merge(partials: Vec<DataFrame>) -> PolarsResult<DataFrame> {
    let mut merged: Vec<Tally> = Vec::new();
    for t in partials.iter().map(from_frame).collect::<PolarsResult<Vec<_>>>()?.into_iter().flatten() {
        let same = merged.iter_mut().find(|m| (&m.column, m.what, &m.reason) == (&t.column, t.what, &t.reason));
        match same {
            Some(m) => {
                m.count += t.count;
                for e in t.examples {
                    if m.examples.len() < EXAMPLES && !m.examples.contains(&e) {
                        m.examples.push(e);
                    }
                }
            }
            None => merged.push(t),
        }
    }
    to_frame(&merged)
}

/// The summary sheet and the manifest's report, from the tallies of all rows.
pub fn summarize(config: &Clean, tallies: &DataFrame) -> PolarsResult<(DataFrame, serde_json::Value)> {
    let tallies = from_frame(tallies)?;
    let count =
        |column: &str, what: &str| tallies.iter().find(|t| t.column == column && t.what == what).map_or(0, |t| t.count);
    let mut summaries = Vec::new();
    for (name, cc) in &config.columns {
        let mut failures: Vec<Failure> = tallies
            .iter()
            .filter(|t| t.column == *name && t.what == "failure")
            .map(|t| Failure {
                reason: t.reason.clone().unwrap_or_default(),
                count: t.count,
                examples: t.examples.clone(),
            })
            .collect();
        failures.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
        failures.truncate(TOP_REASONS);
        summaries.push(ColumnSummary {
            column: name.clone(),
            normalize: cc.normalize.value.name().to_string(),
            values: count(name, "values"),
            changed: count(name, "changed"),
            emptied: count(name, "emptied"),
            failed: count(name, "failed"),
            failures,
        });
    }
    let flags: serde_json::Map<_, _> = config.flags.iter().map(|(f, _)| (f.clone(), count(f, "flag").into())).collect();
    let table = df! {
        "column" => summaries.iter().map(|s| s.column.as_str()).collect::<Vec<_>>(),
        "normalize" => summaries.iter().map(|s| s.normalize.as_str()).collect::<Vec<_>>(),
        "values" => summaries.iter().map(|s| s.values).collect::<Vec<_>>(),
        "changed" => summaries.iter().map(|s| s.changed).collect::<Vec<_>>(),
        "emptied" => summaries.iter().map(|s| s.emptied).collect::<Vec<_>>(),
        "failed" => summaries.iter().map(|s| s.failed).collect::<Vec<_>>(),
        "top_failures" => summaries.iter().map(|s| describe(&s.failures)).collect::<Vec<_>>(),
    }?;
    let report = serde_json::json!({ "columns": summaries, "flags": flags });
    Ok((table, report))
}

fn to_frame(tallies: &[Tally]) -> PolarsResult<DataFrame> {
    let total = tallies.iter().map(|t| t.examples.len()).sum();
    let mut examples = ListStringChunkedBuilder::new("examples".into(), tallies.len(), total);
    for t in tallies {
        examples.append_values_iter(t.examples.iter().map(String::as_str));
    }
    let mut frame = df! {
        "column" => tallies.iter().map(|t| t.column.as_str()).collect::<Vec<_>>(),
        "what" => tallies.iter().map(|t| t.what).collect::<Vec<_>>(),
        "reason" => tallies.iter().map(|t| t.reason.as_deref()).collect::<Vec<_>>(),
        "count" => tallies.iter().map(|t| t.count).collect::<Vec<_>>(),
    }?;
    frame.with_column(examples.finish().into_column())?;
    Ok(frame)
}

fn from_frame(frame: &DataFrame) -> PolarsResult<Vec<Tally>> {
    let (columns, whats, reasons) =
        (frame.column("column")?.str()?, frame.column("what")?.str()?, frame.column("reason")?.str()?);
    let (counts, examples) = (frame.column("count")?.u64()?, frame.column("examples")?.list()?);
    (0..frame.height())
        .map(|i| {
            let what = whats.get(i).unwrap_or_default();
            let what = MEASURES.into_iter().chain(["failure", "flag"]).find(|w| *w == what);
            Ok(Tally {
                column: columns.get(i).unwrap_or_default().to_string(),
                what: what.ok_or_else(|| polars_err!(ComputeError: "unknown tally"))?,
                reason: reasons.get(i).map(String::from),
                count: counts.get(i).unwrap_or(0),
                examples: texts(examples, i)?,
            })
        })
        .collect()
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

/// A column's failure codes, each with its first few distinct raw values.
fn failures(full: &DataFrame, name: &str) -> PolarsResult<Vec<Tally>> {
    let (raw, error) = (col(raw_name(name)).cast(DataType::String), col(error_name(name)));
    let found = full
        .clone()
        .lazy()
        .filter(error.clone().is_not_null())
        .group_by([error.alias("reason")])
        .agg([len().cast(DataType::UInt64).alias("count"), raw.unique_stable().head(Some(EXAMPLES)).alias("examples")])
        .collect()?;
    let reasons = found.column("reason")?.str()?;
    let counts = found.column("count")?.u64()?;
    let examples = found.column("examples")?.list()?;
    (0..found.height())
        .map(|i| {
            Ok(Tally {
                column: name.to_string(),
                what: "failure",
                reason: reasons.get(i).map(String::from),
                count: counts.get(i).unwrap_or(0),
                examples: texts(examples, i)?,
            })
        })
        .collect()
}

/// The texts of a list cell.
fn texts(list: &ListChunked, i: usize) -> PolarsResult<Vec<String>> {
    match list.get_as_series(i) {
        Some(s) => Ok(s.str()?.iter().flatten().map(String::from).collect()),
        None => Ok(Vec::new()),
    }
}

fn describe(failures: &[Failure]) -> String {
    failures
        .iter()
        .map(|f| format!("{} {} (e.g. {})", f.reason, f.count, f.examples.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}
