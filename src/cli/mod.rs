//! Command-line interface: `run`, `check`, `sample` and `eval`.

mod summary;

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::error::{Error, Result};
use crate::plan::plan;
use crate::run::{RunOptions, remove_partial_on_signal, run_pipeline};

const EXAMPLES: &str = "Examples:
  tally run pipelines/quarterly_inventory.yaml
  tally run pipelines/quarterly_inventory.yaml --as-of 2024-12-31 --out runs
  tally check pipelines/quarterly_inventory.yaml
  tally check --pairs pipelines/quarterly_inventory.yaml
  tally sample --out sample_data --customers 3000 --seed 7
  tally eval --truth sample_data/truth.csv runs/quarterly_inventory/latest

Exit codes: 0 success, 1 data or IO error, 2 usage or config error,
3 stopped by a gate or an error finding (the run is kept as <run-id>.failed).";

/// Batch ETL for customer master data: load ERP/CRM exports against declared schemas,
/// quarantine bad rows, count, and write Parquet, XLSX and a manifest per run.
#[derive(Debug, Parser)]
#[command(name = "tally", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline into a new run directory OUT/<pipeline>/<run-id>/.
    Run {
        /// The pipeline file (YAML).
        pipeline: PathBuf,
        /// The date the run reports as of (YYYY-MM-DD); the pipeline's `as_of`, else today.
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
        /// Folder that holds run directories.
        #[arg(long, default_value = "runs")]
        out: PathBuf,
        /// No progress bars and no summary.
        #[arg(long, short)]
        quiet: bool,
        /// Rows per batch when a Parquet source streams through the stages that can
        /// take it a batch at a time; 0 holds every table whole in memory.
        #[arg(long, default_value_t = crate::run::BATCH_ROWS)]
        batch_rows: usize,
    },
    /// Check a pipeline, its schemas and its sources' headers without reading data rows,
    /// training or writing; exit 0 when valid, 2 when not.
    Check {
        pipeline: PathBuf,
        /// Also load the sources and run the stages that feed each dedup stage (in
        /// memory, writing nothing), and count the pairs each blocking rule would make
        /// and how they grow, without making them.
        #[arg(long)]
        pairs: bool,
    },
    /// Generate realistic sample exports (GBK CSV, XLSX, Parquet) with known duplicates.
    Sample {
        /// Folder to write into.
        #[arg(long)]
        out: PathBuf,
        /// Number of distinct real-world customers.
        #[arg(long, default_value_t = 3000)]
        customers: usize,
        /// Number of invoices (credit notes and payments come in addition).
        #[arg(long, default_value_t = 12000)]
        transactions: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// How much copies of a customer differ (hard: typos, missing tax ids, changed phones).
        #[arg(long, value_enum, default_value = "standard")]
        noise: crate::sample::Noise,
    },
    /// Score a run's dedup clusters against a ground truth: pairwise precision and recall.
    Eval {
        /// A truth CSV: the cluster map's key columns (e.g. source_system, customer_id) and entity_id.
        #[arg(long)]
        truth: PathBuf,
        /// The run directory (e.g. runs/quarterly_inventory/latest).
        run_dir: PathBuf,
        /// The cluster map table, when the run has several.
        #[arg(long)]
        map: Option<String>,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("'{s}' is not a date like 2024-12-31"))
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run { pipeline, as_of, out, quiet, batch_rows } => {
            let plan = plan(&pipeline).map_err(Error::Config)?;
            remove_partial_on_signal();
            let report = run_pipeline(&plan, &RunOptions { out, as_of, quiet, batch_rows })?;
            if !quiet {
                print!("{}", summary::render(&report));
            }
            Ok(())
        }
        Command::Check { pipeline, pairs } => {
            let p = crate::plan::check(&pipeline).map_err(Error::Config)?;
            if pairs {
                let as_of = p.pipeline.as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
                let cx = crate::run::RunContext::detached(as_of);
                let found = crate::run::census(&p, &cx, &crate::run::Progress::new(false))?;
                print!("{}", summary::render_census(&found));
            }
            println!(
                "✓ {}: {} sources, {} stages, outputs: {}",
                pipeline.display(),
                p.pipeline.sources.len(),
                p.stages.len(),
                p.pipeline.output_names().collect::<Vec<_>>().join(", ")
            );
            Ok(())
        }
        Command::Eval { truth, run_dir, map, json } => {
            let map = crate::eval::find_map(&run_dir, map.as_deref())?;
            let e = crate::eval::evaluate_files(&map, &truth)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&e).expect("figures serialize"));
            } else {
                println!(
                    "{}: {} records, {} clusters, {} true entities; the truth names {} of the map's {} records ({:.1}%)",
                    map.display(),
                    e.records,
                    e.clusters,
                    e.entities,
                    e.records,
                    e.map_records,
                    e.coverage * 100.0
                );
                println!("pairs: {} predicted, {} true, {} correct", e.predicted_pairs, e.true_pairs, e.correct_pairs);
                println!("precision {:.4}  recall {:.4}  F1 {:.4}", e.precision, e.recall, e.f1);
            }
            Ok(())
        }
        Command::Sample { out, customers, transactions, seed, noise } => {
            let spec = crate::sample::SampleSpec { customers, transactions, seed, noise };
            let written = crate::sample::write_sample(&out, &spec)?;
            for (file, rows) in written {
                println!("{:<40} {rows:>10} rows", file.display());
            }
            Ok(())
        }
    }
}
