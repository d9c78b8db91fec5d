//! Load benchmark: CSV (GBK, 1,000,000 customers) and XLSX (100,000 customers), each
//! read, cast and quarantined against `schemas/customers.yaml`.
//!
//! `cargo bench --bench load` generates the inputs once (cached in the target folder),
//! then measures each load in a fresh child process so that peak memory (VmHWM) is the
//! load's own, not the generator's. Sizes: `TALLY_BENCH_CSV_ROWS`, `TALLY_BENCH_XLSX_ROWS`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{data_dir, in_child, peak_mib, size};
use tally::sample::{SampleSpec, generate_customers};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        return measure(Path::new(&args[i + 1]));
    }
    let csv_rows = size("TALLY_BENCH_CSV_ROWS", 1_000_000);
    let xlsx_rows = size("TALLY_BENCH_XLSX_ROWS", 100_000);
    let dir = data_dir();
    println!(
        "{:<28} {:>10} {:>9} {:>7} {:>7} {:>12} {:>10}",
        "load", "rows", "seconds", "read", "cast", "rows/s", "peak MiB"
    );
    for (format, rows) in [("csv", csv_rows), ("xlsx", xlsx_rows)] {
        let pipeline = prepare(&dir, format, rows);
        print!("{}", in_child(&["--measure", pipeline.to_str().unwrap()]));
    }
}

/// Writes the export (once) and a one-source pipeline over it.
fn prepare(dir: &Path, format: &str, rows: usize) -> PathBuf {
    let data = dir.join(format!("customers_{rows}.{format}"));
    if !data.exists() {
        // About 0.82 ERP rows per real customer; generate enough, keep exactly `rows`.
        let spec = SampleSpec { customers: rows * 13 / 10 + 10, transactions: 0, seed: 42, ..Default::default() };
        let mut sample = generate_customers(&spec);
        sample.erp.truncate(rows);
        assert_eq!(sample.erp.len(), rows);
        let tmp = dir.join(format!(".tmp.{format}"));
        match format {
            "csv" => tally::sample::write_erp_csv(&sample.erp, &tmp).unwrap(),
            _ => tally::sample::write_crm_xlsx(&sample.erp, &tmp, tally::sample::as_of()).unwrap(),
        };
        std::fs::rename(&tmp, &data).unwrap();
    }
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/customers.yaml");
    let pipeline = dir.join(format!("bench_{format}_{rows}.yaml"));
    let yaml = format!(
        "name: bench\nsources:\n  customers:\n    path: {}\n    schema: {}\noutputs: [customers]\n",
        data.display(),
        schema.display()
    );
    std::fs::write(&pipeline, yaml).unwrap();
    pipeline
}

fn measure(pipeline: &Path) {
    let (pipeline, _) = tally::config::load_pipeline(pipeline).unwrap();
    let source = &pipeline.sources[0];
    let started = Instant::now();
    let loaded = tally::load::load(source).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let rows = loaded.stats.rows_read;
    let label =
        format!("{} ({} rejected)", source.path.extension().unwrap().to_string_lossy(), loaded.stats.rows_rejected);
    let (read, cast) = (loaded.stats.seconds_read, loaded.stats.seconds_cast);
    println!(
        "{label:<28} {rows:>10} {seconds:>9.3} {read:>7.3} {cast:>7.3} {:>12.0} {:>10.0}",
        rows as f64 / seconds,
        peak_mib()
    );
}
