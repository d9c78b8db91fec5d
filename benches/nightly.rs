//! The nightly chain at scale: the example pipeline, end to end, on a generated sample
//! of `TALLY_BENCH_CUSTOMERS` customers (default 1,000,000) and `TALLY_BENCH_INVOICES`
//! invoices (default 20,000,000; credit notes and payments come in addition). The
//! sample is generated once into the bench-data folder. Prints each source's and
//! stage's seconds, the whole run's and its peak memory; then a plain Polars lazy query
//! for the transactions branch on the same files, and the ratio.
//!
//! `cargo bench --bench nightly`. Run by hand: the sample takes minutes to generate and
//! a few GB of disk. `TALLY_BENCH_TALLY=path/to/tally` times that binary on the same
//! pipeline instead (an older build, for before-and-after figures).

#[allow(dead_code)] // each bench uses part of it
mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{data_dir, in_child, in_child_with, peak_mib, size};
use polars::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--pipeline") {
        return run_pipeline(Path::new(&args[i + 1]));
    }
    if let Some(i) = args.iter().position(|a| a == "--polars") {
        return polars_branch(Path::new(&args[i + 1]));
    }
    let (customers, invoices) = (size("TALLY_BENCH_CUSTOMERS", 1_000_000), size("TALLY_BENCH_INVOICES", 20_000_000));
    let dir = data_dir().join(format!("nightly_{customers}x{invoices}"));
    if !dir.join("transactions.parquet").exists() {
        let spec = tally::sample::SampleSpec { customers, transactions: invoices, seed: 7, noise: Default::default() };
        tally::sample::write_sample(&dir, &spec).unwrap();
    }
    let pipeline = example_pipeline(&dir);
    println!("nightly: {customers} customers, {invoices} invoices ({})", dir.display());
    let run = |pipeline: &Path| match std::env::var_os("TALLY_BENCH_TALLY") {
        Some(binary) => external(Path::new(&binary), pipeline),
        None => in_child(&["--pipeline", pipeline.to_str().unwrap()]),
    };
    let tally_run = run(&pipeline);
    print!("{tally_run}");
    println!("the transactions branch alone, as the Polars query does it (no other node, no output written):");
    let branch_run = run(&branch_pipeline(&pipeline));
    print!("{branch_run}");
    // The Polars query runs with jemalloc's own defaults (as Polars ships it), not
    // tally's setting.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let defaults = format!("dirty_decay_ms:10000,muzzy_decay_ms:0,narenas:{}", 4 * cores);
    let polars = in_child_with(&["--polars", dir.to_str().unwrap()], &[("_RJEM_MALLOC_CONF", defaults)]);
    print!("{polars}");
    let seconds = |text: &str, key: &str| -> f64 {
        text.lines().find_map(|l| l.trim().strip_prefix(key)?.split_whitespace().next()?.parse().ok()).unwrap()
    };
    let polars = seconds(&polars, "polars branch");
    for (what, text) in [("in the whole run", &tally_run), ("alone", &branch_run)] {
        println!("transactions branch {what}: tally / polars = {:.2}", seconds(text, "transactions branch") / polars);
    }
}

/// The example pipeline cut to its transactions branch: the transactions and the rates,
/// the stages reading transactions, and only the last one's small table as an output,
/// which is what the Polars query computes.
fn branch_pipeline(example: &Path) -> PathBuf {
    let text = std::fs::read_to_string(example).unwrap();
    let mut pipeline: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let sources = pipeline["sources"].as_object_mut().unwrap();
    sources.retain(|name, _| name == "transactions" || name == "fx_rates");
    let stages = pipeline["stages"].as_array_mut().unwrap();
    // The stages that read the transactions and nothing of the customers' (the ledger
    // also reads the dedup's cluster map).
    let reads_transactions = |stage: &serde_json::Value| {
        stage.as_object().unwrap().values().any(|c| {
            c["input"].as_str().is_some_and(|i| i.starts_with("transactions")) && c.get("customer_map").is_none()
        })
    };
    stages.retain(reads_transactions);
    let last = stages.last().unwrap().as_object().unwrap().values().next().unwrap()["output"].clone();
    pipeline["outputs"] = serde_json::json!([last]);
    pipeline["name"] = "transactions_branch".into();
    let path = example.with_file_name("transactions_branch.yaml");
    let mut text = String::new();
    yaml(&pipeline, 0, &mut text);
    std::fs::write(&path, text).unwrap();
    path
}

/// `value` as block YAML, strings as JSON's double-quoted scalars (which YAML reads).
fn yaml(value: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value;
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                out.push_str(&format!("{pad}{key}:"));
                if v.is_object() || v.as_array().is_some_and(|a| a.iter().any(|i| i.is_object())) {
                    out.push('\n');
                    yaml(v, indent + 2, out);
                } else {
                    out.push_str(&format!(" {v}\n"));
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str(&format!("{pad}-\n"));
                yaml(item, indent + 2, out);
            }
        }
        scalar => out.push_str(&format!("{pad}{scalar}\n")),
    }
}

/// The example pipeline with its paths pointed at `dir` and the repo's schemas.
fn example_pipeline(dir: &Path) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(repo.join("pipelines/quarterly_inventory.yaml")).unwrap();
    let text = text
        .replace("../sample_data/", &format!("{}/", dir.display()))
        .replace("../schemas/", &format!("{}/schemas/", repo.display()));
    let path = dir.join("quarterly_inventory.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the pipeline in this process and prints its figures.
fn run_pipeline(pipeline: &Path) {
    let started = Instant::now();
    let plan = tally::plan::plan(pipeline).unwrap_or_else(|d| panic!("{d:?}"));
    let out = std::env::temp_dir().join("tally-nightly-runs");
    let options =
        tally::run::RunOptions { out: out.clone(), as_of: None, quiet: true, batch_rows: tally::run::BATCH_ROWS };
    let report = tally::run::run_pipeline(&plan, &options).unwrap();
    let manifest = serde_json::to_value(&report.manifest).unwrap();
    print!("{}", figures(&manifest, started.elapsed().as_secs_f64(), peak_mib()));
    let _ = std::fs::remove_dir_all(out);
}

/// Runs another tally binary on the pipeline and prints the same figures from its
/// manifest, with its wall time and peak memory as the kernel counted them.
fn external(binary: &Path, pipeline: &Path) -> String {
    let out = std::env::temp_dir().join("tally-nightly-external");
    let _ = std::fs::remove_dir_all(&out);
    let (seconds, peak) = timed(&[
        binary.to_str().unwrap(),
        "run",
        pipeline.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    // The only pipeline folder in `out`, whatever the pipeline's name.
    let folder = std::fs::read_dir(&out).unwrap().next().unwrap().unwrap().path();
    let latest = folder.join("latest/manifest.json");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(latest).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(out);
    figures(&manifest, seconds, peak)
}

/// Per source and stage seconds, the transactions branch (its load and stages added up), the
/// whole run and its peak memory.
fn figures(manifest: &serde_json::Value, seconds: f64, peak: f64) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut branch = 0.0;
    for input in manifest["inputs"].as_array().unwrap() {
        let (name, s) = (input["source"].as_str().unwrap(), input["seconds"].as_f64().unwrap());
        if name == "transactions" {
            branch += s;
        }
        let _ = writeln!(out, "  load {name:<32} {s:>8.2} s");
    }
    for stage in manifest["stages"].as_array().unwrap() {
        let (id, s) = (stage["id"].as_str().unwrap(), stage["seconds"].as_f64().unwrap());
        // A stage that streamed from transactions ran within that load's seconds.
        let reads = stage["inputs"].as_array().unwrap().iter().any(|i| i.as_str().unwrap().starts_with("transactions"));
        if reads && stage.get("streamed_from").is_none() {
            branch += s;
        }
        let _ = writeln!(out, "  {:<5} {id:<32} {s:>8.2} s", stage["kind"].as_str().unwrap());
    }
    let _ = writeln!(
        out,
        "  transactions branch {branch:.2} s (its load, with the stages it streamed through, and later stages, added up)"
    );
    let _ = writeln!(out, "  run {seconds:.2} s, peak {peak:.0} MiB");
    out
}

/// Wall seconds and peak MiB of `command`, as GNU time counts them (`/usr/bin/time`).
fn timed(command: &[&str]) -> (f64, f64) {
    let out = std::process::Command::new("/usr/bin/time").args(["-f", "%e %M"]).args(command).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    let mut fields = last.split_whitespace().map(|f| f.parse::<f64>().unwrap());
    (fields.next().unwrap(), fields.next().unwrap() / 1024.0)
}

/// The transactions branch as an experienced Polars user writes it: scan the Parquet
/// lazily, give each document the rate of its date or the latest before it by joining
/// a small table of (currency, day) → rate, filled forward over the days, instead of
/// sorting the big table for an as-of join; check what the schema requires, convert,
/// count by type and currency.
fn polars_branch(dir: &Path) {
    let started = Instant::now();
    let rates = CsvReadOptions::default()
        .with_has_header(true)
        .with_parse_options(CsvParseOptions::default().with_try_parse_dates(true))
        .try_into_reader_with_file_path(Some(dir.join("fx_rates.csv")))
        .unwrap()
        .finish()
        .unwrap()
        .lazy()
        .select([
            col("日期").cast(DataType::Date).alias("day"),
            col("原币").alias("currency"),
            col("汇率").cast(DataType::Float64).alias("rate"),
        ]);
    let documents =
        LazyFrame::scan_parquet(dir.join("transactions.parquet").to_str().unwrap().into(), Default::default())
            .unwrap()
            .select([
                col("单据编号").alias("doc_no"),
                col("单据类型").alias("doc_type"),
                col("单据日期").alias("doc_date"),
                col("金额").alias("amount"),
                col("币种").alias("currency"),
            ])
            .filter(
                col("doc_no").is_not_null().and(col("doc_date").is_not_null()).and(col("amount").is_not_null()).and(
                    col("doc_type")
                        .is_in(lit(Series::new("t".into(), ["蓝字发票", "红字发票", "收款单"])).implode(false), false),
                ),
            )
            .filter(col("doc_no").is_first_distinct());
    // One row per currency and day, each with the latest rate on or before it: a few
    // thousand rows, the only table sorted.
    let span = documents.clone().select([col("doc_date").min().alias("lo"), col("doc_date").max().alias("hi")]);
    let span = span.collect().unwrap();
    let day = |c: &str| span.column(c).unwrap().cast(&DataType::Int32).unwrap().i32().unwrap().get(0).unwrap();
    let days = Series::new("day".into(), (day("lo")..=day("hi")).collect::<Vec<i32>>()).cast(&DataType::Date).unwrap();
    let currencies = rates.clone().select([col("currency").unique()]);
    let calendar = DataFrame::new(days.len(), vec![days.into_column()]).unwrap().lazy().cross_join(currencies, None);
    let options = AsOfOptions {
        strategy: AsofStrategy::Backward,
        left_by: Some(vec!["currency".into()]),
        right_by: Some(vec!["currency".into()]),
        allow_eq: true,
        ..Default::default()
    };
    let daily = calendar.sort(["day"], Default::default()).join(
        rates.sort(["day"], Default::default()),
        [col("day")],
        [col("day")],
        JoinArgs::new(JoinType::AsOf(Box::new(options))),
    );
    let counts = documents
        .join(daily, [col("currency"), col("doc_date")], [col("currency"), col("day")], JoinArgs::new(JoinType::Left))
        .with_column(
            (col("amount").cast(DataType::Float64)
                * when(col("currency").eq(lit("CNY"))).then(lit(1.0)).otherwise(col("rate")))
            .alias("amount_cny"),
        )
        .group_by([col("doc_type"), col("currency")])
        .agg([len().alias("documents"), col("amount_cny").sum(), col("rate").null_count().alias("no_rate")])
        .collect()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("{counts}");
    println!("  polars branch {seconds:.2} s, peak {:.0} MiB", peak_mib());
}
