//! Out of core: a transactions Parquet of `TALLY_BENCH_ROWS` rows (default 100,000,000)
//! goes through load, FX conversion and a per-customer count, the grouping the
//! activity stage aggregates by. The file is made once, by repeating the nightly
//! sample's documents under new document numbers (so `unique:` still holds), in
//! row groups as the sample has them. Prints the stage times, the run's wall time and
//! its peak memory.
//!
//! `cargo bench --bench out_of_core`, by hand, after `cargo bench --bench nightly` has
//! generated the sample: the file takes a few GB of disk.

#[allow(dead_code)] // each bench uses part of it
mod common;

use std::path::Path;
use std::time::Instant;

use common::{data_dir, in_child, peak_mib, size};
use polars::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--pipeline") {
        return run_pipeline(Path::new(&args[i + 1]));
    }
    let rows = size("TALLY_BENCH_ROWS", 100_000_000);
    let sample = data_dir().join("nightly_1000000x20000000");
    assert!(sample.join("transactions.parquet").exists(), "run `cargo bench --bench nightly` first");
    let dir = data_dir().join(format!("out_of_core_{rows}"));
    let documents = dir.join("transactions.parquet");
    if !documents.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let started = Instant::now();
        repeat(&sample.join("transactions.parquet"), &documents, rows);
        println!("made {rows} documents in {:.0} s", started.elapsed().as_secs_f64());
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pipeline = dir.join("out_of_core.yaml");
    let text = PIPELINE
        .replace("DIR", &dir.display().to_string())
        .replace("SAMPLE", &sample.display().to_string())
        .replace("REPO", &repo.display().to_string());
    std::fs::write(&pipeline, text).unwrap();
    let size = std::fs::metadata(&documents).unwrap().len() as f64 / (1 << 30) as f64;
    println!("out of core: {rows} documents, {size:.1} GiB of Parquet ({})", documents.display());
    print!("{}", in_child(&["--pipeline", pipeline.to_str().unwrap()]));
}

const PIPELINE: &str = r#"
name: out_of_core
sources:
  transactions: { path: DIR/transactions.parquet, schema: REPO/schemas/transactions.yaml }
  fx_rates: { path: SAMPLE/fx_rates.csv, schema: REPO/schemas/fx_rates.yaml }
stages:
  - clean:
      input: transactions
      output: transactions_cny
      columns:
        amount:
          normalize: money
          convert_currency: { to: CNY, rates: fx_rates, on: doc_date, currency: currency }
  - count: { input: transactions_cny, output: activity, by: [customer_id, doc_type], count_column: documents }
outputs: [activity]
workbook: { max_rows: 10000 }
"#;

/// `rows` documents: the sample's, again and again, the n-th copy's numbers (and the
/// invoices its credit notes and payments refer to) suffixed `/n`.
fn repeat(sample: &Path, to: &Path, rows: usize) {
    let open = || ParquetReader::new(std::fs::File::open(sample).unwrap());
    let groups: Vec<usize> = open().get_metadata().unwrap().row_groups.iter().map(|g| g.num_rows()).collect();
    let mut sink = None;
    let mut written = 0;
    for copy in 0.. {
        let mut offset = 0;
        for group in &groups {
            let take = (*group).min(rows - written);
            let batch = open().with_slice(Some((offset, take))).finish().unwrap();
            offset += group;
            let renamed = |c: &str| {
                let suffixed = concat_str([col(c), lit(format!("/{copy}"))], "", false);
                if copy == 0 { col(c) } else { suffixed }.alias(c)
            };
            let batch = batch.lazy().with_columns([renamed("单据编号"), renamed("原发票号")]).collect().unwrap();
            let writer = sink.get_or_insert_with(|| tally::write::ParquetSink::create(to, batch.schema()).unwrap());
            writer.write(batch).unwrap();
            written += take;
            if written == rows {
                sink.take().unwrap().finish().unwrap();
                return;
            }
        }
    }
}

/// Runs the pipeline in this process and prints its figures.
fn run_pipeline(pipeline: &Path) {
    let started = Instant::now();
    let plan = tally::plan::plan(pipeline).unwrap_or_else(|d| panic!("{d:?}"));
    let out = std::env::temp_dir().join("tally-out-of-core-runs");
    let options =
        tally::run::RunOptions { out: out.clone(), as_of: None, quiet: true, batch_rows: tally::run::BATCH_ROWS };
    let report = tally::run::run_pipeline(&plan, &options).unwrap();
    let manifest = serde_json::to_value(&report.manifest).unwrap();
    for input in manifest["inputs"].as_array().unwrap() {
        let (name, seconds) = (input["source"].as_str().unwrap(), input["seconds"].as_f64().unwrap());
        println!("  load {name:<24} {seconds:>8.2} s, {} rows in {} batches", input["rows_read"], input["batches"]);
    }
    for stage in manifest["stages"].as_array().unwrap() {
        let (id, seconds) = (stage["id"].as_str().unwrap(), stage["seconds"].as_f64().unwrap());
        let streamed = stage.get("streamed_from").map_or(String::new(), |s| format!(" (streamed from {s})"));
        println!(
            "  {:<5} {id:<24} {seconds:>8.2} s, {} rows out{streamed}",
            stage["kind"].as_str().unwrap(),
            stage["rows_out"]
        );
    }
    println!("  run {:.2} s, peak {:.0} MiB", started.elapsed().as_secs_f64(), peak_mib());
    let _ = std::fs::remove_dir_all(out);
}
