//! A Parquet source streamed through batched stages a few row groups at a time must
//! give what the same pipeline gives holding every table whole: the same outputs,
//! rejects, row counts and cleaning report, with `unique:` repeats found across
//! batches.

use polars::prelude::*;

use crate::util::{Project, read_parquet, repo, stderr, tally};

const PIPELINE: &str = r#"
name: streamed
as_of: 2024-12-31
sources:
  transactions: { path: ../data/transactions.parquet, schema: ../schemas/transactions.yaml }
  fx_rates: { path: ../data/fx_rates.csv, schema: ../schemas/fx_rates.yaml }
stages:
  - filter: { input: transactions, output: documents, where: "doc_type <> '收款单'" }
  - clean:
      input: documents
      output: documents_cny
      columns:
        customer_id: { normalize: text }
        amount:
          normalize: money
          convert_currency: { to: CNY, rates: fx_rates, on: doc_date, currency: currency }
  - count: { input: documents_cny, output: by_type, by: [doc_type, currency], count_column: documents }
  # A distinct count is no sum of batches: it reads the table whole.
  - count: { input: documents_cny, output: customers, by: [doc_type], distinct: customer_id }
outputs: [documents_cny, by_type, customers]
"#;

/// The sample's documents (under their Chinese headers) as text in row groups of 500, with faults in later groups:
/// a document number repeating one of the first group's, a bad date, a bad amount,
/// an unknown currency and a dollar invoice dated before any FX rate.
fn documents(project: &Project) -> usize {
    let docs = read_parquet(&repo().join("sample_data/transactions.parquet"));
    let n = docs.height() as u32;
    assert!(n > 4_000, "the sample has {n} documents");
    let text: Vec<Expr> = docs.get_column_names().iter().map(|c| col(c.as_str()).cast(DataType::String)).collect();
    let at = |row: u32| col("__i").eq(lit(row));
    let first_doc = docs.column("单据编号").unwrap().str().unwrap().get(3).unwrap().to_string();
    let mut faulty = docs
        .lazy()
        .select(text)
        .with_row_index("__i", None)
        .with_columns([
            when(at(n - 1)).then(lit(first_doc)).otherwise(col("单据编号")).alias("单据编号"),
            when(at(n - 700)).then(lit("2024-02-30")).otherwise(col("单据日期")).alias("单据日期"),
            when(at(n - 1500)).then(lit("12,3x")).otherwise(col("金额")).alias("金额"),
            when(at(n - 2300)).then(lit("XXX")).otherwise(col("币种")).alias("币种"),
        ])
        .with_columns([
            when(at(n - 3100)).then(lit("1999-01-04")).otherwise(col("单据日期")).alias("单据日期"),
            when(at(n - 3100)).then(lit("蓝字发票")).otherwise(col("单据类型")).alias("单据类型"),
            when(at(n - 3100)).then(lit("USD")).otherwise(col("币种")).alias("币种"),
        ])
        .drop(cols(["__i"]))
        .collect()
        .unwrap();
    let file = std::fs::File::create(project.path("data/transactions.parquet")).unwrap();
    ParquetWriter::new(file).with_row_group_size(Some(500)).finish(&mut faulty).unwrap();
    std::fs::copy(repo().join("sample_data/fx_rates.csv"), project.path("data/fx_rates.csv")).unwrap();
    n as usize
}

#[test]
fn a_streamed_parquet_source_gives_what_whole_tables_give() {
    let project = Project::new();
    let rows = documents(&project);
    let pipeline = project.write("pipelines/streamed.yaml", PIPELINE);
    let run = |batch_rows: &str| {
        let out = project.path(&format!("runs-{batch_rows}"));
        let args = ["run", pipeline.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"];
        let done = tally(&[&args[..], &["--batch-rows", batch_rows]].concat());
        assert!(done.status.success(), "{}", stderr(&done));
        std::fs::canonicalize(out.join("streamed/latest")).unwrap()
    };
    let (whole, streamed) = (run("0"), run("1000"));
    let manifest = |dir: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
    };
    let (a, b) = (manifest(&whole), manifest(&streamed));
    let load = |m: &serde_json::Value| m["inputs"].as_array().unwrap()[0].clone();
    assert_eq!(load(&a)["batches"], 1);
    // Batches are runs of whole row groups of at least 1000 rows (the last one less).
    let file = std::fs::File::open(project.path("data/transactions.parquet")).unwrap();
    let groups: Vec<usize> =
        ParquetReader::new(file).get_metadata().unwrap().row_groups.iter().map(|g| g.num_rows()).collect();
    assert!(groups.len() > 20 && groups.iter().all(|&g| g < 1000), "{groups:?}");
    let (mut batches, mut run) = (0, 0);
    for g in &groups {
        run += g;
        if run >= 1000 {
            (batches, run) = (batches + 1, 0);
        }
    }
    batches += usize::from(run > 0);
    assert_eq!(load(&b)["batches"].as_u64().unwrap() as usize, batches);
    assert_eq!(groups.iter().sum::<usize>(), rows);
    for key in ["rows_read", "rows_accepted", "rows_rejected", "reject_entries"] {
        assert_eq!(load(&a)[key], load(&b)[key], "load {key}");
    }
    for (x, y) in a["stages"].as_array().unwrap().iter().zip(b["stages"].as_array().unwrap()) {
        for key in ["id", "rows_in", "rows_out", "rows_rejected", "tables", "report"] {
            assert_eq!(x[key], y[key], "stage {} {key}", x["id"]);
        }
    }
    for table in ["documents_cny", "by_type", "customers", "rejects"] {
        let file = format!("{table}.parquet");
        let (x, y) = (read_parquet(&whole.join(&file)), read_parquet(&streamed.join(&file)));
        assert!(x.equals_missing(&y), "{table} differs:\n{x}\n{y}");
    }
    // Every fault was found, the repeat across batches too.
    let rejects = read_parquet(&streamed.join("rejects.parquet"));
    let reasons: Vec<&str> = rejects.column("reason").unwrap().str().unwrap().iter().flatten().collect();
    for reason in ["duplicate_key", "bad_date", "bad_decimal", "not_allowed", "no_fx_rate"] {
        assert!(reasons.iter().any(|r| r.contains(reason)), "no {reason} in {reasons:?}");
    }
}
