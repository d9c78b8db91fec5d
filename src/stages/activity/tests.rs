//! Activity on a hand-made ledger, as of 2024-12-31, every figure computed by hand.
//! The 90-day window holds 2024-10-03 to 2024-12-31; the 365-day one 2024-01-02 on.

use polars::prelude::*;

use crate::stages::testing::{Built, documents, stage};

const INV: &str = "蓝字发票";
const RED: &str = "红字发票";
const PAY: &str = "收款单";

const BODY: &str = "customers: customers
ledger: ledger
output: activity
status:
  invalid: invalid
  prospect: txn_count_all = 0
  new: tenure_days < 90
  active: days_since_last_txn <= 180
  dormant: days_since_last_txn <= 365
  churned: 'true'
";

/// M3 never bought; M4's only invoice is reversed in full.
fn inputs() -> Vec<DataFrame> {
    let docs = documents(&[
        ("FP1", INV, None, "M1", "2024-12-01", "1000.00"),
        ("FP2", INV, None, "M1", "2024-12-01", "500.00"),
        ("HZ1", RED, Some("FP1"), "M1", "2024-12-10", "-200.00"),
        ("FP3", INV, None, "M1", "2024-06-15", "300.00"),
        ("FP4", INV, None, "M1", "2023-12-20", "400.00"),
        ("FP5", INV, None, "M1", "2025-01-05", "999.00"), // after the as-of date
        ("SK1", PAY, Some("FP1"), "M1", "2024-12-20", "800.00"),
        ("FP6", INV, None, "M4", "2024-11-01", "100.00"),
        ("HZ2", RED, Some("FP6"), "M4", "2024-11-05", "-100.00"),
        ("FP7", INV, None, "M2", "2024-01-01", "250.00"), // one day before the 365-day window
        ("FP8", INV, None, "M2", "2024-10-02", "50.00"),  // one day before the 90-day window
        ("FP9", INV, None, "M2", "2024-10-03", "70.00"),
        ("FPA", INV, None, "M5", "2024-07-01", "80.00"),
        ("FPB", INV, None, "M6", "2024-11-15", "60.00"),
        ("FPC", INV, None, "M7", "2023-06-01", "10.00"),
    ]);
    let ledger = stage("ledger", "input: docs\noutput: ledger\n").run(vec![docs]).unwrap().tables.remove(0);
    let customers = df! {
        "master_id" => ["M1", "M2", "M3", "M4", "M5", "M6", "M7"],
        "invalid" => [false, false, true, false, false, false, false],
    }
    .unwrap();
    vec![customers, ledger]
}

fn activity() -> DataFrame {
    stage("activity", BODY).run(inputs()).unwrap().tables.remove(0)
}

/// A column's values as text, customers in input order (M1 … M7).
fn texts(table: &DataFrame, column: &str) -> Vec<String> {
    let c = table.column(column).unwrap().cast(&DataType::String).unwrap();
    c.str().unwrap().iter().map(|v| v.unwrap_or("-").to_string()).collect()
}

#[test]
fn features_per_window_net_of_credit_notes() {
    let t = activity();
    let row = |columns: &[&str]| -> Vec<Vec<String>> { columns.iter().map(|c| texts(&t, c)).collect() };
    // M1: FP1 (1,000, 200 of it reversed) and FP2 on 12-01, FP3 on 06-15, FP4 last year.
    let m1: Vec<String> = row(&[
        "txn_count_90d",
        "txn_days_90d",
        "gross_amount_90d",
        "red_amount_90d",
        "net_amount_90d",
        "avg_order_value_90d",
        "txn_count_365d",
        "txn_days_365d",
        "net_amount_365d",
        "avg_order_value_365d",
        "txn_count_all",
        "txn_days_all",
        "gross_amount_all",
        "net_amount_all",
        "avg_order_value_all",
    ])
    .into_iter()
    .map(|c| c[0].clone())
    .collect();
    let expected = [
        "2", "1", "1500.00", "-200.00", "1300.00", "650.00", "3", "2", "1600.00", "533.33", "4", "3", "2200.00",
        "2000.00", "500.00",
    ];
    assert_eq!(m1, expected);
    // M2: the window bounds. FP7 is out of 365 days, FP8 out of 90.
    assert_eq!(texts(&t, "txn_count_365d")[1], "2");
    assert_eq!(texts(&t, "txn_count_90d")[1], "1");
    assert_eq!(texts(&t, "net_amount_90d")[1], "70.00");
    // M4: a fully reversed invoice is no purchase, though its amounts show.
    let m4 = |c: &str| texts(&t, c)[3].clone();
    assert_eq!(
        [m4("txn_count_all"), m4("gross_amount_all"), m4("red_amount_all"), m4("net_amount_all")],
        ["0", "100.00", "-100.00", "0.00"]
    );
    assert_eq!([m4("first_txn_date"), m4("avg_order_value_all"), m4("frequency")], ["-", "-", "-"]);
    // M3 never bought: zeros, no dates.
    let m3 = |c: &str| texts(&t, c)[2].clone();
    assert_eq!(
        [m3("txn_count_all"), m3("net_amount_all"), m3("last_txn_date"), m3("days_since_last_txn")],
        ["0", "0.00", "-", "-"]
    );
    assert_eq!(texts(&t, "net_amount_all")[0], "2000.00", "FP5 is after the as-of date");
    assert_eq!(t.column("net_amount_all").unwrap().dtype(), &DataType::Decimal(18, 2));
}

#[test]
fn dates_recency_and_tenure() {
    let t = activity();
    assert_eq!(texts(&t, "first_txn_date")[0], "2023-12-20");
    assert_eq!(texts(&t, "last_txn_date")[0], "2024-12-01");
    assert_eq!(texts(&t, "days_since_last_txn"), ["30", "89", "-", "-", "183", "46", "579"]);
    assert_eq!(texts(&t, "tenure_days"), ["377", "365", "-", "-", "183", "46", "579"]);
}

/// The summary lifetimes computes with daily periods: M1 bought on three days
/// (400; 300; 800 + 500), so two repeat days worth (300 + 1,300) / 2.
#[test]
fn repeat_purchase_summary() {
    let t = activity();
    assert_eq!(texts(&t, "frequency"), ["2", "2", "-", "-", "0", "0", "0"]);
    assert_eq!(texts(&t, "recency"), ["347", "276", "-", "-", "0", "0", "0"]);
    assert_eq!(texts(&t, "T"), ["377", "365", "-", "-", "183", "46", "579"]);
    assert_eq!(texts(&t, "monetary_value"), ["800.0", "60.0", "-", "-", "0.0", "0.0", "0.0"]);
}

/// Five buyers. Recency 30, 46, 89, 183, 579 days: five scores. Purchase days in
/// 365 days 2, 2, 1, 1, 0: M1 and M2 tie, three customers worse than each (score
/// 1 + ⌊5·3/5⌋ = 4), and no one gets 3 or 5.
#[test]
fn rfm_scores_codes_and_the_tie_rule() {
    let out = stage("activity", BODY).run(inputs()).unwrap();
    let t = &out.tables[0];
    assert_eq!(texts(t, "r_score"), ["5", "3", "-", "-", "2", "4", "1"]);
    assert_eq!(texts(t, "f_score"), ["4", "4", "-", "-", "2", "2", "1"]);
    assert_eq!(texts(t, "m_score"), ["5", "4", "-", "-", "3", "2", "1"]);
    assert_eq!(texts(t, "rfm_code"), ["545", "344", "-", "-", "223", "422", "111"]);
    let warned: Vec<&str> =
        out.findings.iter().filter(|f| f.code == "rfm_scores_empty").map(|f| f.message.as_str()).collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].starts_with("F scores [3, 5]"), "{}", warned[0]);
}

#[test]
fn status_by_the_first_rule_that_holds() {
    let out = stage("activity", BODY).run(inputs()).unwrap();
    let t = &out.tables[0];
    assert_eq!(texts(t, "status"), ["active", "active", "invalid", "prospect", "dormant", "new", "churned"]);
    let report = out.report.unwrap();
    assert_eq!(report["by_status"]["active"], 2);
    assert_eq!((report["buyers"].as_u64(), report["prospects"].as_u64()), (Some(5), Some(2)));
    assert_eq!(report["documents_after_as_of"], 1);
}

#[test]
fn the_declared_schema_is_the_one_produced() {
    let inputs = inputs();
    let built: Built = stage("activity", BODY);
    let schemas: Vec<Schema> = inputs.iter().map(|t| t.schema().as_ref().clone()).collect();
    let out = built.run(inputs).unwrap();
    assert_eq!(&built.schema(&schemas), out.tables[0].schema().as_ref());
    // The customers' columns, then what activity computes: one key column.
    let names: Vec<String> = out.tables[0].get_column_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(names[..2], ["master_id", "invalid"]);
    assert_eq!(names.len(), 2 + 6 * 3 + 4 + 4 + 5 + 1, "{names:?}");
}

#[test]
fn a_customer_column_with_a_computed_name_is_refused_at_check() {
    let built = stage("activity", BODY);
    let [customers, ledger] = <[DataFrame; 2]>::try_from(inputs()).unwrap();
    let customers = customers.lazy().with_column(lit("正常").alias("status")).collect().unwrap();
    let problems =
        built.0.schemas(&[customers.schema().as_ref().clone(), ledger.schema().as_ref().clone()]).unwrap_err();
    assert!(problems[0].message.contains("'status'"), "{:?}", problems[0]);
}
