//! Malformed inputs: a clear message naming the file (and where), a non-zero exit,
//! and no run directory left behind or marked as latest.

use crate::util::*;

/// Runs a one-source pipeline over `content` and returns (exit code, stderr).
fn run_on(file: &str, content: &[u8], extra: &str) -> (Project, i32, String) {
    let p = Project::new();
    p.write(&format!("data/{file}"), content);
    p.write("pipelines/p.yaml", customers_pipeline("p", file, extra));
    let out = p.run("pipelines/p.yaml");
    let code = out.status.code().unwrap();
    let err = stderr(&out);
    (p, code, err)
}

fn assert_no_run_left(p: &Project) {
    let base = p.path("runs/p");
    let left: Vec<_> =
        std::fs::read_dir(&base).map(|d| d.map(|e| e.unwrap().file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
}

const HEADER: &str = "客户编码,客户名称,客户分类\n";

#[test]
fn ragged_rows_are_rejected_with_their_line() {
    let csv = format!(
        "{HEADER}C1,甲公司,成单客户\nC2,\"乙公司, 北京\",成单客户,\"多余\"\"引号\"\nC3,丙公司\nC4,丁公司,潜在客户\n"
    );
    let (p, code, err) = run_on("c.csv", csv.as_bytes(), "");
    assert_eq!(code, 0, "{err}");
    let m = p.manifest("p");
    assert_eq!(m["inputs"][0]["rows_read"], 4);
    assert_eq!(m["inputs"][0]["rows_rejected"], 2);
    let rejects = read_parquet(&p.latest("p").join("rejects.parquet"));
    let rows: Vec<u64> = rejects.column("row").unwrap().u64().unwrap().no_null_iter().collect();
    assert_eq!(rows, [3, 4]);
    let detail = rejects.column("detail").unwrap().str().unwrap().get(0).unwrap();
    assert_eq!(detail, "expected 3 fields, found 4");
    // The record is a CSV line again, quoted as it must be to be reloaded.
    let record = rejects.column("record").unwrap().str().unwrap().get(0).unwrap();
    assert_eq!(record, "C2,\"乙公司, 北京\",成单客户,\"多余\"\"引号\"");
}

#[test]
fn invalid_utf8_in_a_declared_utf8_file_names_the_line() {
    let text = format!("{HEADER}C1,甲公司,成单客户\n");
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let (p, code, err) = run_on("c.csv", &gbk, "    encoding: utf8\n");
    assert_eq!(code, 1);
    assert!(err.contains("c.csv") && err.contains("invalid UTF-8 at line 1"), "{err}");
    assert_no_run_left(&p);
}

#[test]
fn truncated_xlsx_is_an_error() {
    let p0 = Project::new();
    tally(&["sample", "--out", p0.path("data").to_str().unwrap(), "--customers", "50", "--transactions", "10"]);
    let full = std::fs::read(p0.path("data/crm_customers.xlsx")).unwrap();
    let (p, code, err) = run_on("c.xlsx", &full[..full.len() / 2], "");
    assert_eq!(code, 1);
    assert!(err.contains("c.xlsx") && err.contains("not a readable workbook"), "{err}");
    assert_no_run_left(&p);
}

#[test]
fn a_non_parquet_file_named_parquet_is_an_error() {
    let (p, code, err) = run_on("c.parquet", HEADER.as_bytes(), "");
    assert_eq!(code, 1);
    assert!(err.contains("c.parquet") && err.contains("not a readable Parquet file"), "{err}");
    assert_no_run_left(&p);
}

#[test]
fn an_empty_file_is_an_error() {
    let (p, code, err) = run_on("c.csv", b"", "");
    assert_eq!(code, 1);
    assert!(err.contains("c.csv: empty file"), "{err}");
    assert_no_run_left(&p);
}

#[test]
fn a_header_only_file_is_an_error_unless_allowed() {
    let (p, code, err) = run_on("c.csv", HEADER.as_bytes(), "");
    assert_eq!(code, 1);
    assert!(err.contains("c.csv: no data rows below the header"), "{err}");
    assert_no_run_left(&p);
    let (p, code, err) = run_on("c.csv", HEADER.as_bytes(), "    allow_empty: true\n");
    assert_eq!(code, 0, "{err}");
    assert_eq!(p.manifest("p")["inputs"][0]["rows_read"], 0);
}

#[test]
fn a_missing_required_column_lists_the_headers_found() {
    let (p, code, err) = run_on("c.csv", "编号,名称\n1,甲\n".as_bytes(), "");
    assert_eq!(code, 1);
    assert!(err.contains("no header maps to required column 'customer_id'"), "{err}");
    assert!(err.contains("headers found: 编号, 名称"), "{err}");
    assert_no_run_left(&p);
}

#[test]
fn a_failing_later_run_keeps_latest_on_the_good_run() {
    let p = Project::new();
    p.write("data/c.csv", format!("{HEADER}C1,甲公司,成单客户\n"));
    p.write("pipelines/p.yaml", customers_pipeline("p", "c.csv", ""));
    assert!(p.run("pipelines/p.yaml").status.success());
    let good = p.latest("p");
    p.write("data/c.csv", b"\xFF\xFE\xFF");
    assert_eq!(p.run("pipelines/p.yaml").status.code(), Some(1));
    assert_eq!(p.latest("p"), good);
    assert_eq!(std::fs::read_dir(p.path("runs/p")).unwrap().count(), 2, "the good run and latest");
}

#[test]
fn title_lines_above_a_csv_header_are_skipped() {
    let csv = format!("客户档案导出\n导出日期: 2024-12-31\n\n{HEADER}C1,甲公司,成单客户\n,乙公司,成单客户\n");
    let (p, code, err) = run_on("c.csv", csv.as_bytes(), "");
    assert_eq!(code, 0, "{err}");
    let input = &p.manifest("p")["inputs"][0];
    assert_eq!((input["header_row"].as_u64(), input["rows_read"].as_u64()), (Some(4), Some(2)));
    let rejects = read_parquet(&p.latest("p").join("rejects.parquet"));
    assert_eq!(rejects.column("row").unwrap().u64().unwrap().get(0), Some(6), "rows keep their line numbers");
}

/// Spaces around text are an entry habit: string columns lose them, unless the schema
/// keeps a column's exact text with `trim: false`.
#[test]
fn string_columns_are_trimmed_unless_a_column_opts_out() {
    let p = Project::new();
    p.write(
        "schemas/s.yaml",
        "name: s\ncolumns:\n  - name: customer_id\n    type: string\n  - name: name\n    type: string\n  - name: code\n    type: string\n    trim: false\n",
    );
    p.write("data/c.csv", "customer_id,name,code\n C1 ,\u{3000}甲公司 , 007 \n");
    p.write(
        "pipelines/p.yaml",
        "name: p\nsources:\n  c:\n    path: ../data/c.csv\n    schema: ../schemas/s.yaml\noutputs: [c]\n",
    );
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let c = read_parquet(&p.latest("p").join("c.parquet"));
    let text = |col: &str| c.column(col).unwrap().str().unwrap().get(0).unwrap().to_string();
    assert_eq!((text("customer_id"), text("name"), text("code")), ("C1".into(), "甲公司".into(), " 007 ".into()));
}

/// A CRM that writes its categories in English (any case or width) is translated by the
/// schema's `values:` before `allowed:` is checked; an unknown word is still refused.
#[test]
fn values_from_another_system_are_translated_before_they_are_checked() {
    let p = Project::new();
    p.write(
        "data/c.csv",
        "客户编码,客户名称,客户分类\nC1,甲公司,Customer\nC2,乙公司,ｐｒｏｓｐｅｃｔ\nC3,丙公司,Supplier\n",
    );
    p.write("pipelines/p.yaml", customers_pipeline("p", "c.csv", ""));
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let customers = read_parquet(&p.latest("p").join("customers.parquet"));
    let categories: Vec<&str> = customers.column("category").unwrap().str().unwrap().iter().flatten().collect();
    assert_eq!(categories, ["成单客户", "潜在客户"]);
    let rejects = read_parquet(&p.latest("p").join("rejects.parquet"));
    assert_eq!(rejects.column("reason").unwrap().str().unwrap().get(0), Some("not_allowed"));
    assert_eq!(rejects.column("value").unwrap().str().unwrap().get(0), Some("Supplier"));
}

/// A source whose rows are nearly all refused is a warning in the summary and the
/// manifest, naming the main reason; `max_reject_rate` turns it into a stop.
#[test]
fn a_source_almost_all_rejected_is_a_warning_and_a_gate_stops_it() {
    let p = Project::new();
    p.write(
        "schemas/strict.yaml",
        "name: strict\ncolumns:\n  - { name: customer_id, type: string, aliases: [客户编码] }\n  - { name: category, type: string, allowed: [成单客户, 潜在客户], aliases: [客户分类] }\n",
    );
    p.write("data/c.csv", "客户编码,客户分类\nC1,Customer\nC2,Prospect\nC3,Customer\nC4,成单客户\n");
    let pipeline = |extra: &str| {
        format!(
            "name: p\nsources:\n  crm:\n    path: ../data/c.csv\n    schema: ../schemas/strict.yaml\n{extra}outputs: [crm]\n"
        )
    };
    p.write("pipelines/p.yaml", pipeline(""));
    let out = tally(&["run", p.path("pipelines/p.yaml").to_str().unwrap(), "--out", p.path("runs").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned() + &stderr(&out);
    assert!(printed.contains("3 of 4 rows rejected (75%), most for not_allowed (3)"), "{printed}");
    assert!(printed.contains("values:"), "the warning says how to map the words: {printed}");
    let manifest = p.manifest("p");
    let finding = &manifest["findings"][0];
    assert_eq!((finding["code"].as_str(), finding["severity"].as_str()), (Some("mostly_rejected"), Some("warn")));

    p.write("pipelines/gated.yaml", pipeline("    max_reject_rate: 0.5\n").replace("name: p", "name: gated"));
    let out = p.run("pipelines/gated.yaml");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}
