//! The example's ledger, activity and aging against what the sample generator worked
//! out document by document (`truth_ledger.csv`, `truth_rejects.csv`): every customer
//! whose records dedup put together exactly as the generator made them must have the
//! generator's purchases, last purchase, status and balances, to the cent.

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::util::{example_manifest, example_run, read_parquet, repo};

/// A CSV with every column as text.
fn csv(path: &Path) -> DataFrame {
    CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.into()))
        .unwrap()
        .finish()
        .unwrap()
}

fn texts(table: &DataFrame, column: &str) -> Vec<String> {
    let c = table.column(column).unwrap().cast(&DataType::String).unwrap();
    c.str().unwrap().iter().map(|v| v.unwrap_or("").to_string()).collect()
}

/// Rows of `table` by the value of `key`, each a map of the named columns.
fn by(table: &DataFrame, key: &str, columns: &[&str]) -> HashMap<String, HashMap<String, String>> {
    let values: Vec<Vec<String>> = columns.iter().map(|c| texts(table, c)).collect();
    texts(table, key)
        .into_iter()
        .enumerate()
        .map(|(i, k)| (k, columns.iter().zip(&values).map(|(c, v)| (c.to_string(), v[i].clone())).collect()))
        .collect()
}

/// Golden records that hold exactly one generated customer's records, and no other
/// golden record holds any of its: master id → entity id.
fn exact_clusters(run: &Path) -> HashMap<String, String> {
    let records = csv(&repo().join("sample_data/truth.csv"));
    let map = read_parquet(&run.join("golden_customers_map.parquet"));
    let keys = [col("source_system"), col("customer_id")];
    let pairs = map
        .lazy()
        .join(records.lazy(), keys.clone(), keys, JoinArgs::new(JoinType::Inner))
        .select([col("master_id"), col("entity_id")])
        .unique(None, UniqueKeepStrategy::Any)
        .collect()
        .unwrap();
    let (masters, entities) = (texts(&pairs, "master_id"), texts(&pairs, "entity_id"));
    let count = |v: &[String]| {
        v.iter().fold(HashMap::new(), |mut m: HashMap<String, usize>, k| {
            *m.entry(k.clone()).or_default() += 1;
            m
        })
    };
    let (per_master, per_entity) = (count(&masters), count(&entities));
    masters.into_iter().zip(entities).filter(|(m, e)| per_master[m] == 1 && per_entity[e] == 1).collect()
}

/// The status the example's rules give, from the truth's purchases as of 2024-12-31.
fn expected_status(truth: Option<&HashMap<String, String>>) -> &'static str {
    let as_of = NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
    let Some(t) = truth.filter(|t| t["purchases"] != "0") else { return "prospect" };
    let days = |c: &str| (as_of - NaiveDate::parse_from_str(&t[c], "%Y-%m-%d").unwrap()).num_days();
    match (days("first_purchase"), days("last_purchase")) {
        (tenure, _) if tenure < 90 => "new",
        (_, since) if since <= 180 => "active",
        (_, since) if since <= 365 => "dormant",
        _ => "churned",
    }
}

#[test]
fn activity_and_aging_agree_with_the_generators_ledger() {
    let run = example_run();
    let truth = by(
        &csv(&repo().join("sample_data/truth_ledger.csv")),
        "entity_id",
        &["purchases", "first_purchase", "last_purchase", "open", "overdue", "unapplied"],
    );
    let aging = by(
        &read_parquet(&run.join("aging.parquet")),
        "master_id",
        &["open_amount", "overdue_amount", "unapplied_credit"],
    );
    let columns = ["txn_count_all", "first_txn_date", "last_txn_date", "status"];
    let activity = by(&read_parquet(&run.join("tiered_customers.parquet")), "master_id", &columns);
    let exact = exact_clusters(run);
    let (mut compared, mut statuses, mut wrong) = (0, 0, Vec::new());
    for (master, entity) in &exact {
        let a = &activity[master];
        let t = truth.get(entity);
        if a["status"] != "invalid" {
            statuses += 1;
            if a["status"] != expected_status(t) {
                wrong.push(format!("{entity}: status {} expected {}", a["status"], expected_status(t)));
            }
        }
        let Some(t) = t else { continue };
        compared += 1;
        let owed = &aging[master];
        let got = [
            &a["txn_count_all"],
            &a["first_txn_date"],
            &a["last_txn_date"],
            &owed["open_amount"],
            &owed["overdue_amount"],
            &owed["unapplied_credit"],
        ];
        let want =
            [&t["purchases"], &t["first_purchase"], &t["last_purchase"], &t["open"], &t["overdue"], &t["unapplied"]];
        if got != want {
            wrong.push(format!("{entity}: {got:?} expected {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{} of {compared} differ: {:?}", wrong.len(), &wrong[..wrong.len().min(5)]);
    assert!(compared > 1000 && statuses > 2000, "{compared} buyers, {statuses} statuses compared");

    // Whoever dedup put together, the balances add up to the generator's, to the cent.
    let cents = |v: &str| -> i64 { v.replace('.', "").parse().unwrap() };
    for (output, expected) in
        [("open_amount", "open"), ("overdue_amount", "overdue"), ("unapplied_credit", "unapplied")]
    {
        let ours: i64 = aging.values().map(|r| cents(&r[output])).sum();
        let theirs: i64 = truth.values().map(|r| cents(&r[expected])).sum();
        assert_eq!(ours, theirs, "{output}");
    }
}

#[test]
fn each_planted_document_is_rejected_for_its_reason_and_the_ledger_balances() {
    let run = example_run();
    let rejects = read_parquet(&run.join("rejects.parquet"));
    let rejected: Vec<(String, String)> =
        texts(&rejects, "record").into_iter().zip(texts(&rejects, "reason")).collect();
    let planted = csv(&repo().join("sample_data/truth_rejects.csv"));
    let mut checked = 0;
    for (doc, reason) in texts(&planted, "doc_no").into_iter().zip(texts(&planted, "reason")) {
        let record = format!("doc_no={doc};");
        let reasons: Vec<&str> =
            rejected.iter().filter(|(r, _)| r.starts_with(&record)).map(|(_, why)| why.as_str()).collect();
        // A repeated number names the kept document too; its reject is the later one.
        if reason == "duplicate" {
            assert!(reasons.contains(&"duplicate_key"), "{doc}: {reasons:?}");
        } else {
            assert_eq!(reasons, [reason.as_str()], "{doc}");
        }
        checked += 1;
    }
    assert!(checked >= 7 + 2, "{checked}");

    let manifest = example_manifest();
    let stage = |kind: &str| manifest["stages"].as_array().unwrap().iter().find(|s| s["kind"] == kind).unwrap().clone();
    let ledger = stage("ledger");
    assert_eq!(ledger["report"]["balanced"], true);
    assert_eq!(
        ledger["rows_in"].as_u64(),
        Some(ledger["rows_out"].as_u64().unwrap() + ledger["rows_rejected"].as_u64().unwrap())
    );
    let reds = &ledger["report"]["by_doc_type"]["红字发票"];
    let amount = |k: &str| -> i64 { reds[k].as_str().unwrap().replace('.', "").parse().unwrap() };
    assert_eq!(amount("amount"), amount("amount_accepted") + amount("amount_rejected"));
    assert_eq!(stage("aging")["report"]["balanced"], true);
}

/// A first run starts every grade at C; a second run as of the same date lowers, at
/// once, exactly the customers more than 60 days overdue, and lists each change.
#[test]
fn a_second_run_moves_credit_grades_and_lists_the_changes() {
    let out = tempfile::tempdir().unwrap();
    let pipeline = repo().join("pipelines/quarterly_inventory.yaml");
    let run = || {
        let done =
            crate::util::tally(&["run", pipeline.to_str().unwrap(), "--out", out.path().to_str().unwrap(), "--quiet"]);
        assert!(done.status.success(), "{}", crate::util::stderr(&done));
        out.path().join("quarterly_inventory/latest")
    };
    let first = run();
    let tiered = read_parquet(&first.join("tiered_customers.parquet"));
    assert!(texts(&tiered, "credit_grade").iter().all(|g| g == "C"));
    assert_eq!(read_parquet(&first.join("tiered_customers_changes.parquet")).height(), 0);

    let second = run();
    let tiered = read_parquet(&second.join("tiered_customers.parquet"));
    let overdue: Vec<String> = texts(&tiered, "master_id")
        .into_iter()
        .zip(texts(&tiered, "max_days_overdue"))
        .filter(|(_, days)| days.parse::<i64>().unwrap() > 60)
        .map(|(id, _)| id)
        .collect();
    let changes = read_parquet(&second.join("tiered_customers_changes.parquet"));
    let graded = changes.lazy().filter(col("attribute").eq(lit("credit_grade"))).collect().unwrap();
    let mut lowered = texts(&graded, "master_id");
    lowered.sort();
    let mut expected = overdue;
    expected.sort();
    assert!(!expected.is_empty());
    assert_eq!(lowered, expected);
    assert!(texts(&graded, "from").iter().all(|g| g == "C") && texts(&graded, "to").iter().all(|g| g == "D"));
}

/// What people read is in the workbook: the status and tier counts (each adding up to
/// every customer), the aging and the changes. BG/NBD fitted on the sample and gave
/// every buyer, and no prospect, a probability of being alive.
#[test]
fn counts_aging_and_the_model_are_in_the_run() {
    use calamine::{Data, Reader, open_workbook_auto};
    let run = example_run();
    let tiered = read_parquet(&run.join("tiered_customers.parquet"));
    let mut book = open_workbook_auto(run.join("quarterly_inventory.xlsx")).unwrap();
    let names = book.sheet_names();
    for sheet in ["customers_by_status", "customers_by_tier", "aging", "tiered_customers_changes"] {
        assert!(names.iter().any(|n| n == sheet), "{sheet} is not in {names:?}");
    }
    let mut counts = |sheet: &str, column: &str| -> HashMap<String, f64> {
        let range = book.worksheet_range(sheet).unwrap();
        let mut rows = range.rows();
        let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
        let (key, count) = (header.iter().position(|h| h == column).unwrap(), header.len() - 1);
        rows.map(|r| (r[key].to_string(), if let Data::Float(n) = r[count] { n } else { f64::NAN })).collect()
    };
    let statuses = counts("customers_by_status", "status");
    assert_eq!(statuses["合计"], tiered.height() as f64);
    for (status, n) in &statuses {
        let ours = texts(&tiered, "status").iter().filter(|s| *s == status).count();
        assert!(status == "合计" || ours as f64 == *n, "{status}: {n} in the workbook, {ours} in the table");
    }
    assert_eq!(counts("customers_by_tier", "tier")["合计"], tiered.height() as f64);

    let manifest = example_manifest();
    let stages = manifest["stages"].as_array().unwrap();
    let fit = &stages.iter().find(|s| s["kind"] == "activity").unwrap()["report"]["bgnbd"];
    assert_eq!(fit["converged"], true, "{fit}");
    let buyers = texts(&tiered, "frequency").iter().filter(|f| !f.is_empty()).count();
    assert_eq!(fit["customers"], buyers);
    let alive = texts(&tiered, "p_alive");
    let given = alive.iter().filter(|p| !p.is_empty()).count();
    assert_eq!(given, buyers, "every buyer, and no one else, has p_alive");
}
