//! Receipts applied to invoices, and what is left aged, as lazy plans. FIFO is
//! vectorized: with each customer's invoices in date and number order, the receipts
//! left for an invoice are the customer's pool less the open amounts of the invoices
//! before it (a running sum), clamped between nothing and the invoice's own amount.

use chrono::{Months, NaiveDate};
use polars::prelude::*;
use serde_json::{Value, json};

use super::{Aging, Basis};
use crate::stages::ledger::columns::{DOC_DATE, DOC_NO, DUE_DATE};
use crate::stages::ledger::{BASE_AMOUNT, CREDIT_NOTE, ENTRY, INVOICE, KIND, MASTER, RECEIPT, applied_cents, by_entry};
use crate::stages::{Finding, Severity};
use crate::values::{cents, cents_text, from_cents, sum_where};

/// A dated document's amount in whole cents (see [`dated`]).
const CENTS: &str = "__amount";

pub const OPEN: &str = "open_amount";
pub const OVERDUE: &str = "overdue_amount";
pub const MAX_DAYS_OVERDUE: &str = "max_days_overdue";
pub const UNAPPLIED: &str = "unapplied_credit";
/// Consecutive months, ending with the as-of date's, at whose end the customer's
/// receipts to date covered every invoice due by then; counted from the first month
/// in which something had fallen due.
pub const ON_TIME_MONTHS: &str = "on_time_months";

fn day_number(date: NaiveDate) -> i32 {
    (date - NaiveDate::default()).num_days() as i32
}

fn day(column: &str) -> Expr {
    col(column).cast(DataType::Int32)
}

fn zero() -> Expr {
    lit(0i64)
}

/// The as-of date, then the last day of each month before it, `count` in all.
fn month_ends(as_of: NaiveDate, count: u32) -> Vec<i32> {
    let first = NaiveDate::from_ymd_opt(chrono::Datelike::year(&as_of), chrono::Datelike::month(&as_of), 1)
        .expect("the first of a month");
    let before = |k: u32| first.checked_sub_months(Months::new(k - 1)).and_then(|d| d.pred_opt());
    std::iter::once(Some(as_of)).chain((1..count).map(before)).flatten().map(day_number).collect()
}

/// Per customer, then per open invoice; with `materialize`, the invoices both read
/// are computed once, not once for each.
pub fn plan(
    aging: &Aging,
    ledger: LazyFrame,
    as_of: NaiveDate,
    materialize: bool,
) -> PolarsResult<(LazyFrame, LazyFrame)> {
    let mut invoices = invoices(aging, ledger.clone(), as_of)?;
    if materialize {
        invoices = invoices.collect()?.lazy();
    }
    Ok((customers(aging, invoices.clone(), ledger, as_of), items(aging, invoices)))
}

/// The documents dated on or before the as-of date, with their amounts in cents
/// ([`CENTS`]) computed before any grouping, where a function would run once per group.
fn dated(ledger: LazyFrame, as_of: NaiveDate) -> LazyFrame {
    ledger.filter(day(DOC_DATE).lt_eq(lit(day_number(as_of)))).with_column(cents(col(BASE_AMOUNT)).alias(CENTS))
}

/// Each invoice: its net after credit notes, what its own receipts and then the pool
/// paid, and what is open.
fn invoices(aging: &Aging, ledger: LazyFrame, as_of: NaiveDate) -> PolarsResult<LazyFrame> {
    let documents = dated(ledger, as_of);
    let terms = aging.config.default_terms.0 as i32;
    let amount = || col(CENTS);
    let is = |kind: &str| col(KIND).eq(lit(kind));
    let invoices = documents.clone().filter(is(INVOICE)).select([
        col(MASTER),
        col(ENTRY).alias("__entry"),
        col(DOC_NO).cast(DataType::String).alias("__doc"),
        day(DOC_DATE).alias("__day"),
        coalesce(&[day(DUE_DATE), day(DOC_DATE) + lit(terms)]).alias("__due"),
        day(DUE_DATE).is_null().alias("__assumed"),
        amount().alias("__cents"),
    ]);
    // What each invoice's own credit notes reversed and its own receipts paid: the
    // ledger has linked each to its invoice's entry.
    let reversed = applied_cents(documents.clone(), CREDIT_NOTE)?;
    let referenced = applied_cents(documents.clone(), RECEIPT)?;
    let received = documents.filter(is(RECEIPT)).group_by([col(MASTER)]).agg([amount().sum().alias("__received")]);
    let left = || JoinArgs::new(JoinType::Left);
    let by_reference = when(col("__referenced").lt(col("__net"))).then(col("__referenced")).otherwise(col("__net"));
    let invoices = invoices
        .join(received, [col(MASTER)], [col(MASTER)], left())
        .with_columns([
            (col("__cents") + by_entry(reversed, "__entry")).alias("__net"),
            by_entry(referenced, "__entry").alias("__referenced"),
        ])
        .with_column(by_reference.alias("__by_reference"))
        .with_column((col("__net") - col("__by_reference")).alias("__remaining"))
        // The oldest first (DOMAIN §7: date, due date, number); a window keeps this
        // order within each customer. Date and due date as one integer (the due date in
        // days after the date, below): sorting on the pair took 1.6 times as long.
        .with_column(
            (col("__day").cast(DataType::Int64) * lit(1i64 << 32)
                + (col("__due") - col("__day")).cast(DataType::Int64))
            .alias("__oldest"),
        )
        .sort(["__oldest", "__doc"], SortMultipleOptions::default());
    // The pool: every receipt of the customer's (a receipt naming an invoice dated after
    // the as-of date among them), less what paid invoices by reference.
    let pool = (col("__received").fill_null(zero()) - col("__by_reference").sum().over([col(MASTER)])?).alias("__pool");
    let before = (col("__remaining").cum_sum(false).over([col(MASTER)])? - col("__remaining")).alias("__before");
    let left_for_it = col("__pool") - col("__before");
    let from_pool = when(left_for_it.clone().lt_eq(zero()))
        .then(zero())
        .when(left_for_it.clone().gt_eq(col("__remaining")))
        .then(col("__remaining"))
        .otherwise(left_for_it);
    let basis = match aging.config.basis {
        Basis::DueDate => col("__due"),
        Basis::DocDate => col("__day"),
    };
    let today = day_number(as_of);
    Ok(invoices.with_columns([pool, before]).with_column(from_pool.alias("__from_pool")).with_columns([
        (col("__remaining") - col("__from_pool")).alias("__open"),
        (lit(today) - basis).alias("__age"),
        (lit(today) - col("__due")).alias("__overdue_days"),
    ]))
}

/// Each bucket's condition on an invoice's age, in the order of [`Aging::bucket_names`].
fn bucket_conditions(aging: &Aging) -> Vec<Expr> {
    let age = || col("__age");
    let bounds = &aging.config.buckets.value;
    let not_due = (aging.config.basis == Basis::DueDate).then(|| age().lt_eq(lit(0)));
    let first = if aging.config.basis == Basis::DueDate { 1 } else { i32::MIN };
    let lows = std::iter::once(first).chain(bounds.iter().map(|b| *b as i32 + 1));
    let ranges = lows.zip(bounds).map(|(low, high)| age().gt_eq(lit(low)).and(age().lt_eq(lit(*high as i32))));
    let over = age().gt(lit(bounds.last().copied().unwrap_or(0) as i32));
    not_due.into_iter().chain(ranges).chain([over]).collect()
}

fn customers(aging: &Aging, invoices: LazyFrame, ledger: LazyFrame, as_of: NaiveDate) -> LazyFrame {
    let ends = month_ends(as_of, aging.config.history_months);
    let open = || col("__open");
    let overdue = col("__overdue_days").gt(lit(0)).and(open().gt(zero()));
    let mut owed = vec![
        open().sum().alias("__open"),
        sum_where(open(), overdue.clone()).alias("__overdue"),
        when(overdue)
            .then(col("__overdue_days"))
            .otherwise(lit(NULL).cast(DataType::Int32))
            .max()
            .alias(MAX_DAYS_OVERDUE),
        open().gt(zero()).sum().cast(DataType::UInt32).alias("open_invoices"),
        col("__assumed").sum().cast(DataType::UInt32).alias("due_dates_assumed"),
        col("__remaining").sum().alias("__remaining"),
        col("__pool").first().alias("__pool"),
    ];
    let names = aging.bucket_names();
    owed.extend(bucket_conditions(aging).into_iter().zip(&names).map(|(c, n)| sum_where(open(), c).alias(n.as_str())));
    owed.extend(
        ends.iter()
            .enumerate()
            .map(|(k, e)| sum_where(col("__net"), col("__due").lt_eq(lit(*e))).alias(format!("__due_{k}"))),
    );
    let receipts = dated(ledger, as_of).filter(col(KIND).eq(lit(RECEIPT))).group_by([col(MASTER)]).agg(
        ends.iter()
            .enumerate()
            .map(|(k, e)| sum_where(col(CENTS), day(DOC_DATE).lt_eq(lit(*e))).alias(format!("__paid_{k}")))
            .chain([col(CENTS).sum().alias("__received")])
            .collect::<Vec<_>>(),
    );
    let mut args = JoinArgs::new(JoinType::Full);
    args.coalesce = JoinCoalesce::CoalesceColumns;
    let joined = invoices.group_by([col(MASTER)]).agg(owed).join(receipts, [col(MASTER)], [col(MASTER)], args);

    // On time in month k: something had fallen due, and receipts covered it.
    let on_time = |k: usize| {
        let due = col(format!("__due_{k}")).fill_null(zero());
        due.clone().gt(zero()).and(col(format!("__paid_{k}")).fill_null(zero()).gt_eq(due))
    };
    let streak = (0..ends.len())
        .rev()
        .fold(lit(ends.len() as u32), |longer, k| when(on_time(k).not()).then(lit(k as u32)).otherwise(longer));
    let pool = col("__pool").fill_null(col("__received").fill_null(zero()));
    let applied = when(pool.clone().lt(col("__remaining").fill_null(zero())))
        .then(pool.clone())
        .otherwise(col("__remaining").fill_null(zero()));
    let money = |name: &str, e: Expr| from_cents(e.fill_null(zero())).alias(name);
    let mut finished = vec![
        money(OPEN, col("__open")),
        money(OVERDUE, col("__overdue")),
        col(MAX_DAYS_OVERDUE).fill_null(lit(0)),
        col("open_invoices").fill_null(lit(0u32)),
        col("due_dates_assumed").fill_null(lit(0u32)),
        money(UNAPPLIED, pool - applied),
        streak.alias(ON_TIME_MONTHS),
    ];
    finished.extend(names.iter().map(|n| money(n, col(n.as_str()))));
    let mut order = vec![col(MASTER), col(OPEN)];
    order.extend(names.iter().map(|n| col(n.as_str())));
    order.extend([OVERDUE, MAX_DAYS_OVERDUE, UNAPPLIED, "open_invoices", "due_dates_assumed", ON_TIME_MONTHS].map(col));
    joined.with_columns(finished).select(order).sort([MASTER], SortMultipleOptions::default())
}

/// The invoices still open, each with its age and bucket.
fn items(aging: &Aging, invoices: LazyFrame) -> LazyFrame {
    let names = aging.bucket_names();
    let bucket = bucket_conditions(aging)
        .into_iter()
        .zip(&names)
        .rev()
        .fold(lit(NULL).cast(DataType::String), |other, (c, n)| when(c).then(lit(n.clone())).otherwise(other));
    invoices.filter(col("__open").gt(zero())).select([
        col(MASTER),
        col("__doc").alias(DOC_NO),
        col("__day").cast(DataType::Date).alias(DOC_DATE),
        col("__due").cast(DataType::Date).alias(DUE_DATE),
        col("__assumed").alias("due_date_assumed"),
        from_cents(col("__cents")).alias("invoice_amount"),
        from_cents(col("__net") - col("__cents")).alias("reversed"),
        from_cents(col("__by_reference") + col("__from_pool")).alias("paid"),
        from_cents(col("__open")).alias("open"),
        col("__age").alias("age_days"),
        bucket.alias("bucket"),
    ])
}

/// The stage's own check, to the cent: invoices and credit notes less receipts, each
/// summed from the ledger, equal open balances less unapplied credit, summed from the
/// output.
pub fn report(
    aging: &Aging,
    ledger: &DataFrame,
    customers: &DataFrame,
    as_of: NaiveDate,
) -> PolarsResult<(Value, Vec<Finding>)> {
    // One pass over the ledger for the three kinds' totals.
    let kinds = [INVOICE, CREDIT_NOTE, RECEIPT];
    let sums = kinds.map(|k| sum_where(col(CENTS), col(KIND).eq(lit(k))).alias(k));
    let totals = dated(ledger.clone().lazy(), as_of).select(sums).collect()?;
    let sum_of = |kind: &str| -> PolarsResult<i64> { Ok(totals.column(kind)?.i64()?.get(0).unwrap_or(0)) };
    let (invoiced, reversed, received) = (sum_of(INVOICE)?, sum_of(CREDIT_NOTE)?, sum_of(RECEIPT)?);
    let output_sum = |column: &str| -> PolarsResult<i64> {
        let total = customers.clone().lazy().select([cents(col(column)).sum()]).collect()?;
        Ok(total.column(column)?.i64()?.get(0).unwrap_or(0))
    };
    let (open, unapplied) = (output_sum(OPEN)?, output_sum(UNAPPLIED)?);
    let buckets = aging.bucket_names().iter().map(|n| output_sum(n)).sum::<PolarsResult<i64>>()?;
    let balanced = invoiced + reversed - received == open - unapplied && buckets == open;
    let assumed: u64 = customers.column("due_dates_assumed")?.u32()?.iter().flatten().map(u64::from).sum();
    let mut findings = Vec::new();
    if !balanced {
        let message = format!(
            "aging does not balance: invoices {} + credit notes {} - receipts {} should equal open {} - unapplied {}, \
             and the buckets {} the open balance",
            cents_text(invoiced.into()),
            cents_text(reversed.into()),
            cents_text(received.into()),
            cents_text(open.into()),
            cents_text(unapplied.into()),
            cents_text(buckets.into())
        );
        findings.push(Finding::new(Severity::Error, "aging_unbalanced", message));
    }
    if assumed > 0 {
        let message = format!(
            "{assumed} invoices have no due date; each is taken as due {} after its date",
            aging.config.default_terms.label()
        );
        findings.push(Finding::new(Severity::Info, "due_dates_assumed", message));
    }
    let report = json!({
        "invoices": cents_text(invoiced.into()),
        "credit_notes": cents_text(reversed.into()),
        "receipts": cents_text(received.into()),
        "open": cents_text(open.into()),
        "unapplied_credit": cents_text(unapplied.into()),
        "buckets_total": cents_text(buckets.into()),
        "balanced": balanced,
        "due_dates_assumed": assumed,
        "customers": customers.height(),
    });
    Ok((report, findings))
}
