//! `aging`: what each customer owes as of the run's date, by age (账龄, DOMAIN §6).
//! Credit notes reduce their invoices; a receipt that names one of its customer's
//! invoices pays it first; what receipts leave over pays the customer's oldest open
//! invoices, by date and then number (FIFO); what is left after that is unapplied
//! credit (预收), shown apart, never as a negative balance.
//!
//! Ages are days from the basis date (the due date, or the document date) to the as-of
//! date, in buckets whose bounds are inclusive: with bounds `[30, 60]` on the
//! document-date basis, day 30 is in `0_30` and day 31 in `31_60`. On the due-date
//! basis an invoice not yet past due (day 0 or before) is `not_due`, and the first
//! bucket starts at day 1; the buckets always add up to the open balance.

mod apply;
#[cfg(test)]
mod tests;

use polars::prelude::*;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::days::Days;
use super::{BuildContext, Diagnostics, Input, Io, Problem, Stage, StageOutput, empty_frames, planned_schema, require};
use crate::diag::Diagnostic;
use crate::run::RunContext;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgingConfig {
    /// A ledger stage's accepted documents.
    pub ledger: String,
    pub output: Spanned<String>,
    #[serde(default)]
    pub basis: Basis,
    /// The terms of an invoice without a due date: its due date is its date plus these;
    /// each such invoice is counted in `due_dates_assumed`.
    #[serde(default = "default_terms")]
    pub default_terms: Days,
    /// Upper bounds of the age buckets, in days, ascending; a last bucket holds the rest.
    #[serde(default = "default_buckets")]
    pub buckets: Spanned<Vec<u32>>,
    /// How many months (the as-of date's and those before it) the on-time history looks
    /// back over.
    #[serde(default = "default_history")]
    pub history_months: u32,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    #[default]
    DueDate,
    DocDate,
}

fn default_terms() -> Days {
    Days(30)
}

fn default_buckets() -> Spanned<Vec<u32>> {
    Spanned::new(vec![30, 60, 90, 180, 365], serde_saphyr::Location::UNKNOWN, serde_saphyr::Location::UNKNOWN)
}

fn default_history() -> u32 {
    12
}

pub struct Aging {
    io: Io,
    config: AgingConfig,
}

impl AgingConfig {
    pub fn build(self, cx: &BuildContext) -> Result<Aging, Vec<Diagnostic>> {
        let mut d = Diagnostics::default();
        let output = d.take(cx.table_name(&self.output));
        let bounds = &self.buckets.value;
        if bounds.is_empty() || bounds[0] == 0 || bounds.windows(2).any(|w| w[0] >= w[1]) {
            d.push(cx.error(
                Some(&self.buckets.referenced),
                "buckets must be ascending day counts above 0, e.g. [30, 60, 90]",
            ));
        }
        if !(1..=120).contains(&self.history_months) {
            d.push(cx.error(None, "history_months must be between 1 and 120"));
        }
        let inputs = vec![Input::rows(&self.ledger)];
        d.finish(|| Aging { io: Io { inputs, output: output.expect("checked") }, config: self })
    }
}

impl Aging {
    /// The buckets' names, youngest first: `not_due` on the due-date basis, then one
    /// per bound, then the rest.
    pub fn bucket_names(&self) -> Vec<String> {
        let bounds = &self.config.buckets.value;
        let first = match self.config.basis {
            Basis::DueDate => 1,
            Basis::DocDate => 0,
        };
        let lows = std::iter::once(first).chain(bounds.iter().map(|b| b + 1));
        let named = lows.zip(bounds).map(|(low, high)| format!("days_{low}_{high}"));
        let not_due = (self.config.basis == Basis::DueDate).then(|| "not_due".to_string());
        not_due.into_iter().chain(named).chain([format!("days_over_{}", bounds.last().copied().unwrap_or(0))]).collect()
    }
}

impl Stage for Aging {
    fn kind(&self) -> &'static str {
        "aging"
    }

    fn io(&self) -> &Io {
        &self.io
    }

    fn ports(&self) -> &'static [&'static str] {
        &["items"]
    }

    fn schemas(&self, inputs: &[Schema]) -> Result<Vec<Schema>, Vec<Problem>> {
        use crate::stages::ledger::{APPLIES_TO_ENTRY, BASE_AMOUNT, ENTRY, KIND, MASTER, columns};
        let needed =
            [ENTRY, MASTER, KIND, APPLIES_TO_ENTRY, columns::DOC_NO, columns::DOC_DATE, columns::DUE_DATE, BASE_AMOUNT];
        let missing = require(&inputs[0], needed.map(|c| (c, None)));
        if !missing.is_empty() {
            return Err(missing);
        }
        let plans = apply::plan(self, empty_frames(inputs).remove(0), chrono::NaiveDate::default(), false);
        let (customers, items) = plans.map_err(|e| vec![Problem::plan(None, &e)])?;
        Ok(vec![planned_schema(Ok(customers))?, planned_schema(Ok(items))?])
    }

    fn run(&self, mut inputs: Vec<DataFrame>, cx: &RunContext) -> PolarsResult<StageOutput> {
        let ledger = inputs.remove(0);
        let (customers, items) = apply::plan(self, ledger.clone().lazy(), cx.as_of, true)?;
        let (customers, items) = (customers.collect()?, items.collect()?);
        let (report, findings) = apply::report(self, &ledger, &customers, cx.as_of)?;
        Ok(StageOutput { tables: vec![customers, items], report: Some(report), findings, ..Default::default() })
    }
}
