//! Pipelines end to end: counts, rejects with reasons, manifest numbers.

use polars::prelude::*;

use crate::util::*;

/// A UTF-8 export with a BOM and dirt in every typed column: the golden case
/// `load_cast_quarantine` holds the tables it makes.
fn csv() -> String {
    std::fs::read_to_string(repo().join("tests/golden/load_cast_quarantine/input/customers.csv")).unwrap()
}

/// The tables this pipeline writes are the golden case `load_cast_quarantine`; here,
/// what the manifest says of the input.
#[test]
fn the_manifest_accounts_for_every_row_read() {
    let p = Project::new();
    p.write("data/customers.csv", csv());
    p.write("pipelines/p.yaml", customers_pipeline("p", "customers.csv", ""));
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));

    let m = p.manifest("p");
    let input = &m["inputs"][0];
    assert_eq!(
        (input["rows_read"].as_u64(), input["rows_accepted"].as_u64(), input["rows_rejected"].as_u64()),
        (Some(7), Some(2), Some(5))
    );
    assert_eq!(input["encoding"], "utf-8-bom");
    assert_eq!(input["unmapped_headers"], serde_json::json!(["备注"]));
    assert_eq!((m["rejects"]["rows"].as_u64(), m["rejects"]["entries"].as_u64()), (Some(5), Some(7)));
    assert_eq!(m["status"], "ok");
}

#[test]
fn every_run_gets_its_own_directory_and_latest_moves() {
    let p = Project::new();
    p.write("data/customers.csv", csv());
    p.write("pipelines/p.yaml", customers_pipeline("p", "customers.csv", ""));
    assert!(p.run("pipelines/p.yaml").status.success());
    let first = p.latest("p");
    assert!(p.run("pipelines/p.yaml").status.success());
    let second = p.latest("p");
    assert_ne!(first, second);
    assert!(first.join("manifest.json").is_file(), "the first run is kept");
    let runs = std::fs::read_dir(p.path("runs/p")).unwrap().count();
    assert_eq!(runs, 3, "two runs and the latest link");
}

/// The committed sample's dirt is planted by a seeded generator that knows each
/// planted row; the run must reject exactly those rows, with those reasons.
#[test]
fn committed_sample_rejects_exactly_the_planted_rows() {
    let m = example_manifest();
    for input in m["inputs"].as_array().unwrap() {
        let n = |k: &str| input[k].as_u64().unwrap();
        assert_eq!(n("rows_read"), n("rows_accepted") + n("rows_rejected"), "{}", input["source"]);
    }

    let sample = tally::sample::generate_customers(&tally::sample::SampleSpec::default());
    let planted = |reason: &str| sample.erp.iter().filter(|r| r.planted == Some(reason)).count() as u64;
    let erp = m["inputs"].as_array().unwrap().iter().find(|i| i["source"] == "erp_customers").unwrap();
    assert_eq!(erp["rows_read"].as_u64().unwrap(), sample.erp.len() as u64);
    let planted_rows = sample.erp.iter().filter(|r| r.planted.is_some()).count() as u64;
    assert_eq!(erp["rows_rejected"].as_u64().unwrap(), planted_rows);

    // The CRM stores some phones as numbers: read as the digits typed (not 1.38E10),
    // every one of them cleans to a valid number; the only invalid ones are the Hong
    // Kong numbers of a range the phone metadata does not list, flagged.
    let customers = read_parquet(&example_run().join("customers_flagged.parquet"));
    let crm = customers.lazy().filter(col("source_system").eq(lit("crm"))).collect().unwrap();
    let phones = crm.column("phone").unwrap().str().unwrap().iter().flatten().count();
    let invalid = crm.column("phone_invalid").unwrap().bool().unwrap().sum().unwrap_or(0);
    // The CRM export has no credit column, so its planted bad amounts load.
    let loaded = sample.crm.iter().filter(|r| r.planted.is_none_or(|p| p == "bad_decimal"));
    // Cells whose only number is such a mobile (a second number of a cell is valid).
    let hong_kong =
        loaded.filter(|r| r.phone.as_deref().is_some_and(|p| p.contains("+852") && !p.contains('/'))).count();
    assert!(phones > 1000 && hong_kong > 0, "{phones} phones, {hong_kong} in Hong Kong");
    assert_eq!(invalid as usize, hong_kong, "{phones} phones, {invalid} invalid");

    let rejects = read_parquet(&example_run().join("rejects.parquet"));
    let erp_rejects = rejects.lazy().filter(col("source").eq(lit("erp_customers"))).collect().unwrap();
    let count = |reason: &str| {
        erp_rejects.column("reason").unwrap().str().unwrap().iter().filter(|r| *r == Some(reason)).count() as u64
    };
    for reason in ["missing_required", "duplicate_key", "bad_date", "bad_decimal", "not_allowed", "ragged_row"] {
        assert_eq!(count(reason), planted(reason), "{reason}");
        assert!(planted(reason) > 0, "the sample plants {reason}");
    }
}

/// A text cell that looks like a formula stays text in the workbook, and an Excel
/// serial date in a date column is a date.
#[test]
fn workbook_text_is_never_a_formula() {
    use calamine::{Data, Reader, open_workbook_auto};
    let p = Project::new();
    let evil = "=HYPERLINK(\"http://example.com\",\"点我\")";
    let csv = format!("客户编码,客户名称,客户分类,建档日期\nC1,\"{}\",成单客户,45356\n", evil.replace('"', "\"\""));
    p.write("data/c.csv", csv);
    p.write("pipelines/p.yaml", customers_pipeline("p", "c.csv", ""));
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let mut book = open_workbook_auto(p.latest("p").join("p.xlsx")).unwrap();
    let sheet = book.worksheet_range("customers").unwrap();
    assert_eq!(sheet.get_value((1, 1)), Some(&Data::String(evil.to_string())));
    let formulas = book.worksheet_formula("customers").unwrap();
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "no formulas");
    let created = read_parquet(&p.latest("p").join("customers.parquet"))
        .column("created_at")
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    assert_eq!(created.str().unwrap().get(0), Some("2024-03-05"));
}

/// The workbook holds what people read: a table over `max_rows` is left out, never
/// cut, with a warning in the summary and the manifest, and its Parquet file whole.
#[test]
fn a_large_table_is_left_out_of_the_workbook_and_said_so() {
    use calamine::{Reader, open_workbook_auto};
    let p = Project::new();
    let rows: String = (1..=12).map(|i| format!("C{i},客户{i},成单客户\n")).collect();
    p.write("data/c.csv", format!("客户编码,客户名称,客户分类\n{rows}"));
    let workbook = "workbook:\n  tables: [counts, customers, rejects]\n  max_rows: 10\n";
    p.write("pipelines/p.yaml", format!("{}{workbook}", customers_pipeline("p", "c.csv", "")));
    let out = tally(&["run", p.path("pipelines/p.yaml").to_str().unwrap(), "--out", p.path("runs").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("warning: workbook: table 'customers' (12 rows) is left out of the workbook"),
        "{summary}"
    );
    let book = open_workbook_auto(p.latest("p").join("p.xlsx")).unwrap();
    assert_eq!(book.sheet_names(), ["counts", "rejects"]);
    assert_eq!(read_parquet(&p.latest("p").join("customers.parquet")).height(), 12);
    let findings = p.manifest("p")["findings"].clone();
    assert_eq!(findings[0]["code"], "workbook_table_left_out", "{findings}");

    // A name that is no output is refused before any data is read.
    let misspelt = format!("{}workbook:\n  tables: [count]\n", customers_pipeline("p", "c.csv", ""));
    p.write("pipelines/q.yaml", misspelt);
    let out = tally(&["check", p.path("pipelines/q.yaml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("workbook table 'count' is not an output"), "{}", stderr(&out));
    assert!(stderr(&out).contains("did you mean 'counts'?"), "{}", stderr(&out));
}

/// In a Parquet export, as in text, blank text is no value: a required column left
/// blank (spaces, a full-width space) is rejected, another becomes null, and values
/// are trimmed.
#[test]
fn blank_parquet_text_is_no_value() {
    let p = Project::new();
    let mut df = df! {
        "客户编码" => ["C1", "C2", "C3"],
        "客户名称" => [" 华信科技 ", "\u{3000}", "远智实业"],
        "客户分类" => ["成单客户", "成单客户", "成单客户"],
        "联系人" => [Some("  "), Some("王伟"), Some("")],
    }
    .unwrap();
    tally::write::write_parquet(&mut df, &p.path("data/c.parquet")).unwrap();
    p.write("pipelines/p.yaml", customers_pipeline("p", "c.parquet", ""));
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let customers = read_parquet(&p.latest("p").join("customers.parquet"));
    let text = |c: &str| -> Vec<Option<String>> {
        customers.column(c).unwrap().str().unwrap().iter().map(|v| v.map(String::from)).collect()
    };
    assert_eq!(text("customer_id"), [Some("C1".to_string()), Some("C3".to_string())]);
    assert_eq!(text("name"), [Some("华信科技".to_string()), Some("远智实业".to_string())]);
    assert_eq!(text("contact"), [None, None]);
    let rejects = read_parquet(&p.latest("p").join("rejects.parquet"));
    let reasons: Vec<Option<&str>> = rejects.column("reason").unwrap().str().unwrap().iter().collect();
    assert_eq!(reasons, [Some("missing_required")]);
}

/// The same seed writes the same bytes, workbook included.
#[test]
fn sample_generation_is_deterministic() {
    let (a, b) = (Project::new(), Project::new());
    for p in [&a, &b] {
        let out = tally(&[
            "sample",
            "--out",
            p.path("data").to_str().unwrap(),
            "--customers",
            "200",
            "--transactions",
            "300",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    for file in ["erp_customers.csv", "crm_customers.xlsx", "transactions.parquet", "fx_rates.csv", "truth.csv"] {
        let read = |p: &Project| std::fs::read(p.path("data").join(file)).unwrap();
        assert!(read(&a) == read(&b), "{file} differs between two runs with one seed");
    }
}
