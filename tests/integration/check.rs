//! `tally check`: every config problem at once, each at file:line:col, exit code 2.

use crate::util::*;

/// Runs `tally check` on `pipeline` (with one small CSV at `data/c.csv`); returns the
/// exit code, stderr and the pipeline's path as printed in messages.
/// A pipeline with one `customers` source and `rest` from its `stages:` on, so the
/// stages start at line 7.
fn customers_pipeline(rest: &str) -> String {
    format!(
        "name: p\nsources:\n  customers:\n    path: ../data/c.csv\n    schema: ../schemas/customers.yaml\nstages:\n{rest}"
    )
}

fn check(pipeline: &str) -> (Option<i32>, String, std::path::PathBuf) {
    let p = Project::new();
    p.write("data/c.csv", "客户编码,客户名称,客户分类\nC1,甲,成单客户\n");
    let path = p.write("pipelines/p.yaml", pipeline);
    let out = tally(&["check", path.to_str().unwrap()]);
    (out.status.code(), stderr(&out), path)
}

#[test]
fn reports_typo_wrong_type_and_missing_file_in_one_run() {
    let pipeline = "\
name: p
sources:
  customers:
    path: ../data/c.csv
    schema: ../schemas/customers.yaml
    delimeter: ';'
  orders:
    path: ../data/missing.csv
    schema: ../schemas/transactions.yaml
stages:
  - count:
      input: customers
      output: counts
      by: category
outputs: [counts]
";
    let (code, err, file) = check(pipeline);
    assert_eq!(code, Some(2));
    assert_reported(&err, "unknown key 'delimeter'", &file, 6, 5);
    assert!(err.contains("help: did you mean 'delimiter'?"), "{err}");
    assert_reported(&err, "source 'orders': file not found", &file, 8, 11);
    assert_reported(&err, "expected a list here", &file, 14, 11); // `by` is a list
}

#[test]
fn reports_unknown_tables_columns_and_cycles() {
    let pipeline = customers_pipeline(
        "  - filter:
      input: custmers
      output: a
      where: \"category = 'x'\"
  - filter:
      input: c
      output: b
      where: \"true\"
  - filter:
      input: b
      output: c
      where: \"true\"
outputs: [a, d]
",
    );
    let (code, err, file) = check(&pipeline);
    assert_eq!(code, Some(2));
    assert_reported(&err, "stage 'a' reads table 'custmers', which nothing produces", &file, 7, 5);
    assert!(err.contains("did you mean 'customers'?"), "{err}");
    assert_reported(&err, "output 'd' is not a table of this pipeline", &file, 19, 14);
    assert!(err.contains("stages form a cycle: "), "{err}");
}

#[test]
fn reports_an_unknown_column_with_a_suggestion() {
    let pipeline =
        customers_pipeline("  - count:\n      input: customers\n      output: n\n      by: [categroy]\noutputs: [n]\n");
    let (code, err, file) = check(&pipeline);
    assert_eq!(code, Some(2), "{err}");
    assert_reported(&err, "stage 'n': column 'categroy' not found", &file, 10, 12);
    assert!(err.contains("did you mean 'category'?"), "{err}");
}

#[test]
fn the_example_pipeline_checks_clean() {
    let out = tally(&["check", repo().join("pipelines/quarterly_inventory.yaml").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn dedup_columns_thresholds_and_side_tables_are_checked_before_reading() {
    let pipeline = customers_pipeline(
        "  - dedup:
      input: customers
      output: golden
      id: customer_id
      blocking: [[name]]
      compare:
        phone: { column: phnoe, method: exact }
      threshold: { match: 0.8, review: 0.9 }
  - count:
      input: golden_map
      output: counts
      by: [master_id]
outputs: [counts, golden_review]
",
    );
    let (code, err, file) = check(&pipeline);
    assert_eq!(code, Some(2));
    assert_reported(&err, "dedup 'golden': threshold", &file, 7, 5);
    let fixed = pipeline.replace("review: 0.9", "review: 0.5");
    let (code, err, _) = check(&fixed);
    assert_eq!(code, Some(2));
    assert!(err.contains("phnoe") && err.contains("did you mean 'phone'?"), "{err}");
    // With the column fixed, the side tables feed later stages and outputs.
    let (code, err, _) = check(&fixed.replace("phnoe", "phone"));
    assert_eq!(code, Some(0), "{err}");
}
