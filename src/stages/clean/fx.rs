//! Conversion of a cleaned money column to a base currency with a dated rate table
//! (CAS 19: the spot rate of the transaction date). The rate used is the one of the
//! row's date or the latest earlier one (a backward as-of join per currency); the
//! amount times the rate is rounded half away from zero (四舍五入) to the column's
//! scale. A row with no rate, currency or date cannot be converted and is rejected,
//! never converted at a silent 1.0. Writes `<column>_<to>`, `<column>_fx_rate` and
//! `<column>_fx_date`.

use polars::prelude::*;
use serde::Deserialize;

use super::normalize::MONEY_PRECISION;

/// `convert_currency:` of a money column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertCurrency {
    /// The base currency, e.g. CNY.
    pub to: String,
    /// The rate table, with columns `rate_date`, `from_currency`, `to_currency`, `rate`
    /// (as `schemas/fx_rates.yaml` declares them).
    pub rates: String,
    /// The row's date column; its rate, or the latest earlier one, is used.
    pub on: String,
    /// The row's currency column.
    #[serde(default = "default_currency")]
    pub currency: String,
}

fn default_currency() -> String {
    "currency".to_string()
}

/// The columns a rate table must have.
pub const RATE_COLUMNS: [&str; 4] = ["rate_date", "from_currency", "to_currency", "rate"];

/// Decimals kept of a rate.
const RATE_SCALE: usize = 6;

pub fn fx_error_name(column: &str) -> String {
    format!("__fx_error_{column}")
}

impl ConvertCurrency {
    pub fn output_name(&self, column: &str) -> String {
        format!("{column}_{}", self.to.to_lowercase())
    }

    /// Adds the converted amount, the rate and its date, and the failure code.
    pub fn apply(&self, lf: LazyFrame, rates: LazyFrame, column: &str, scale: usize) -> PolarsResult<LazyFrame> {
        let rate_type = DataType::Decimal(MONEY_PRECISION, RATE_SCALE);
        let rates = rates
            .filter(col("to_currency").eq(lit(self.to.clone())))
            .select([
                col("rate_date").cast(DataType::Date).alias("__fx_date"),
                col("from_currency").alias("__fx_from"),
                col("rate").cast(rate_type.clone()).alias("__fx_rate"),
            ])
            .sort(["__fx_from", "__fx_date"], Default::default());
        // Rows without a date look up a date before any rate, so they find none.
        let no_date = lit(chrono::NaiveDate::from_ymd_opt(1, 1, 1).expect("valid date")).cast(DataType::Date);
        let left = lf
            .with_row_index("__fx_order", None)
            .with_column(col(self.on.as_str()).cast(DataType::Date).fill_null(no_date).alias("__fx_key"))
            .sort(["__fx_key"], Default::default());
        let options = AsOfOptions {
            strategy: AsofStrategy::Backward,
            tolerance: None,
            tolerance_str: None,
            left_by: Some(vec![self.currency.as_str().into()]),
            right_by: Some(vec!["__fx_from".into()]),
            allow_eq: true,
            check_sortedness: false,
        };
        let joined =
            left.join(rates, [col("__fx_key")], [col("__fx_date")], JoinArgs::new(JoinType::AsOf(Box::new(options))));

        let amount = col(column);
        let same = col(self.currency.as_str()).eq(lit(self.to.clone()));
        let converted = when(same.clone())
            .then(amount.clone())
            .otherwise((amount.clone() * col("__fx_rate")).round(scale as u32, RoundMode::HalfAwayFromZero))
            .cast(DataType::Decimal(MONEY_PRECISION, scale));
        let rate = when(same.clone()).then(lit(1).cast(rate_type)).otherwise(col("__fx_rate"));
        let rate_date = when(same).then(col(self.on.as_str()).cast(DataType::Date)).otherwise(col("__fx_date"));
        let error = when(amount.clone().is_null())
            .then(lit(NULL).cast(DataType::String))
            .when(col(self.currency.as_str()).is_null())
            .then(lit("no_currency"))
            .when(col(self.on.as_str()).is_null().and(col(self.currency.as_str()).neq(lit(self.to.clone()))))
            .then(lit("no_date"))
            .when(rate.clone().is_null())
            .then(lit("no_fx_rate"))
            .otherwise(lit(NULL).cast(DataType::String));
        Ok(joined
            .with_columns([
                converted.alias(self.output_name(column)),
                rate.alias(format!("{column}_fx_rate")),
                rate_date.alias(format!("{column}_fx_date")),
                error.alias(fx_error_name(column)),
            ])
            .sort(["__fx_order"], Default::default())
            // The join folds the right-hand `by` column (`__fx_from`) into the left one.
            .drop(cols(["__fx_order", "__fx_key", "__fx_date", "__fx_rate"])))
    }
}
