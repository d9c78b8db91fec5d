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

/// `check --pairs` counts a rule's pairs from its block sizes, by hand here: a block
/// of 10 records (45 pairs, in a block larger than one customer's) and one of 3 (3
/// pairs). Pairs in the large block grow with the square of the records.
#[test]
fn check_pairs_counts_each_rules_pairs_and_growth_without_running() {
    let p = Project::new();
    let mut csv = "客户编码,客户名称,客户分类\n".to_string();
    for i in 0..10 {
        csv += &format!("A{i},甲{i},成单客户\n");
    }
    for i in 0..3 {
        csv += &format!("B{i},乙{i},潜在客户\n");
    }
    csv += "C0,丙,合作伙伴\n";
    p.write("data/c.csv", csv);
    let path = p.write(
        "pipelines/p.yaml",
        customers_pipeline(
            "  - dedup:
      input: customers
      output: golden
      id: customer_id
      blocking: [[category], [name]]
      compare:
        name: { method: exact }
      threshold: { match: 0.8, review: 0.5 }
outputs: [golden]
",
        ),
    );
    let out = tally(&["check", "--pairs", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let row = |rule: &str| -> Vec<String> {
        let line = text.lines().find(|l| l.split_whitespace().next() == Some(rule)).unwrap_or_else(|| panic!("{text}"));
        line.split_whitespace().skip(1).map(String::from).collect()
    };
    // records, blocks, pairs, per record, in blocks over 8, growth, pairs at 10× records
    let growth = 2.0 + 2.0 * 45.0 / 48.0;
    let at_ten = 3 * 10 + 45 * 100;
    assert_eq!(row("category"), ["14", "2", "48", "3.43", "94%", &format!("{growth:.2}×"), &at_ten.to_string()]);
    assert_eq!(row("name"), ["14", "0", "0", "0.00", "0%", "2.00×", "0"]);
    assert!(!p.path("runs").exists() && !p.path("pipelines/runs").exists(), "check writes nothing");
}

/// The census the check prints is the one the run reports, on the example pipeline:
/// the same records, blocks and pairs for every rule.
#[test]
fn check_pairs_agrees_with_the_run_on_the_example() {
    let out = tally(&["check", "--pairs", repo().join("pipelines/quarterly_inventory.yaml").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let manifest = example_manifest();
    let dedup = manifest["stages"].as_array().unwrap().iter().find(|s| s["kind"] == "dedup").unwrap();
    let rules = dedup["report"]["pairs"]["by_rule"].as_array().unwrap();
    assert!(!rules.is_empty());
    for rule in rules {
        let label = rule["rule"].as_str().unwrap();
        // The rule's row: its label, then its seven figures (a label may prefix another).
        let figures = text
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix(label))
            .map(|rest| rest.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.len() == 7)
            .unwrap_or_else(|| panic!("{label}: {text}"));
        let expected = [&rule["records"], &rule["blocks"], &rule["pairs"]].map(|v| v.to_string());
        assert_eq!(&figures[..3], expected, "{label}");
    }
}
