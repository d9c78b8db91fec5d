//! RFM scores and the status rules.
//!
//! A score is `1 + ⌊5 × s⌋`, where `s` is the share of the customers who bought
//! (prospects are not scored) that are strictly worse: a lower frequency or amount,
//! a longer time since the last purchase. Customers tied on a value share its score;
//! so where many tie, some scores are given to no one rather than tied customers being
//! split at random, and the stage warns which scores are empty.

use polars::prelude::*;
use serde_json::{Value, json};

use super::Activity;
use super::features::TXN_COUNT_ALL;
use crate::stages::{Finding, Severity};

pub const COLUMNS: [&str; 5] = ["r_score", "f_score", "m_score", "rfm_code", "status"];
const STATUS: &str = "status";

pub fn scores(a: &Activity, lf: LazyFrame) -> LazyFrame {
    let bought = col(TXN_COUNT_ALL).gt(lit(0u32));
    let score = |column: &str, lower_is_better: bool| {
        let value = when(bought.clone()).then(col(column)).otherwise(lit(NULL));
        let options = RankOptions { method: RankMethod::Min, descending: lower_is_better };
        let worse = value.clone().rank(options, None).cast(DataType::Float64) - lit(1.0);
        let share = worse / value.count().cast(DataType::Float64);
        (lit(1.0) + (share * lit(5.0)).floor()).cast(DataType::Int32)
    };
    let [r, f, m] = &a.rfm;
    let scored = [score(&r.value, true), score(&f.value, false), score(&m.value, false)];
    let code = concat_str(scored.iter().map(|s| s.clone().cast(DataType::String)).collect::<Vec<_>>(), "", false);
    lf.with_columns(scored.iter().zip(COLUMNS).map(|(s, name)| s.clone().alias(name)).collect::<Vec<_>>())
        .with_column(code.alias(COLUMNS[3]))
}

/// The first status rule that holds; null when none does.
pub fn status(a: &Activity, lf: LazyFrame) -> LazyFrame {
    let unmatched = lit(NULL).cast(DataType::String);
    let chosen = a.status.iter().rev().fold(unmatched, |otherwise, (name, rule)| {
        when(rule.expr.clone()).then(lit(name.clone())).otherwise(otherwise)
    });
    lf.with_column(chosen.alias(STATUS))
}

/// Counts for the manifest, and warnings: empty RFM scores, customers no status rule
/// named, documents after the as-of date.
pub fn report(a: &Activity, table: &DataFrame, later: u64) -> PolarsResult<(Value, Vec<Finding>)> {
    let mut findings = Vec::new();
    let bought = table.column(TXN_COUNT_ALL)?.u32()?.iter().filter(|n| n.is_some_and(|n| n > 0)).count();
    let mut empty_scores = serde_json::Map::new();
    for ((name, column), letter) in COLUMNS[..3].iter().zip(&a.rfm).zip(["R", "F", "M"]) {
        let given = table.column(name)?.i32()?;
        let empty: Vec<i32> = (1..=5).filter(|s| bought > 0 && !given.iter().any(|g| g == Some(*s))).collect();
        if !empty.is_empty() {
            let message = format!(
                "{letter} scores {empty:?} are given to no customer: customers tied on {} share a score, and so many \
                 tie that the five groups are not filled",
                column.value
            );
            findings.push(Finding::new(Severity::Warn, "rfm_scores_empty", message));
        }
        empty_scores.insert(letter.to_string(), json!(empty));
    }
    let statuses = table.column(STATUS)?.str()?;
    let mut by_status = serde_json::Map::new();
    for (name, _) in &a.status {
        by_status.insert(name.clone(), json!(statuses.iter().filter(|s| *s == Some(name.as_str())).count()));
    }
    let unmatched = statuses.null_count();
    if unmatched > 0 && !a.status.is_empty() {
        let message = format!("{unmatched} customers match no status rule; end the rules with one that always holds");
        findings.push(Finding::new(Severity::Warn, "status_unmatched", message));
    }
    if later > 0 {
        let message = format!("{later} documents are dated after the as-of date and are left out");
        findings.push(Finding::new(Severity::Info, "documents_after_as_of", message));
    }
    let report = json!({
        "customers": table.height(),
        "buyers": bought,
        "prospects": table.height() - bought,
        "by_status": by_status,
        "status_unmatched": unmatched,
        "rfm_empty_scores": empty_scores,
        "documents_after_as_of": later,
    });
    Ok((report, findings))
}
