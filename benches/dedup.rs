//! Dedup benchmark: generated customers, 20% of records duplicates with hard noise
//! (typos, missing tax ids, changed phones), cleaned once and cached, then resolved by
//! the example pipeline's own dedup stage end to end (blocking, comparison, training,
//! clustering, survivorship), each size in a fresh child process for its peak memory.
//! Accuracy against the generator's truth is printed alongside.
//!
//! `cargo bench --bench dedup`; sizes: `TALLY_BENCH_DEDUP_ROWS` (default 100000,1000000).
//! `TALLY_BENCH_VERBOSE=1` prints the stage's report and writes its model and side
//! tables to the temp folder, for looking into the misses. `benches/splink_baseline.py`
//! runs Splink on the same cached input.

#[allow(dead_code)] // each bench uses part of it
mod common;

use std::time::Instant;

use common::{data_dir, in_child, peak_mib};
use polars::prelude::*;
use tally::plan::{Plan, plan};
use tally::run::RunContext;
use tally::sample::{Noise, System, export, generate, rng};
use tally::stages::{Stage, StageOutput};

/// Every customer known once, a quarter of them entered a second time: 20% of records.
const SYSTEM: System = System { name: "erp", id_prefix: "C", coverage: 1.0, duplicate_rate: 0.25, noise: 0.5 };

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        return measure(&args[i + 1]);
    }
    let sizes = std::env::var("TALLY_BENCH_DEDUP_ROWS").unwrap_or_else(|_| "100000,1000000".into());
    println!(
        "{:>9} {:>8} {:>10} {:>12} {:>9} {:>9} {:>9}  phases (s)",
        "records", "seconds", "pairs", "pairs/s", "peak MiB", "precision", "recall"
    );
    for rows in sizes.split(',').map(|s| s.trim().parse::<usize>().expect("a row count")) {
        let path = data_dir().join(format!("dedup_input_{rows}.parquet"));
        if !path.exists() {
            write_input(rows, &path);
        }
        print!("{}", in_child(&["--measure", path.to_str().unwrap()]));
    }
}

fn pipeline() -> Plan {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/quarterly_inventory.yaml");
    plan(&path).unwrap_or_else(|d| panic!("{d:?}"))
}

/// Runs one of the example pipeline's stages on `input`.
fn run(plan: &Plan, output: &str, input: DataFrame) -> StageOutput {
    let stage: &dyn Stage = plan.stages.iter().find(|s| s.id() == output).unwrap().stage.as_ref();
    stage.run(vec![input], &RunContext::detached(tally::sample::as_of())).unwrap()
}

/// Generated records as the export would hold them, cleaned by the pipeline's clean
/// stage, with each record's true entity in `entity_id`.
fn write_input(rows: usize, path: &std::path::Path) {
    let mut rng = rng(42);
    let world = generate(&mut rng, rows * 5 / 6 + 10);
    let mut records = export(&mut rng, &world, &SYSTEM, Noise::Hard);
    records.retain(|r| r.planted.is_none());
    records.truncate(rows);
    let text = |f: fn(&tally::sample::Record) -> Option<String>| records.iter().map(f).collect::<Vec<_>>();
    let raw = df! {
        "customer_id" => text(|r| r.customer_id.clone()),
        "name" => text(|r| Some(r.name.clone())),
        "tax_id" => text(|r| r.uscc.clone()),
        "phone" => text(|r| r.phone.clone()),
        "contact" => text(|r| r.contact.clone()),
        "email" => text(|r| r.email.clone()),
        "address" => text(|r| r.address.clone()),
        "region" => text(|r| Some(r.region.clone())),
        "category" => text(|r| Some(r.category.clone())),
        "status" => text(|r| Some(r.status.to_string())),
        "source_system" => text(|r| Some(r.system.to_string())),
        "entity_id" => records.iter().map(|r| r.entity as u32).collect::<Vec<_>>(),
    }
    .unwrap();
    let pipeline = pipeline();
    let mut cleaned = run(&pipeline, "customers_flagged", raw).tables.remove(0);
    tally::write::write_parquet(&mut cleaned, path).unwrap();
}

fn measure(path: &str) {
    let input = ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap();
    let truth = input.select(["source_system", "customer_id", "entity_id"]).unwrap();
    let records = input.drop("entity_id").unwrap();
    let pipeline = pipeline();
    let started = Instant::now();
    let out = run(&pipeline, "golden_customers", records.clone());
    let seconds = started.elapsed().as_secs_f64();
    let report = out.report.unwrap();
    let map = &out.tables[1];
    assert_eq!(map.height(), records.height(), "every record is in the cluster map once");
    let e = tally::eval::evaluate(map, &truth).unwrap();
    if std::env::var_os("TALLY_BENCH_VERBOSE").is_some() {
        eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
        for (name, bytes) in &out.files {
            std::fs::write(std::env::temp_dir().join(name), bytes).unwrap();
        }
        let dedup = pipeline.stages.iter().find(|s| s.id() == "golden_customers").unwrap();
        for (name, table) in dedup.stage.outputs().iter().zip(&out.tables) {
            tally::write::write_parquet(&mut table.clone(), &std::env::temp_dir().join(format!("{name}.parquet")))
                .unwrap();
        }
    }
    let pairs = report["pairs"]["compared"].as_u64().unwrap();
    let phases: Vec<String> = report["seconds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{} {:.2}", p["phase"].as_str().unwrap(), p["seconds"].as_f64().unwrap()))
        .collect();
    println!(
        "{:>9} {seconds:>8.2} {pairs:>10} {:>12.0} {:>9.0} {:>9.4} {:>9.4}  {}",
        records.height(),
        report["pairs"]["per_second"].as_f64().unwrap(),
        peak_mib(),
        e.precision,
        e.recall,
        phases.join(", ")
    );
    // Each rule's pairs and their estimated growth when the records double.
    for rule in report["pairs"]["by_rule"].as_array().unwrap() {
        println!(
            "          {:<32} {:>10} pairs, {:>5.1}% in large blocks, growth {:.2}",
            rule["rule"].as_str().unwrap(),
            rule["pairs"],
            rule["pairs_in_large_blocks"].as_f64().unwrap() / rule["pairs"].as_f64().unwrap().max(1.0) * 100.0,
            rule["growth"].as_f64().unwrap()
        );
    }
}
