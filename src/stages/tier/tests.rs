//! Tiers and credit grades on hand-made customers, as of 2024-12-31, on a first run
//! and on a run after one that left grades behind.

use polars::prelude::*;

use crate::run::{PreviousRun, RunContext};
use crate::stages::StageOutput;
use crate::stages::testing::stage;

const BODY: &str = "input: activity
aging: aging
output: tiered
quantile_tiers: { amount_tier: net_amount_365d }
rules:
  risk: \"overdue_amount > 0.3 * open_amount OR credit_grade = 'D'\"
  strategic: \"net_amount_365d >= 100 AND credit_grade IN ('A', 'B')\"
  key: net_amount_365d >= 40
  normal: 'true'
credit: { grades: [A, B, C, D], initial: C, upgrade_after_on_time_months: 3, downgrade_when: max_days_overdue > 60 }
";

fn money(name: &str, values: &[&str]) -> Column {
    Series::new(name.into(), values).cast(&DataType::Decimal(18, 2)).unwrap().into_column()
}

/// M1 … M7 with their 365-day net amounts, and what aging says of them.
fn inputs() -> Vec<DataFrame> {
    let ids = ["M1", "M2", "M3", "M4", "M5", "M6", "M7"];
    let mut activity = df! { "master_id" => ids }.unwrap();
    activity.with_column(money("net_amount_365d", &["0", "10", "20", "30", "40", "40", "100"])).unwrap();
    let mut aging = df! {
        "master_id" => ids,
        "max_days_overdue" => [0i32, 90, 0, 0, 90, 0, 90],
        "on_time_months" => [3u32, 5, 3, 0, 0, 12, 0],
    }
    .unwrap();
    aging.with_column(money("open_amount", &["100", "100", "0", "0", "50", "0", "10"])).unwrap();
    aging.with_column(money("overdue_amount", &["0", "40", "0", "0", "10", "0", "10"])).unwrap();
    aging.with_column(money("unapplied_credit", &["0"; 7])).unwrap();
    vec![activity, aging]
}

/// A context whose previous run left `tiered` with these grades.
fn after(grades: &[(&str, &str, &str, &str)], dir: &tempfile::TempDir) -> RunContext {
    let run = dir.path().join("r1");
    std::fs::create_dir_all(&run).unwrap();
    let column = |i: usize| grades.iter().map(|g| [g.0, g.1, g.2, g.3][i]).collect::<Vec<_>>();
    let mut table = df! {
        "master_id" => column(0),
        "credit_grade" => column(1),
        "credit_since" => column(2),
        "credit_reason" => column(3),
        "amount_tier" => vec!["low"; grades.len()],
        "tier" => vec!["normal"; grades.len()],
    }
    .unwrap()
    .lazy()
    .with_column(crate::values::dates(col("credit_since")))
    .collect()
    .unwrap();
    crate::write::write_parquet(&mut table, &run.join("tiered.parquet")).unwrap();
    let manifest = r#"{"run_id": "r1", "as_of": "2024-11-30", "outputs": [{"table": "tiered"}]}"#;
    std::fs::write(run.join("manifest.json"), manifest).unwrap();
    std::os::unix::fs::symlink(&run, dir.path().join("latest")).unwrap();
    let as_of = chrono::NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
    RunContext { as_of, run_id: "r2".into(), previous: PreviousRun::find(dir.path()) }
}

fn texts(table: &DataFrame, column: &str) -> Vec<String> {
    let c = table.column(column).unwrap().cast(&DataType::String).unwrap();
    c.str().unwrap().iter().map(|v| v.unwrap_or("-").to_string()).collect()
}

fn second_run() -> StageOutput {
    let dir = tempfile::tempdir().unwrap();
    let lowered = "downgrade: max_days_overdue > 60";
    let cx = after(
        &[
            ("M1", "C", "2024-09-30", "initial"),
            ("M2", "B", "2024-06-30", "upgrade: 3 on-time months"),
            ("M3", "C", "2024-11-15", "initial"),
            ("M5", "C", "2024-12-10", lowered),
            ("M6", "A", "2024-01-31", "initial"),
            ("M7", "D", "2024-10-31", lowered),
        ],
        &dir,
    );
    stage("tier", BODY).0.run(inputs(), &cx).unwrap()
}

#[test]
fn a_first_run_starts_every_customer_at_the_initial_grade() {
    let out = stage("tier", BODY).run(inputs()).unwrap();
    assert_eq!(texts(&out.tables[0], "credit_grade"), ["C"; 7]);
    assert_eq!(texts(&out.tables[0], "credit_reason"), ["initial"; 7]);
    assert_eq!(out.tables[1].height(), 0, "no changes without a previous run");
}

/// M1: three on-time months since its grade last moved, up one. M2: overdue past 60
/// days, down one at once, whatever its on-time months. M3: on time, but its grade
/// moved a month ago. M4: new, initial. M5: lowered this month already, held. M6: A
/// is the top. M7: D is the bottom.
#[test]
fn grades_rise_after_on_time_months_and_fall_at_once() {
    let out = second_run();
    let t = &out.tables[0];
    assert_eq!(texts(t, "credit_grade"), ["B", "C", "C", "C", "C", "A", "D"]);
    assert_eq!(
        texts(t, "credit_since"),
        ["2024-12-31", "2024-12-31", "2024-11-15", "2024-12-31", "2024-12-10", "2024-01-31", "2024-10-31"]
    );
    let reasons = texts(t, "credit_reason");
    assert_eq!(
        (reasons[0].as_str(), reasons[1].as_str(), reasons[3].as_str()),
        ("upgrade: 3 on-time months", "downgrade: max_days_overdue > 60", "initial")
    );
}

/// Positive amounts 10, 20, 30, 40, 40, 100: share below 0, ⅙, ⅓, ½, ½, ⅚; high from
/// 0.8, mid from 0.5, so the tied 40s are both mid. A customer with nothing is low.
#[test]
fn quantile_tiers_by_share_with_ties_together() {
    let t = &second_run().tables[0];
    assert_eq!(texts(t, "amount_tier"), ["low", "low", "low", "low", "mid", "mid", "high"]);
}

/// M2 owes 40 of 100 overdue (over 30%): risk. M7 is D: risk. M5 owes 10 of 50
/// overdue (20%) and bought 40: key. M6 bought 40 and is A, but strategic needs 100:
/// key. M1 is B now but bought nothing: normal.
#[test]
fn rule_tiers_and_the_changes_since_the_previous_run() {
    let out = second_run();
    assert_eq!(texts(&out.tables[0], "tier"), ["normal", "risk", "normal", "normal", "key", "key", "risk"]);
    let changes = &out.tables[1];
    let rows: Vec<String> = (0..changes.height())
        .map(|i| ["master_id", "attribute", "from", "to"].map(|c| texts(changes, c)[i].clone()).join(" "))
        .collect();
    assert_eq!(
        rows,
        [
            "M1 credit_grade C B",
            "M2 credit_grade B C",
            "M2 tier normal risk",
            "M5 amount_tier low mid",
            "M5 tier normal key",
            "M6 amount_tier low mid",
            "M6 tier normal key",
            "M7 amount_tier low high",
            "M7 tier normal risk",
        ]
    );
    assert_eq!(texts(changes, "reason")[0], "upgrade: 3 on-time months");
    assert_eq!(texts(changes, "as_of")[0], "2024-12-31");
}
