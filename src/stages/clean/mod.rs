//! `clean`: standardizes names, phones, addresses, ids, dates and money per column,
//! explains what it changed, and never loses a value silently: a value that cannot be
//! cleaned is rejected, or nulled and flagged, or kept, as each column says.
//!
//! ```yaml
//! - clean:
//!     input: customers_raw
//!     output: customers
//!     columns:
//!       name:  { normalize: company_name, keep_original: true }
//!       phone: { normalize: phone, default_region: CN }
//!       tax_id: { normalize: uscc, on_invalid: reject }
//!     flag:
//!       invalid: "name IS NULL OR (phone IS NULL AND email IS NULL)"
//! ```

mod fx;
pub mod normalize;
mod stage;
mod summary;

use indexmap::IndexMap;
use polars::prelude::{DataFrame, LazyFrame, PolarsResult, Schema, lit};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{
    Batch, Batched, BuildContext, Diagnostics, Input, Io, Problem, Sql, Stage, StageOutput, empty_frames,
    planned_schema, require, run_batched,
};
use crate::config::yaml::Doc;
use crate::diag::Diagnostic;
use crate::run::RunContext;
pub use fx::ConvertCurrency;
use normalize::{Kind, Normalizer};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanConfig {
    pub input: String,
    pub output: Spanned<String>,
    /// Columns to clean, each with its normalizer; other columns pass through.
    pub columns: IndexMap<String, ColumnConfig>,
    /// Boolean columns derived from SQL predicates over the cleaned columns, e.g.
    /// `invalid: "name IS NULL OR (phone IS NULL AND email IS NULL)"`.
    #[serde(default)]
    pub flag: IndexMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnConfig {
    /// The normalizer: text, company_name, person_name, phone, email, uscc,
    /// resident_id, cn_address, date, money.
    pub normalize: Spanned<Kind>,
    /// Keep the raw value beside the cleaned one, as `<column>_original`.
    #[serde(default)]
    pub keep_original: bool,
    /// What a value that cannot be cleaned does to its row.
    #[serde(default)]
    pub on_invalid: OnInvalid,
    /// `phone`: the region of numbers written without a country code (ISO 3166, e.g. CN).
    #[serde(default)]
    pub default_region: Option<Spanned<String>>,
    /// `phone`: the column holding the record's address (or city), whose city gives a
    /// local landline number (26543210) its area code.
    #[serde(default)]
    pub area_code_from: Option<Spanned<String>>,
    /// A column whose value fills this one where it is empty after cleaning, e.g.
    /// `contact: { normalize: person_name, fill_from: phone_contact }` for the person
    /// written in a phone cell (18804792943（张会计）).
    #[serde(default)]
    pub fill_from: Option<Spanned<String>>,
    /// `money`: decimals kept (default 2); more decimals in a value make it invalid.
    #[serde(default)]
    pub scale: Option<Spanned<usize>>,
    /// `money`: also convert to a base currency with a dated rate table, e.g.
    /// `{ to: CNY, rates: fx_rates, on: doc_date, currency: currency }`.
    #[serde(default)]
    pub convert_currency: Option<Spanned<ConvertCurrency>>,
}

/// What a value that cannot be cleaned does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnInvalid {
    /// The row goes to the rejects with the column, raw value and reason.
    Reject,
    /// The value becomes null and a boolean `<column>_invalid` says so.
    #[default]
    NullAndFlag,
    /// The raw value stays (text normalizers only), flagged in `<column>_invalid`; it
    /// is still counted as failed. For a phone the metadata calls unallocated (a new
    /// foreign number range), this keeps the number as written.
    Keep,
}

impl ColumnConfig {
    /// The normalizer with its settings; call after `validate` passed.
    pub fn normalizer(&self) -> Normalizer {
        match self.normalize.value {
            Kind::Text => Normalizer::Text,
            Kind::CompanyName => Normalizer::CompanyName,
            Kind::PersonName => Normalizer::PersonName,
            Kind::Phone => Normalizer::Phone(
                self.default_region.as_ref().and_then(|r| r.value.parse().ok()).unwrap_or(phonenumber::country::Id::CN),
            ),
            Kind::Email => Normalizer::Email,
            Kind::Uscc => Normalizer::Uscc,
            Kind::ResidentId => Normalizer::ResidentId,
            Kind::CnAddress => Normalizer::CnAddress,
            Kind::Date => Normalizer::Date,
            Kind::Money => Normalizer::Money { scale: self.scale.as_ref().map_or(2, |s| s.value) },
        }
    }

    fn validate(&self, doc: &Doc, column: &str) -> Vec<Diagnostic> {
        let mut diags = Vec::new();
        let kind = self.normalize.value;
        if let Some(region) = &self.default_region {
            if kind != Kind::Phone {
                diags.push(
                    doc.at(&region.referenced, format!("column '{column}': default_region applies to phone only")),
                );
            } else if region.value.parse::<phonenumber::country::Id>().is_err() {
                diags.push(
                    doc.at(&region.referenced, format!("'{}' is not an ISO 3166 region code like CN", region.value)),
                );
            }
        }
        if let Some(area) = &self.area_code_from
            && kind != Kind::Phone
        {
            diags.push(doc.at(&area.referenced, format!("column '{column}': area_code_from applies to phone only")));
        }
        if let Some(scale) = &self.scale {
            if kind != Kind::Money {
                diags.push(doc.at(&scale.referenced, format!("column '{column}': scale applies to money only")));
            } else if scale.value > 12 {
                diags.push(doc.at(&scale.referenced, "scale must be at most 12"));
            }
        }
        if let Some(fx) = &self.convert_currency
            && kind != Kind::Money
        {
            diags.push(doc.at(&fx.referenced, format!("column '{column}': convert_currency applies to money only")));
        }
        if self.on_invalid == OnInvalid::Keep && matches!(kind, Kind::Date | Kind::Money) {
            diags.push(doc.at(
                &self.normalize.referenced,
                format!("column '{column}': on_invalid: keep cannot keep text in a typed column; use reject or null_and_flag"),
            ));
        }
        diags
    }
}

/// The compiled stage: the validated columns and the compiled flags.
pub struct Clean {
    io: Io,
    columns: IndexMap<String, ColumnConfig>,
    flags: Vec<(String, Sql)>,
}

impl CleanConfig {
    pub fn build(self, cx: &BuildContext) -> Result<Clean, Vec<Diagnostic>> {
        let mut d = Diagnostics::default();
        let output = d.take(cx.table_name(&self.output));
        for (name, c) in &self.columns {
            c.validate(cx.doc, name).into_iter().for_each(|x| d.push(x));
        }
        // A fill comes from a column this stage cleans or derives.
        let produced: Vec<String> = self
            .columns
            .iter()
            .flat_map(|(n, c)| {
                std::iter::once(n.clone()).chain(c.normalizer().extras().iter().map(move |e| format!("{n}_{e}")))
            })
            .collect();
        for (name, c) in &self.columns {
            if let Some(from) = c.fill_from.as_ref().filter(|f| !produced.contains(&f.value) || f.value == *name) {
                let message = format!(
                    "column '{name}': fill_from names '{}', which this clean stage does not produce; one of: {}",
                    from.value,
                    produced.iter().filter(|p| *p != name).cloned().collect::<Vec<_>>().join(", ")
                );
                d.push(cx.doc.at(&from.referenced, message));
            }
        }
        if self.columns.is_empty() {
            d.push(cx.error(None, format!("clean '{}': `columns` names no column", self.output.value)));
        }
        let flags: Vec<_> =
            self.flag.iter().filter_map(|(name, e)| Some((name.clone(), d.take(Sql::compile(cx, e))?))).collect();
        // The input table, then each rate table a conversion names.
        let mut inputs = vec![Input::rows(&self.input)];
        for c in self.columns.values() {
            if let Some(fx) = &c.convert_currency
                && !inputs.iter().any(|i| i.table == fx.value.rates)
            {
                inputs.push(Input::lookup(&fx.value.rates));
            }
        }
        d.finish(|| Clean { io: Io { inputs, output: output.expect("checked") }, columns: self.columns, flags })
    }
}

impl Clean {
    /// Adds the flag columns; a null predicate is false.
    fn flagged(&self, lf: LazyFrame) -> LazyFrame {
        if self.flags.is_empty() {
            return lf;
        }
        lf.with_columns(
            self.flags.iter().map(|(n, e)| e.expr.clone().fill_null(lit(false)).alias(n.as_str())).collect::<Vec<_>>(),
        )
    }

    /// Columns converted to a base currency, with their settings.
    fn conversions(&self) -> impl Iterator<Item = (&String, &ColumnConfig, &ConvertCurrency)> {
        self.columns.iter().filter_map(|(n, c)| c.convert_currency.as_ref().map(|fx| (n, c, &fx.value)))
    }
}

/// The working column holding a cleaned column's raw value.
fn raw_name(column: &str) -> String {
    format!("__raw_{column}")
}

/// The working column holding a cleaned column's failure code.
fn error_name(column: &str) -> String {
    format!("__error_{column}")
}

impl Stage for Clean {
    fn kind(&self) -> &'static str {
        "clean"
    }

    fn io(&self) -> &Io {
        &self.io
    }

    fn schemas(&self, inputs: &[Schema]) -> Result<Vec<Schema>, Vec<Problem>> {
        let mut read: Vec<(String, Option<serde_saphyr::Location>)> =
            self.columns.iter().map(|(n, c)| (n.clone(), Some(c.normalize.referenced))).collect();
        read.extend(
            self.columns
                .values()
                .filter_map(|c| c.area_code_from.as_ref())
                .map(|a| (a.value.clone(), Some(a.referenced))),
        );
        for (_, _, fx) in self.conversions() {
            read.extend([fx.on.clone(), fx.currency.clone()].map(|c| (c, None)));
        }
        let mut problems = require(&inputs[0], read);
        for (i, input) in self.inputs().iter().enumerate().skip(1) {
            let wanted = fx::RATE_COLUMNS.map(|c| (c, None));
            problems.extend(require(&inputs[i], wanted).into_iter().map(|mut p| {
                p.message = format!("rate table '{}': {}", input.table, p.message);
                p
            }));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        // Flags read the cleaned columns.
        let cleaned = stage::plan(self, empty_frames(inputs)).map_err(|e| vec![Problem::plan(None, &e)])?;
        let flag_columns = self.flags.iter().flat_map(|(_, e)| e.columns());
        let missing = require(&planned_schema(Ok(cleaned.clone()))?, flag_columns);
        if !missing.is_empty() {
            return Err(missing);
        }
        Ok(vec![planned_schema(Ok(self.flagged(cleaned)))?])
    }

    fn run(&self, inputs: Vec<DataFrame>, cx: &RunContext) -> PolarsResult<StageOutput> {
        run_batched(self, inputs, cx)
    }

    fn batched(&self) -> Option<&dyn Batched> {
        Some(self)
    }
}

/// Each value is cleaned on its own (an FX rate is a lookup); a batch's partial result
/// is its tallies of what changed and failed.
impl Batched for Clean {
    fn run_batch(&self, inputs: Vec<DataFrame>, _: &RunContext) -> PolarsResult<Batch> {
        stage::run_batch(self, inputs)
    }

    fn merge(&self, partials: Vec<DataFrame>) -> PolarsResult<DataFrame> {
        summary::merge(partials)
    }

    fn finish(&self, tallies: DataFrame, _: &RunContext) -> PolarsResult<StageOutput> {
        let (table, report) = summary::summarize(self, &tallies)?;
        let sheets = vec![(format!("{}_cleaning", self.output()), table)];
        Ok(StageOutput { report: Some(report), sheets, ..Default::default() })
    }
}

#[cfg(test)]
mod tests;
