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
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::sql;
use crate::config::yaml::Doc;
use crate::diag::Diagnostic;
pub use fx::ConvertCurrency;
use normalize::{Kind, Normalizer};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanConfig {
    pub input: String,
    pub output: String,
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
    /// The raw value stays (text normalizers only); it is still counted as failed.
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
        if let Some(scale) = &self.scale {
            if kind != Kind::Money {
                diags.push(doc.at(&scale.referenced, format!("column '{column}': scale applies to money only")));
            } else if scale.value > 12 {
                diags.push(doc.at(&scale.referenced, "scale must be at most 12"));
            }
        }
        if let Some(fx) = &self.convert_currency {
            if kind != Kind::Money {
                diags
                    .push(doc.at(&fx.referenced, format!("column '{column}': convert_currency applies to money only")));
            }
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

impl CleanConfig {
    /// Columns converted to a base currency, with their settings.
    fn conversions(&self) -> impl Iterator<Item = (&String, &ColumnConfig, &ConvertCurrency)> {
        self.columns.iter().filter_map(|(n, c)| c.convert_currency.as_ref().map(|fx| (n, c, &fx.value)))
    }
}

impl super::Stage for CleanConfig {
    /// The input table, then each rate table a conversion names.
    fn inputs(&self) -> Vec<&str> {
        let mut inputs = vec![self.input.as_str()];
        for (_, _, fx) in self.conversions() {
            if !inputs.contains(&fx.rates.as_str()) {
                inputs.push(&fx.rates);
            }
        }
        inputs
    }

    fn output(&self) -> &str {
        &self.output
    }

    fn row_inputs(&self) -> usize {
        1
    }

    fn validate(&self, doc: &Doc, at: &Location) -> Vec<Diagnostic> {
        let mut diags: Vec<Diagnostic> = self.columns.iter().flat_map(|(name, c)| c.validate(doc, name)).collect();
        diags.extend(self.flag.values().filter_map(|e| sql(doc, e).err()));
        if self.columns.is_empty() {
            diags.push(doc.at(at, format!("clean '{}': `columns` names no column", self.output)));
        }
        diags
    }

    fn plan(
        &self,
        inputs: Vec<polars::prelude::LazyFrame>,
    ) -> polars::prelude::PolarsResult<polars::prelude::LazyFrame> {
        stage::plan(self, inputs)
    }

    fn run(&self, inputs: Vec<polars::prelude::DataFrame>) -> polars::prelude::PolarsResult<super::StageOutput> {
        stage::run(self, inputs)
    }
}

#[cfg(test)]
mod tests;
