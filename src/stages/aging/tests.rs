//! Aging on a hand-made ledger as of 2024-12-31, every balance worked out by hand.

use polars::prelude::*;

use crate::stages::testing::{documents, stage};

const INV: &str = "蓝字发票";
const RED: &str = "红字发票";
const PAY: &str = "收款单";

/// Document number, due date.
const DUE: [(&str, &str); 17] = [
    ("FP1", "2024-11-30"),
    ("FP2", "2024-12-01"),
    ("FP3", "2025-01-14"),
    ("FP5", "2024-06-30"),
    ("FP6", "2024-12-31"),
    ("FP7", "2024-11-30"),
    ("FP8", "2023-12-01"),
    ("FP9", "2024-10-02"),
    ("FPA", "2024-10-01"),
    ("FPB", "2024-10-01"),
    ("FPC", "2024-12-01"),
    ("FPD", "2024-09-01"),
    ("FPE", "2025-03-01"),
    ("FPF", "2025-03-01"),
    ("FPG", "2025-03-01"),
    ("FPH", "2025-02-01"),
    ("FPI", "2024-12-31"),
];

/// A: a receipt for FP1 and one for nothing, which pays FP1's rest and then FP2.
/// B: two invoices of one day, paid in number order; FP4 has no due date.
/// C: a receipt and no invoice. D: an invoice at each bucket bound.
/// E: paid on time for three months. F: paid late in October. G: two invoices of one
/// day, the later-numbered due first, and a receipt for nothing.
fn ledger() -> DataFrame {
    let docs = documents(&[
        ("FP1", INV, None, "A", "2024-10-01", "1000.00"),
        ("FP2", INV, None, "A", "2024-11-01", "500.00"),
        ("FP3", INV, None, "A", "2024-12-15", "300.00"),
        ("HZ1", RED, Some("FP2"), "A", "2024-11-10", "-100.00"),
        ("SK1", PAY, Some("FP1"), "A", "2024-12-05", "400.00"),
        ("SK2", PAY, None, "A", "2024-12-20", "700.00"),
        ("FP5", INV, None, "B", "2024-06-01", "100.00"),
        ("FP4", INV, None, "B", "2024-06-01", "200.00"),
        ("SK3", PAY, Some("FP5"), "B", "2024-07-10", "250.00"),
        ("SK4", PAY, None, "C", "2024-12-01", "80.00"),
        ("FP6", INV, None, "D", "2024-12-01", "10.00"),
        ("FP7", INV, None, "D", "2024-11-30", "20.00"),
        ("FP8", INV, None, "D", "2023-11-01", "40.00"),
        ("FP9", INV, None, "D", "2024-09-02", "5.00"),
        ("FPA", INV, None, "D", "2024-09-01", "7.00"),
        ("FPB", INV, None, "E", "2024-09-01", "100.00"),
        ("SK5", PAY, Some("FPB"), "E", "2024-09-25", "100.00"),
        ("FPC", INV, None, "E", "2024-11-01", "50.00"),
        ("SK6", PAY, Some("FPC"), "E", "2024-11-28", "50.00"),
        ("FPD", INV, None, "F", "2024-08-01", "100.00"),
        ("SK7", PAY, Some("FPD"), "F", "2024-11-15", "100.00"),
        ("FPH", INV, None, "G", "2024-12-01", "50.00"),
        ("FPI", INV, None, "G", "2024-12-01", "40.00"),
        ("SK8", PAY, None, "G", "2024-12-10", "30.00"),
    ]);
    let due: Vec<Option<&str>> = docs
        .column("doc_no")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|d| DUE.iter().find(|(n, _)| Some(*n) == d).map(|(_, due)| *due))
        .collect();
    let docs = docs
        .lazy()
        .with_column(lit(Series::new("due_date".into(), due)))
        .with_column(crate::values::dates(col("due_date")));
    let ledger = stage("ledger", "input: docs\noutput: ledger\n").run(vec![docs.collect().unwrap()]).unwrap();
    ledger.tables.into_iter().next().unwrap()
}

fn aging(body: &str) -> crate::stages::StageOutput {
    stage("aging", &format!("ledger: ledger\noutput: aging\n{body}")).run(vec![ledger()]).unwrap()
}

/// A customer's value in `column`, as text.
fn value(table: &DataFrame, customer: &str, column: &str) -> String {
    let row = table.clone().lazy().filter(col("master_id").eq(lit(customer))).collect().unwrap();
    let c = row.column(column).unwrap().cast(&DataType::String).unwrap();
    c.str().unwrap().get(0).unwrap_or("-").to_string()
}

#[test]
fn referenced_receipts_first_then_the_oldest_invoices() {
    let out = aging("");
    let t = &out.tables[0];
    // A: SK1 pays 400 of FP1; SK2's 700 pays FP1's other 600, then 100 of FP2 (400 net).
    assert_eq!(value(t, "A", "open_amount"), "600.00");
    assert_eq!(value(t, "A", "not_due"), "300.00", "FP3");
    assert_eq!(value(t, "A", "days_1_30"), "300.00", "FP2, 30 days past due");
    assert_eq!((value(t, "A", "overdue_amount"), value(t, "A", "max_days_overdue")), ("300.00".into(), "30".into()));
    // B: SK3 pays FP5's 100 and leaves 150, which pays FP4 (first by number) in part.
    assert_eq!(value(t, "B", "open_amount"), "50.00");
    assert_eq!(value(t, "B", "days_181_365"), "50.00", "FP4 due 2024-07-01, assumed: 183 days");
    assert_eq!(value(t, "B", "due_dates_assumed"), "1");
    // C: a receipt with nothing to pay is unapplied credit, not a negative balance.
    assert_eq!((value(t, "C", "open_amount"), value(t, "C", "unapplied_credit")), ("0.00".into(), "80.00".into()));

    let items = &out.tables[1];
    let fp2 = items.clone().lazy().filter(col("doc_no").eq(lit("FP2"))).collect().unwrap();
    let text =
        |c: &str| fp2.column(c).unwrap().cast(&DataType::String).unwrap().str().unwrap().get(0).unwrap().to_string();
    assert_eq!(
        [text("reversed"), text("paid"), text("open"), text("age_days"), text("bucket")],
        ["-100.00", "100.00", "300.00", "30", "days_1_30"]
    );
    let open: Vec<&str> = items.column("doc_no").unwrap().str().unwrap().iter().flatten().collect();
    assert!(!open.contains(&"FP1") && !open.contains(&"FP5"), "paid in full: {open:?}");
}

/// Of one day's invoices the one due first is paid first, whatever their numbers
/// (DOMAIN §7: date, due date, number).
#[test]
fn of_one_days_invoices_the_one_due_first_is_paid_first() {
    let items = &aging("").tables[1];
    let open = |doc: &str| {
        let row = items.clone().lazy().filter(col("doc_no").eq(lit(doc))).collect().unwrap();
        row.column("open").unwrap().cast(&DataType::String).unwrap().str().unwrap().get(0).unwrap().to_string()
    };
    assert_eq!((open("FPI"), open("FPH")), ("10.00".into(), "50.00".into()));
}

/// Due on the as-of date is not yet due; 31 days past due is in 31–60; 90 in 61–90,
/// 91 in 91–180; 396 over 365.
#[test]
fn every_bucket_bound_on_the_due_date_basis() {
    let t = &aging("").tables[0];
    let buckets = ["not_due", "days_1_30", "days_31_60", "days_61_90", "days_91_180", "days_181_365", "days_over_365"];
    let d: Vec<String> = buckets.iter().map(|b| value(t, "D", b)).collect();
    assert_eq!(d, ["10.00", "0.00", "20.00", "5.00", "7.00", "0.00", "40.00"]);
    assert_eq!(value(t, "D", "open_amount"), "82.00");
    assert_eq!((value(t, "D", "overdue_amount"), value(t, "D", "max_days_overdue")), ("72.00".into(), "396".into()));
}

/// On the document-date basis there is no `not_due`: day 30 is in 0–30, day 31 in 31–60.
#[test]
fn every_bucket_bound_on_the_document_date_basis() {
    let t = &aging("basis: doc_date\n").tables[0];
    let buckets = ["days_0_30", "days_31_60", "days_61_90", "days_91_180", "days_181_365", "days_over_365"];
    let d: Vec<String> = buckets.iter().map(|b| value(t, "D", b)).collect();
    assert_eq!(d, ["10.00", "20.00", "0.00", "12.00", "0.00", "40.00"]);
    assert!(t.column("not_due").is_err());
}

#[test]
fn the_stage_balances_to_the_cent() {
    let out = aging("");
    let report = out.report.unwrap();
    // Invoices 2,522 less a credit note of 100 less receipts 1,710 = 712 = open 792 less unapplied 80.
    let figures = ["invoices", "credit_notes", "receipts", "open", "unapplied_credit"]
        .map(|k| report[k].as_str().unwrap().to_string());
    assert_eq!(figures, ["2522.00", "-100.00", "1710.00", "792.00", "80.00"]);
    assert_eq!(report["balanced"], true, "{report}");
    assert!(out.findings.iter().all(|f| f.code != "aging_unbalanced"));
}

/// E paid each month's invoices before month end since October (in September nothing
/// had fallen due yet); F paid its September invoice in November.
#[test]
fn months_on_time_ending_with_the_as_of_month() {
    let t = &aging("").tables[0];
    assert_eq!(value(t, "E", "on_time_months"), "3");
    assert_eq!(value(t, "F", "on_time_months"), "2");
    assert_eq!(value(t, "A", "on_time_months"), "0");
}
