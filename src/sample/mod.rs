//! `tally sample`: realistic, deterministic exports of a known world of customers, so
//! every stage can be run on data that looks real and measured against the truth.

mod files;
mod habits;
mod ledger_truth;
mod records;
mod transactions;
mod world;

pub use records::{CRM, ERP, Noise, Record, System, export};
pub use world::{Company, generate};

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

pub struct SampleSpec {
    pub customers: usize,
    pub transactions: usize,
    pub seed: u64,
    pub noise: Noise,
}

impl Default for SampleSpec {
    fn default() -> Self {
        SampleSpec { customers: 3000, transactions: 12000, seed: 7, noise: Noise::Standard }
    }
}

/// The generated world and each system's export of it.
pub struct Sample {
    pub world: Vec<Company>,
    pub erp: Vec<Record>,
    pub crm: Vec<Record>,
}

/// The date the sample exports are "as of".
pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 12, 31).unwrap()
}

/// A seeded generator: ChaCha is stable across platforms and rand versions.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn generate_customers(spec: &SampleSpec) -> Sample {
    let mut rng = rng(spec.seed);
    let world = generate(&mut rng, spec.customers);
    let mut erp = export(&mut rng, &world, &ERP, spec.noise);
    let crm = export(&mut rng, &world, &CRM, spec.noise);
    // Hand-edited CSVs grow stray fields: about one row in 1,500.
    // A ragged row is never read, so it must not be the row a planted duplicate copies.
    for _ in 0..(erp.len() / 1500).max(1) {
        let i = rng.random_range(0..erp.len().saturating_sub(1));
        if erp[i].planted.is_none() && erp[i + 1].planted != Some("duplicate_key") {
            erp[i].planted = Some("ragged_row");
        }
    }
    Sample { world, erp, crm }
}

/// Writes the full sample set into `out`; returns each file and its row count.
pub fn write_sample(out: &Path, spec: &SampleSpec) -> Result<Vec<(PathBuf, usize)>> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let sample = generate_customers(spec);
    let mut rng = rng(spec.seed ^ 0x5EED);
    let all: Vec<&Record> = sample.erp.iter().chain(&sample.crm).collect();
    // Invoices and receipts are the finance system's.
    let erp: Vec<&Record> = sample.erp.iter().collect();
    let docs = transactions::documents(&mut rng, &erp, spec.transactions);
    let fx = transactions::fx_rates(&mut rng);
    let ledger = ledger_truth::customers(&docs, &fx, &erp, as_of());

    let path = |name: &str| out.join(name);
    Ok(vec![
        (path("erp_customers.csv"), files::write_erp_csv(&sample.erp, &path("erp_customers.csv"))?),
        (path("crm_customers.xlsx"), files::write_crm_xlsx(&sample.crm, &path("crm_customers.xlsx"), as_of())?),
        (path("transactions.parquet"), files::write_transactions(&docs, &path("transactions.parquet"))?),
        (path("fx_rates.csv"), files::write_fx(&fx, &path("fx_rates.csv"))?),
        (path("truth.csv"), files::write_truth(&all, &path("truth.csv"))?),
        (path("truth_ledger.csv"), ledger_truth::write_customers(&ledger, &path("truth_ledger.csv"))?),
        (path("truth_rejects.csv"), ledger_truth::write_rejects(&docs, &path("truth_rejects.csv"))?),
    ])
}

pub use files::{write_crm_xlsx, write_erp_csv};
