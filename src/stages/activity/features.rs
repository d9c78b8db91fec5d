//! The features, as one lazy plan: invoices net of their credit notes, aggregated
//! per customer and window, joined to every customer.
//!
//! Dates are compared as day numbers. A window of W days ending on the as-of date
//! holds the days after `as_of - W`, up to and including `as_of`.

use chrono::NaiveDate;
use polars::prelude::*;

use super::Activity;
use crate::stages::ledger::columns::DOC_DATE;
use crate::stages::ledger::{
    APPLIES_TO_ENTRY, BASE_AMOUNT, CREDIT_NOTE, ENTRY, INVOICE, KIND, MASTER, applied_cents, by_entry,
};
use crate::values::{cents, from_cents, sum_where};

pub const DAYS_SINCE_LAST: &str = "days_since_last_txn";
pub const TXN_COUNT_ALL: &str = "txn_count_all";
pub const AS_OF: &str = "as_of";
/// The repeat-purchase summary, named as lifetimes names it, so that the table can be
/// handed to its fitters as it is.
pub const SUMMARY: [&str; 4] = ["frequency", "recency", "T", "monetary_value"];

/// Per window: purchases, purchase days, and gross, credit-note, net and average
/// amounts.
const PER_WINDOW: [&str; 6] = ["txn_count", "txn_days", "gross_amount", "red_amount", "net_amount", "avg_order_value"];
const DATES: [&str; 4] = ["first_txn_date", "last_txn_date", DAYS_SINCE_LAST, "tenure_days"];

/// The windows' labels (`90d` …, then `all`) and their lengths in days.
fn windows(a: &Activity) -> Vec<(String, Option<u32>)> {
    a.windows.iter().map(|w| (w.label(), Some(w.0))).chain([("all".to_string(), None)]).collect()
}

/// Every column the stage adds to the customers', in order.
pub fn computed(a: &Activity) -> Vec<String> {
    let windowed = windows(a).into_iter().flat_map(|(w, _)| PER_WINDOW.map(|f| format!("{f}_{w}")));
    let rest = DATES.iter().chain(&SUMMARY).chain(&super::rfm::COLUMNS).chain(&[AS_OF]).map(|c| c.to_string());
    let model = a.bgnbd.iter().flat_map(|b| b.columns());
    windowed.chain(rest).chain(model).collect()
}

fn day_number(date: NaiveDate) -> i32 {
    (date - NaiveDate::default()).num_days() as i32
}

fn day(column: &str) -> Expr {
    col(column).cast(DataType::Int32)
}

/// Documents dated after the as-of date: not yet happened as of it.
pub fn later_documents(ledger: &DataFrame, as_of: NaiveDate) -> PolarsResult<u64> {
    let later = ledger.clone().lazy().filter(day(DOC_DATE).gt(lit(day_number(as_of)))).select([len()]).collect()?;
    Ok(later.column("len")?.idx()?.get(0).unwrap_or(0) as u64)
}

pub fn plan(a: &Activity, customers: LazyFrame, ledger: LazyFrame, as_of: NaiveDate) -> PolarsResult<LazyFrame> {
    let today = day_number(as_of);
    let documents = ledger.filter(day(DOC_DATE).lt_eq(lit(today)));
    let of_kind = |kind: &str, entry: &str| {
        documents.clone().filter(col(KIND).eq(lit(kind))).select([
            col(MASTER),
            col(entry).alias("__entry"),
            day(DOC_DATE).alias("__day"),
            cents(col(BASE_AMOUNT)).alias("__cents"),
        ])
    };
    let reds = of_kind(CREDIT_NOTE, APPLIES_TO_ENTRY);
    let reversed = applied_cents(documents.clone(), CREDIT_NOTE)?;
    // An invoice is a purchase while its credit notes leave some of it.
    let invoices = of_kind(INVOICE, ENTRY)
        .with_column((col("__cents") + by_entry(reversed, "__entry")).alias("__net"))
        .with_column(col("__net").gt(lit(0i64)).alias("__purchase"));

    let within = |days: Option<u32>| days.map_or(lit(true), |w| col("__day").gt(lit(today - w as i32)));
    let mut bought = Vec::new();
    let mut credited = Vec::new();
    for (w, days) in windows(a) {
        let purchase = col("__purchase").and(within(days));
        bought.push(purchase.clone().sum().cast(DataType::UInt32).alias(format!("txn_count_{w}")));
        bought.push(col("__day").filter(purchase).n_unique().cast(DataType::UInt32).alias(format!("txn_days_{w}")));
        bought.push(sum_where(col("__cents"), within(days)).alias(format!("__gross_{w}")));
        credited.push(sum_where(col("__cents"), within(days)).alias(format!("__red_{w}")));
    }
    let purchase_day = || when(col("__purchase")).then(col("__day")).otherwise(lit(NULL).cast(DataType::Int32));
    let first_day = purchase_day().min();
    bought.extend([
        first_day.clone().alias("__first"),
        purchase_day().max().alias("__last"),
        sum_where(col("__net"), col("__purchase")).alias("__purchased"),
        sum_where(col("__net"), col("__purchase").and(col("__day").eq(first_day))).alias("__first_value"),
    ]);
    let per_customer = invoices.group_by([col(MASTER)]).agg(bought).join(
        reds.group_by([col(MASTER)]).agg(credited),
        [col(MASTER)],
        [col(MASTER)],
        JoinArgs::new(JoinType::Left),
    );

    let key = a.key.value.as_str();
    let mut args = JoinArgs::new(JoinType::Left);
    args.maintain_order = MaintainOrderJoin::Left;
    // On the key column itself, so that the join keeps one key column.
    let customers = customers.with_column(col(key).cast(DataType::String));
    let joined = customers.join(per_customer, [col(key)], [col(MASTER)], args);
    Ok(joined.with_columns(finished(a, today)).drop(cols(working(a))))
}

/// The output's feature columns from the per-customer aggregates; a customer who never
/// bought has counts and amounts of 0, and no dates or summary.
fn finished(a: &Activity, today: i32) -> Vec<Expr> {
    let mut columns = Vec::new();
    for (w, _) in windows(a) {
        let count = col(format!("txn_count_{w}")).fill_null(lit(0u32));
        let gross = col(format!("__gross_{w}")).fill_null(lit(0i64));
        let net = gross.clone() + col(format!("__red_{w}")).fill_null(lit(0i64));
        let average = (net.clone().cast(DataType::Float64) / count.clone().cast(DataType::Float64))
            .round(0, RoundMode::HalfAwayFromZero);
        columns.extend([
            count.clone().alias(format!("txn_count_{w}")),
            col(format!("txn_days_{w}")).fill_null(lit(0u32)).alias(format!("txn_days_{w}")),
            from_cents(gross).alias(format!("gross_amount_{w}")),
            from_cents(col(format!("__red_{w}")).fill_null(lit(0i64))).alias(format!("red_amount_{w}")),
            from_cents(net).alias(format!("net_amount_{w}")),
            from_cents(when(count.gt(lit(0u32))).then(average).otherwise(lit(NULL)))
                .alias(format!("avg_order_value_{w}")),
        ]);
    }
    // Customers who never bought (or whose invoices were all reversed) have none.
    let days = col("txn_days_all");
    let frequency = when(days.clone().gt(lit(0u32))).then(days.cast(DataType::Int64) - lit(1i64)).otherwise(lit(NULL));
    let monetary = (col("__purchased") - col("__first_value")).cast(DataType::Float64)
        / lit(100.0)
        / frequency.clone().cast(DataType::Float64);
    columns.extend([
        col("__first").cast(DataType::Date).alias("first_txn_date"),
        col("__last").cast(DataType::Date).alias("last_txn_date"),
        (lit(today) - col("__last")).alias(DAYS_SINCE_LAST),
        (lit(today) - col("__first")).alias("tenure_days"),
        frequency.clone().alias(SUMMARY[0]),
        (col("__last") - col("__first")).alias(SUMMARY[1]),
        (lit(today) - col("__first")).alias(SUMMARY[2]),
        when(frequency.clone().gt(lit(0i64)))
            .then(monetary)
            .when(frequency.is_not_null())
            .then(lit(0.0))
            .otherwise(lit(NULL))
            .alias(SUMMARY[3]),
        lit(today).cast(DataType::Date).alias(AS_OF),
    ]);
    columns
}

/// The working columns the output leaves out.
fn working(a: &Activity) -> Vec<String> {
    let windowed = windows(a).into_iter().flat_map(|(w, _)| [format!("__gross_{w}"), format!("__red_{w}")]);
    windowed.chain(["__first", "__last", "__purchased", "__first_value"].map(String::from)).collect()
}
