//! The tier stage's parts: aging joined, credit grades moved from the previous run's,
//! quantile tiers, and the changes since the previous run.

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use serde_json::{Value, json};

use super::{AGING_COLUMNS, CreditConfig, GRADE, GRADE_REASON, GRADE_SINCE, TIER, Tier};
use crate::stages::Sql;

fn text() -> DataType {
    DataType::String
}

fn null_text() -> Expr {
    lit(NULL).cast(text())
}

/// The customers with their aging; one who owes nothing has zeros.
pub fn with_aging(tier: &Tier, customers: LazyFrame, aging: LazyFrame) -> LazyFrame {
    let key = tier.config.key.as_str();
    let mut kept = vec![col(key).cast(text())];
    kept.extend(AGING_COLUMNS.map(col));
    let mut args = JoinArgs::new(JoinType::Left);
    args.maintain_order = MaintainOrderJoin::Left;
    // On the key column itself, so that the joins keep one key column.
    let customers = customers.with_column(col(key).cast(text()));
    let joined = customers.join(aging.select(kept), [col(key)], [col(key)], args);
    let money = DataType::Decimal(crate::values::MONEY_PRECISION, 2);
    joined.with_columns([
        col("open_amount").fill_null(lit(0).cast(money.clone())),
        col("overdue_amount").fill_null(lit(0).cast(money.clone())),
        col("max_days_overdue").fill_null(lit(0)),
        col("unapplied_credit").fill_null(lit(0).cast(money)),
        col("on_time_months").fill_null(lit(0u32)),
    ])
}

/// The previous run's grades, by key; nulls where it kept none.
pub fn previous(tier: &Tier, table: DataFrame) -> PolarsResult<LazyFrame> {
    let key = tier.config.key.as_str();
    let kept = |c: &str, t: DataType| if table.column(c).is_ok() { col(c).cast(t) } else { lit(NULL).cast(t) };
    let columns = [
        col(key).cast(text()),
        kept(GRADE, text()).alias("__prev_grade"),
        kept(GRADE_SINCE, DataType::Date).alias("__prev_since"),
        kept(GRADE_REASON, text()).alias("__prev_reason"),
    ];
    Ok(table.lazy().select(columns))
}

/// A grade's place, best first; null for a grade not in the list.
fn place(grades: &[String], grade: Expr) -> Expr {
    grades.iter().enumerate().rev().fold(lit(NULL).cast(DataType::Int32), |other, (i, g)| {
        when(grade.clone().eq(lit(g.clone()))).then(lit(i as i32)).otherwise(other)
    })
}

fn named(grades: &[String], place: Expr) -> Expr {
    grades
        .iter()
        .enumerate()
        .rev()
        .fold(null_text(), |other, (i, g)| when(place.clone().eq(lit(i as i32))).then(lit(g.clone())).otherwise(other))
}

fn month_number(date: NaiveDate) -> i32 {
    date.year() * 12 + date.month() as i32
}

/// Each customer's grade: `initial` on a first run and for a customer new since the
/// previous run; otherwise the previous grade, one step worse when the downgrade rule
/// holds (at most once a month while it keeps holding), one step better after enough
/// on-time months since the grade last changed.
pub fn credit(
    tier: &Tier,
    credit: &CreditConfig,
    rule: &Sql,
    lf: LazyFrame,
    previous: Option<LazyFrame>,
    as_of: NaiveDate,
) -> LazyFrame {
    let grades = &credit.grades;
    let today = lit(as_of).cast(DataType::Date);
    let Some(previous) = previous else {
        return lf.with_columns([
            lit(credit.initial.clone()).alias(GRADE),
            today.alias(GRADE_SINCE),
            lit("initial").alias(GRADE_REASON),
        ]);
    };
    let key = tier.config.key.as_str();
    let mut args = JoinArgs::new(JoinType::Left);
    args.maintain_order = MaintainOrderJoin::Left;
    let joined = lf.join(previous, [col(key)], [col(key)], args);

    let initial = grades.iter().position(|g| *g == credit.initial).expect("checked at build") as i32;
    let worst = grades.len() as i32 - 1;
    let was = place(grades, col("__prev_grade"));
    let new = was.clone().is_null();
    let since = col("__prev_since");
    let months = lit(month_number(as_of))
        - (since.clone().dt().year() * lit(12) + since.clone().dt().month().cast(DataType::Int32));
    let just_lowered =
        col("__prev_reason").str().starts_with(lit("downgrade")).and(months.clone().lt(lit(1))).fill_null(false);
    let down = rule
        .expr
        .clone()
        .fill_null(false)
        .and(just_lowered.not())
        .and(was.clone().lt(lit(worst)))
        .and(new.clone().not());
    let on_time = col("on_time_months").cast(DataType::Int64);
    let enough = lit(credit.upgrade_after_on_time_months as i64);
    let up = on_time.gt_eq(enough.clone()).and(months.cast(DataType::Int64).gt_eq(enough)).and(was.clone().gt(lit(0)));
    let up = up.and(down.clone().not()).and(new.clone().not()).fill_null(false);
    let moved = new.clone().or(down.clone()).or(up.clone());
    let to = when(new.clone())
        .then(lit(initial))
        .when(down.clone())
        .then(was.clone() + lit(1))
        .when(up.clone())
        .then(was.clone() - lit(1))
        .otherwise(was);
    let reason = when(new)
        .then(lit("initial"))
        .when(down)
        .then(lit(format!("downgrade: {}", credit.downgrade_when.value)))
        .when(up)
        .then(lit(format!("upgrade: {} on-time months", credit.upgrade_after_on_time_months)))
        .otherwise(col("__prev_reason"));
    joined
        .with_columns([
            named(grades, to).alias(GRADE),
            when(moved).then(today).otherwise(since).alias(GRADE_SINCE),
            reason.alias(GRADE_REASON),
        ])
        .drop(cols(["__prev_grade", "__prev_since", "__prev_reason"]))
}

/// High, mid or low by the share of customers with a positive value that are below
/// the customer's (ties share a tier); a customer without one is low.
pub fn quantile_tiers(tier: &Tier) -> Vec<Expr> {
    let cuts = &tier.config.cuts;
    tier.config
        .quantile_tiers
        .iter()
        .map(|(name, value)| {
            let v = col(value.value.as_str()).cast(DataType::Float64);
            let scored = when(v.clone().gt(lit(0.0))).then(v).otherwise(lit(NULL));
            let below = scored.clone().rank(RankOptions { method: RankMethod::Min, descending: false }, None);
            let share = (below.cast(DataType::Float64) - lit(1.0)) / scored.clone().count().cast(DataType::Float64);
            when(scored.is_null())
                .then(lit("low"))
                .when(share.clone().gt_eq(lit(cuts.high)))
                .then(lit("high"))
                .when(share.gt_eq(lit(cuts.mid)))
                .then(lit("mid"))
                .otherwise(lit("low"))
                .alias(name.as_str())
        })
        .collect()
}

pub fn changes_schema(key: &str) -> Schema {
    let mut schema: Schema =
        [key, "attribute", "from", "to", "reason"].into_iter().map(|c| (c.into(), text())).collect();
    schema.insert("as_of".into(), DataType::Date);
    schema
}

/// One row per customer and attribute (tier, grade, quantile tier) that differs from
/// the previous run's; a customer new since then has no row.
pub fn changes(
    tier: &Tier,
    table: &DataFrame,
    previous: Option<&DataFrame>,
    as_of: NaiveDate,
) -> PolarsResult<DataFrame> {
    let key = tier.config.key.as_str();
    let Some(previous) = previous else { return Ok(DataFrame::empty_with_schema(&changes_schema(key))) };
    let mut tracked: Vec<(String, Expr)> = Vec::new();
    if !tier.rules.is_empty() {
        tracked.push((TIER.into(), lit("rules")));
    }
    if tier.config.credit.is_some() {
        tracked.push((GRADE.into(), col(GRADE_REASON)));
    }
    for (name, value) in &tier.config.quantile_tiers {
        tracked.push((name.clone(), lit(format!("by {}", value.value))));
    }
    let mut parts = Vec::new();
    for (attribute, reason) in tracked.into_iter().filter(|(a, _)| previous.column(a).is_ok()) {
        let before =
            previous.clone().lazy().select([col(key).cast(text()), col(attribute.as_str()).cast(text()).alias("from")]);
        let now = table.clone().lazy().select([
            col(key).cast(text()),
            col(attribute.as_str()).cast(text()).alias("to"),
            reason.alias("reason"),
        ]);
        let joined = now.join(before, [col(key)], [col(key)], JoinArgs::new(JoinType::Inner));
        parts.push(joined.filter(col("from").neq_missing(col("to"))).select([
            col(key),
            lit(attribute.clone()).alias("attribute"),
            col("from"),
            col("to"),
            col("reason").cast(text()),
            lit(as_of).cast(DataType::Date).alias("as_of"),
        ]));
    }
    if parts.is_empty() {
        return Ok(DataFrame::empty_with_schema(&changes_schema(key)));
    }
    concat(parts, UnionArgs::default())?.sort([key, "attribute"], SortMultipleOptions::default()).collect()
}

/// Counts per tier and grade, and of changes by attribute, for the manifest.
pub fn report(tier: &Tier, table: &DataFrame, changes: &DataFrame, has_previous: bool) -> PolarsResult<Value> {
    let mut by_column = serde_json::Map::new();
    let columns =
        tier.config.quantile_tiers.keys().cloned().chain(tier.config.credit.as_ref().map(|_| GRADE.to_string()));
    for column in columns.chain((!tier.rules.is_empty()).then(|| TIER.to_string())) {
        by_column.insert(column.clone(), counts(table, &column)?);
    }
    Ok(json!({
        "customers": table.height(),
        "counts": by_column,
        "first_run": !has_previous,
        "changes": changes.height(),
        "changes_by_attribute": counts(changes, "attribute")?,
    }))
}

/// Rows per value of `column`, by value.
fn counts(table: &DataFrame, column: &str) -> PolarsResult<Value> {
    let counted = table
        .clone()
        .lazy()
        .group_by([col(column).cast(text())])
        .agg([len().alias("n")])
        .sort([column], Default::default())
        .collect()?;
    let names = counted.column(column)?.str()?.iter().map(|n| n.unwrap_or("(none)").to_string()).collect::<Vec<_>>();
    let n = counted.column("n")?.idx()?.iter().map(|n| json!(n.unwrap_or(0))).collect::<Vec<_>>();
    Ok(Value::Object(names.into_iter().zip(n).collect()))
}
