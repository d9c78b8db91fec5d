//! tally: a batch ETL engine for customer master data. Pipelines declared in YAML load
//! ERP, finance and CRM exports against declared schemas, quarantine what does not fit,
//! run stages over Polars frames and write Parquet, XLSX and a manifest per run.

pub mod cli;
pub mod config;
pub mod diag;
pub mod error;
pub mod eval;
pub mod load;
pub mod plan;
pub mod rejects;
pub mod run;
pub mod sample;
pub mod stages;
pub mod values;
pub mod write;
