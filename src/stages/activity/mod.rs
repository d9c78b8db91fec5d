//! `activity`: how alive each customer is, from the ledger's accepted documents as of
//! the run's date (DOMAIN §5, §7). Per customer and per window: purchases, purchase
//! days, gross, credit-note and net amounts, average order value; first and last
//! purchase, recency and tenure; the repeat-purchase summary customer-lifetime models
//! fit on; RFM scores; and a status by the pipeline's rules. Every customer is in the
//! output, those who never bought included.
//!
//! A credit note reduces its invoice: in amounts on its own date, and as a purchase,
//! so an invoice it reverses in full is no purchase at all.

mod alive;
mod bgnbd;
mod features;
#[cfg(test)]
mod reference_tests;
mod rfm;
#[cfg(test)]
mod tests;

use indexmap::IndexMap;
use polars::prelude::*;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::days::Days;
use super::{BuildContext, Diagnostics, Input, Io, Problem, Sql, Stage, StageOutput, empty_frames, require};
use crate::diag::Diagnostic;
use crate::run::RunContext;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityConfig {
    /// One row per customer: every one appears in the output.
    pub customers: String,
    /// A ledger stage's accepted documents.
    pub ledger: String,
    pub output: Spanned<String>,
    /// The customers' key, which the ledger's `master_id` holds.
    #[serde(default = "default_key")]
    pub key: Spanned<String>,
    /// Windows ending on the as-of date, each giving its own features (`_90d`); the
    /// whole history gives `_all`.
    #[serde(default = "default_windows")]
    pub windows: Vec<Days>,
    #[serde(default)]
    pub rfm: RfmConfig,
    /// `status: SQL condition` over the output's columns, tried in order: the first
    /// that holds names the customer's status.
    #[serde(default)]
    pub status: IndexMap<String, Spanned<String>>,
    /// BG/NBD: each buyer's probability of being alive and expected purchases.
    pub bgnbd: Option<alive::BgNbdConfig>,
}

fn default_key() -> Spanned<String> {
    Spanned::new("master_id".to_string(), serde_saphyr::Location::UNKNOWN, serde_saphyr::Location::UNKNOWN)
}

fn default_windows() -> Vec<Days> {
    vec![Days(90), Days(365)]
}

/// The columns scored: recency is better low, frequency and monetary high. Frequency
/// and monetary default to the longest window's purchase days and net amount.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RfmConfig {
    pub recency: Option<Spanned<String>>,
    pub frequency: Option<Spanned<String>>,
    pub monetary: Option<Spanned<String>>,
}

pub struct Activity {
    io: Io,
    key: Spanned<String>,
    windows: Vec<Days>,
    /// Recency, frequency and monetary columns.
    rfm: [Spanned<String>; 3],
    status: Vec<(String, Sql)>,
    bgnbd: Option<alive::BgNbdConfig>,
}

impl ActivityConfig {
    pub fn build(self, cx: &BuildContext) -> Result<Activity, Vec<Diagnostic>> {
        let mut d = Diagnostics::default();
        let output = d.take(cx.table_name(&self.output));
        let mut windows = self.windows.clone();
        windows.sort();
        windows.dedup();
        let longest = windows.last().map_or("all".to_string(), |w| w.label());
        let named = |c: Option<Spanned<String>>, default: String| {
            c.unwrap_or_else(|| Spanned::new(default, serde_saphyr::Location::UNKNOWN, serde_saphyr::Location::UNKNOWN))
        };
        let rfm = [
            named(self.rfm.recency, features::DAYS_SINCE_LAST.into()),
            named(self.rfm.frequency, format!("txn_days_{longest}")),
            named(self.rfm.monetary, format!("net_amount_{longest}")),
        ];
        let status: Vec<_> =
            self.status.iter().filter_map(|(name, e)| Some((name.clone(), d.take(Sql::compile(cx, e))?))).collect();
        let inputs = vec![Input::rows(&self.customers), Input::lookup(&self.ledger)];
        d.finish(|| Activity {
            io: Io { inputs, output: output.expect("checked") },
            key: self.key,
            windows,
            rfm,
            status,
            bgnbd: self.bgnbd.filter(|b| b.enabled),
        })
    }
}

impl Activity {
    /// The whole plan: features joined to the customers, then scores and status.
    fn plan(&self, customers: LazyFrame, ledger: LazyFrame, as_of: chrono::NaiveDate) -> PolarsResult<LazyFrame> {
        let with_features = features::plan(self, customers, ledger, as_of)?;
        Ok(rfm::status(self, rfm::scores(self, with_features)))
    }
}

impl Stage for Activity {
    fn kind(&self) -> &'static str {
        "activity"
    }

    fn io(&self) -> &Io {
        &self.io
    }

    fn schemas(&self, inputs: &[Schema]) -> Result<Vec<Schema>, Vec<Problem>> {
        let key = &self.key;
        let mut problems = require(&inputs[0], [(key.value.as_str(), Some(key.referenced))]);
        use crate::stages::ledger::{APPLIES_TO_ENTRY, BASE_AMOUNT, ENTRY, KIND, MASTER, columns};
        let ledger = [ENTRY, MASTER, KIND, APPLIES_TO_ENTRY, columns::DOC_DATE, BASE_AMOUNT];
        problems.extend(require(&inputs[1], ledger.map(|c| (c, None))));
        if !problems.is_empty() {
            return Err(problems);
        }
        let (customers, ledger) = two(empty_frames(inputs));
        let computed = features::plan(self, customers, ledger, chrono::NaiveDate::default())
            .and_then(|mut lf| lf.collect_schema())
            .map_err(|e| vec![Problem::plan(None, &e)])?;
        let clashes: Vec<Problem> = inputs[0]
            .iter_names()
            .filter(|n| *n != key.value.as_str() && features::computed(self).contains(&n.to_string()))
            .map(|n| {
                let mut p = Problem::new(
                    None,
                    format!("the customers' column '{n}' has the name of a column activity computes"),
                );
                p.help = Some("rename it in a select stage before this one".into());
                p
            })
            .collect();
        if !clashes.is_empty() {
            return Err(clashes);
        }
        let mut problems: Vec<Problem> =
            self.rfm.iter().flat_map(|c| require(&computed, [(c.value.as_str(), Some(c.referenced))])).collect();
        problems.extend(self.status.iter().flat_map(|(_, sql)| require(&computed, sql.columns())));
        if !problems.is_empty() {
            return Err(problems);
        }
        let (customers, ledger) = two(empty_frames(inputs));
        let mut schema = super::planned_schema(self.plan(customers, ledger, chrono::NaiveDate::default()))?;
        for column in self.bgnbd.iter().flat_map(|b| b.columns()) {
            schema.with_column(column.into(), DataType::Float64);
        }
        Ok(vec![schema])
    }

    fn run(&self, inputs: Vec<DataFrame>, cx: &RunContext) -> PolarsResult<StageOutput> {
        let (customers, ledger) = two(inputs);
        let later = features::later_documents(&ledger, cx.as_of)?;
        let table = self.plan(customers.lazy(), ledger.lazy(), cx.as_of)?.collect()?;
        let (mut report, mut findings) = rfm::report(self, &table, later)?;
        let table = match &self.bgnbd {
            Some(config) => {
                let (table, fitted, warnings) = alive::add(config, table)?;
                report["bgnbd"] = fitted;
                findings.extend(warnings);
                table
            }
            None => table,
        };
        Ok(StageOutput { tables: vec![table], report: Some(report), findings, ..Default::default() })
    }
}

/// The customers and the ledger, in the order of the stage's inputs.
fn two<T>(mut inputs: Vec<T>) -> (T, T) {
    let ledger = inputs.pop().expect("activity reads two tables");
    (inputs.pop().expect("activity reads two tables"), ledger)
}
