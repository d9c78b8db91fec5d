//! Pipelines end to end: counts, rejects with reasons, manifest numbers.

use polars::prelude::*;

use crate::util::*;

const CSV: &str = "\u{feff}客户编码,客户名称,客户分类,信用额度,建档日期,状态,备注\n\
C001,北京华信科技有限公司,成单客户,\"¥1,234.50\",2024/3/5,正常,x\n\
C002,上海瑞祥贸易有限公司,潜在客户,\"1,000.00元\",2024年3月6日, 正常 ,\n\
C003,深圳鑫达电子有限公司,成单客户,待定,20240307,正常,\n\
C004,杭州天海物流有限公司,测试客户,100,2024-03-08,正常,\n\
C002 ,广州宏远实业有限公司,成单客户,50,2024-02-30,正常,\n\
,成都博创医药有限公司,合作伙伴,(200.00),2024-03-09,停用,\n\
C007,武汉星辰食品有限公司,成单客户,-5,2024-03-10,正常,\n";

#[test]
fn loads_casts_quarantines_and_counts() {
    let p = Project::new();
    p.write("data/customers.csv", CSV);
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

    let dir = p.latest("p");
    let customers = read_parquet(&dir.join("customers.parquet"));
    let limits = customers.column("credit_limit").unwrap().cast(&DataType::String).unwrap();
    assert_eq!(limits.str().unwrap().no_null_iter().collect::<Vec<_>>(), ["1234.50", "1000.00"]);
    let dates = customers.column("created_at").unwrap().cast(&DataType::String).unwrap();
    assert_eq!(dates.str().unwrap().no_null_iter().collect::<Vec<_>>(), ["2024-03-05", "2024-03-06"]);

    let rejects = read_parquet(&dir.join("rejects.parquet"));
    let entries: Vec<(u64, String, String, String)> = (0..rejects.height())
        .map(|i| {
            let s = |c: &str| rejects.column(c).unwrap().str().unwrap().get(i).unwrap_or("").to_string();
            (rejects.column("row").unwrap().u64().unwrap().get(i).unwrap(), s("column"), s("value"), s("reason"))
        })
        .collect();
    let expect =
        |row: u64, col: &str, value: &str, reason: &str| (row, col.to_string(), value.to_string(), reason.to_string());
    assert_eq!(
        entries,
        [
            expect(4, "credit_limit", "待定", "bad_decimal"),
            expect(5, "category", "测试客户", "not_allowed"),
            expect(6, "customer_id", "C002 ", "duplicate_key"),
            expect(6, "created_at", "2024-02-30", "bad_date"),
            expect(7, "customer_id", "", "missing_required"),
            expect(7, "credit_limit", "(200.00)", "below_min"),
            expect(8, "credit_limit", "-5", "below_min"),
        ]
    );
    let record = rejects.column("record").unwrap().str().unwrap().get(0).unwrap();
    assert!(record.starts_with("customer_id=C003; name=深圳鑫达电子有限公司"), "{record}");

    let counts = read_parquet(&dir.join("counts.parquet"));
    let n: Vec<u64> = counts.column("customers").unwrap().u64().unwrap().no_null_iter().collect();
    assert_eq!(n, [1, 1, 2], "成单客户, 潜在客户, Total");
}

#[test]
fn every_run_gets_its_own_directory_and_latest_moves() {
    let p = Project::new();
    p.write("data/customers.csv", CSV);
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
    // every one of them cleans to a valid number.
    let customers = read_parquet(&example_run().join("customers_flagged.parquet"));
    let crm = customers.lazy().filter(col("source_system").eq(lit("crm"))).collect().unwrap();
    let phones = crm.column("phone").unwrap().str().unwrap().iter().flatten().count();
    let invalid = crm.column("phone_invalid").unwrap().bool().unwrap().sum().unwrap_or(0);
    assert!(phones > 1000 && invalid == 0, "{phones} phones, {invalid} invalid");

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
