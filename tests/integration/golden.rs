//! Golden cases: `tests/golden/<case>/` holds `pipeline.yaml`, its `input/` and the
//! `expected/` tables as CSV, one per output plus `rejects.csv`. Each case is run
//! and every table compared with its expected file. The expected files were checked
//! by hand when written; after a deliberate change, `TALLY_BLESS=1 cargo test --release
//! golden` rewrites them, and the diff is what to review.

use std::path::Path;

use polars::prelude::*;

use crate::util::{read_parquet, repo, stderr, tally};

#[test]
fn golden_cases_produce_their_expected_tables() {
    let bless = std::env::var_os("TALLY_BLESS").is_some();
    let root = repo().join("tests/golden");
    let mut cases: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let out = tempfile::tempdir().unwrap();
        let pipeline = case.join("pipeline.yaml");
        let run = tally(&["run", pipeline.to_str().unwrap(), "--out", out.path().to_str().unwrap(), "--quiet"]);
        assert!(run.status.success(), "{}: {}", case.display(), stderr(&run));
        let name = std::fs::read_dir(out.path()).unwrap().next().unwrap().unwrap().path();
        let dir = std::fs::canonicalize(name.join("latest")).unwrap();
        failures.extend(compare(case, &dir, bless));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every output and the rejects against `expected/`; the differences found.
fn compare(case: &Path, run: &Path, bless: bool) -> Vec<String> {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let mut tables: Vec<String> =
        manifest["outputs"].as_array().unwrap().iter().map(|o| o["table"].as_str().unwrap().to_string()).collect();
    tables.push("rejects".into());
    let expected_dir = case.join("expected");
    let mut failures = Vec::new();
    for table in &tables {
        let got = csv_text(&read_parquet(&run.join(format!("{table}.parquet"))), case);
        let path = expected_dir.join(format!("{table}.csv"));
        if bless {
            std::fs::create_dir_all(&expected_dir).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == got => {}
            Ok(want) => failures.push(format!("{}: differs\n--- expected\n{want}--- got\n{got}", path.display())),
            Err(_) => failures.push(format!("{}: missing; the run wrote\n{got}", path.display())),
        }
    }
    for entry in std::fs::read_dir(&expected_dir).into_iter().flatten() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !tables.iter().any(|t| file == format!("{t}.csv")) {
            failures.push(format!("{}: expected table {file} was not written", case.display()));
        }
    }
    failures
}

/// A table as CSV, with the case's folder left out of paths so the text is the same
/// on every machine.
fn csv_text(table: &DataFrame, case: &Path) -> String {
    // A list (a cell's several phones) is written as its values joined with `;`.
    let lists: Vec<Expr> = table
        .columns()
        .iter()
        .filter(|c| matches!(c.dtype(), DataType::List(_)))
        .map(|c| col(c.name().clone()).list().join(lit(";"), true))
        .collect();
    let mut flat = table.clone().lazy().with_columns(lists).collect().unwrap();
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf).finish(&mut flat).unwrap();
    let text = String::from_utf8(buf).unwrap();
    text.replace(&format!("{}/", std::fs::canonicalize(case).unwrap().display()), "")
        .replace(&format!("{}/", case.display()), "")
}
