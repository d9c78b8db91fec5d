//! Clean benchmark: 1,000,000 generated customers (company name, phone, address, tax
//! id, e-mail, date) through the clean stage, whole and one normalizer at a time, each
//! in a fresh child process for its peak memory.
//!
//! `cargo bench --bench clean`; size: `TALLY_BENCH_CLEAN_ROWS`.

mod common;

use std::time::Instant;

use common::{data_dir, in_child, peak_mib, size};
use polars::prelude::*;
use tally::run::RunContext;
use tally::sample::{SampleSpec, generate_customers};

const COLUMNS: [(&str, &str); 6] = [
    ("name", "company_name"),
    ("phone", "phone"),
    ("address", "cn_address"),
    ("tax_id", "uscc"),
    ("email", "email"),
    ("created_at", "date"),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        return measure(&args[i + 1], &args[i + 2]);
    }
    let rows = size("TALLY_BENCH_CLEAN_ROWS", 1_000_000);
    let path = data_dir().join(format!("clean_input_{rows}.parquet"));
    if !path.exists() {
        write_input(rows, &path);
    }
    let path = path.to_str().unwrap();
    println!("{:<22} {:>10} {:>9} {:>12} {:>10}", "clean", "rows", "seconds", "rows/s", "peak MiB");
    print!("{}", in_child(&["--measure", path, "all"]));
    for (column, _) in COLUMNS {
        print!("{}", in_child(&["--measure", path, column]));
    }
}

/// The sample generator's ERP records, as raw text columns, saved once.
fn write_input(rows: usize, path: &std::path::Path) {
    let spec = SampleSpec { customers: rows * 13 / 10 + 10, transactions: 0, seed: 42, ..Default::default() };
    let mut records = generate_customers(&spec).erp;
    records.truncate(rows);
    let text = |f: fn(&tally::sample::Record) -> Option<String>| records.iter().map(f).collect::<Vec<_>>();
    let mut df = df! {
        "name" => text(|r| Some(r.name.clone())),
        "phone" => text(|r| r.phone.clone()),
        "address" => text(|r| r.address.clone()),
        "tax_id" => text(|r| r.uscc.clone()),
        "email" => text(|r| r.email.clone()),
        "created_at" => text(|r| Some(r.created.clone())),
    }
    .unwrap();
    tally::write::write_parquet(&mut df, path).unwrap();
}

fn measure(path: &str, which: &str) {
    let df = ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap();
    let columns: String = COLUMNS
        .iter()
        .filter(|(c, _)| which == "all" || which == *c)
        .map(|(c, n)| format!("    {c}: {{ normalize: {n} }}\n"))
        .collect();
    let stage = tally::stages::build_one(&format!("clean:\n  input: raw\n  output: clean\n  columns:\n{columns}"))
        .unwrap_or_else(|d| panic!("{d:?}"));
    let rows = df.height();
    let started = Instant::now();
    let out = stage.run(vec![df], &RunContext::detached(tally::sample::as_of())).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(out.tables[0].height() + out.rejects.map_or(0, |r| r.height()), rows);
    let label = if which == "all" { "all six columns".to_string() } else { format!("  {which}") };
    println!("{label:<22} {rows:>10} {seconds:>9.3} {:>12.0} {:>10.0}", rows as f64 / seconds, peak_mib());
}
