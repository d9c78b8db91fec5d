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

/// Why a row cannot be converted, by its code in the failure column (1, 2, 3): a
/// column of numbers, null where the row converts (140 MB at 35 million rows), instead
/// of one of text (560 MB, nearly all empty).
const FX_ERRORS: [&str; 3] = ["no_currency", "no_date", "no_fx_rate"];

/// The failure code of [`FX_ERRORS`] as its text.
pub fn fx_error_text(code: Expr) -> Expr {
    FX_ERRORS.iter().enumerate().fold(lit(NULL).cast(DataType::String), |other, (i, text)| {
        when(code.clone().eq(lit(i as i32 + 1))).then(lit(*text)).otherwise(other)
    })
}

impl ConvertCurrency {
    pub fn output_name(&self, column: &str) -> String {
        format!("{column}_{}", self.to.to_lowercase())
    }

    /// Adds the converted amount, the rate and its date, and the failure code.
    ///
    /// The rate of a day is looked up in a small grid holding, for every currency and
    /// every day from the first rate to the last, the latest rate on or before it (an
    /// as-of join of that grid alone). A row's place in the grid is computed from its
    /// currency and date, and its rate gathered from there: the rows are neither sorted
    /// nor joined, so no column but the new ones is copied. On 35 million documents,
    /// sorting them by date and back took half the conversion, and a join copying every
    /// column most of the rest. A row dated after the last rate takes the last day's.
    pub fn apply(&self, lf: LazyFrame, rates: LazyFrame, column: &str, scale: usize) -> PolarsResult<LazyFrame> {
        let rate_type = DataType::Decimal(MONEY_PRECISION, RATE_SCALE);
        let rates = rates
            .filter(col("to_currency").eq(lit(self.to.clone())))
            .select([
                col("rate_date").cast(DataType::Date).alias("__fx_date"),
                col("from_currency").alias("__fx_from"),
                col("rate").cast(rate_type.clone()).alias("__fx_rate"),
            ])
            .collect()?;
        let grid = RateGrid::new(&rates)?;
        let (rate, date) = grid.lookup(col(self.currency.as_str()), col(self.on.as_str()).cast(DataType::Date));
        let lf = lf.with_columns([rate.alias("__fx_rate"), date.alias("__fx_date")]);

        let amount = col(column);
        let same = col(self.currency.as_str()).eq(lit(self.to.clone()));
        let converted = when(same.clone())
            .then(amount.clone())
            .otherwise((amount.clone() * col("__fx_rate")).round(scale as u32, RoundMode::HalfAwayFromZero))
            .cast(DataType::Decimal(MONEY_PRECISION, scale));
        let rate = when(same.clone()).then(lit(1).cast(rate_type)).otherwise(col("__fx_rate"));
        let rate_date = when(same).then(col(self.on.as_str()).cast(DataType::Date)).otherwise(col("__fx_date"));
        let code = |reason: &str| {
            let place = FX_ERRORS.iter().position(|r| *r == reason).expect("a known reason");
            lit(place as i32 + 1)
        };
        let error = when(amount.clone().is_null())
            .then(lit(NULL).cast(DataType::Int32))
            .when(col(self.currency.as_str()).is_null())
            .then(code("no_currency"))
            .when(col(self.on.as_str()).is_null().and(col(self.currency.as_str()).neq(lit(self.to.clone()))))
            .then(code("no_date"))
            .when(rate.clone().is_null())
            .then(code("no_fx_rate"))
            .otherwise(lit(NULL).cast(DataType::Int32));
        Ok(lf
            .with_columns([
                converted.alias(self.output_name(column)),
                rate.alias(format!("{column}_fx_rate")),
                rate_date.alias(format!("{column}_fx_date")),
                error.alias(fx_error_name(column)),
            ])
            .drop(cols(["__fx_date", "__fx_rate"])))
    }
}

/// The latest rate on or before each day, for every currency and every day from the
/// first rate to the last, laid out currency by currency: the rate of (currency `c`,
/// day `d`) is at `c * days + (d - first)`.
struct RateGrid {
    currencies: Series,
    first: i32,
    days: i64,
    rates: Series,
    dates: Series,
}

impl RateGrid {
    fn new(rates: &DataFrame) -> PolarsResult<RateGrid> {
        let day_numbers = rates.column("__fx_date")?.cast(&DataType::Int32)?;
        let (first, last) = match (day_numbers.i32()?.min(), day_numbers.i32()?.max()) {
            (Some(first), Some(last)) => (first, last),
            _ => (0, -1),
        };
        let days = Series::new("__fx_day".into(), (first..=last).collect::<Vec<i32>>()).cast(&DataType::Date)?;
        let currencies = rates.clone().lazy().select([col("__fx_from").unique().sort(Default::default())]);
        let calendar = currencies.cross_join(DataFrame::new(days.len(), vec![days.into_column()])?.lazy(), None);
        let options = AsOfOptions {
            strategy: AsofStrategy::Backward,
            left_by: Some(vec!["__fx_from".into()]),
            right_by: Some(vec!["__fx_from".into()]),
            allow_eq: true,
            ..Default::default()
        };
        let grid = calendar
            .sort(["__fx_day"], Default::default())
            .join(
                rates.clone().lazy().sort(["__fx_date"], Default::default()),
                [col("__fx_day")],
                [col("__fx_date")],
                JoinArgs::new(JoinType::AsOf(Box::new(options))),
            )
            .sort(["__fx_from", "__fx_day"], Default::default())
            .collect()?;
        let currencies = grid.column("__fx_from")?.unique_stable()?.as_materialized_series().clone();
        let column = |name: &str| grid.column(name).map(|c| c.as_materialized_series().clone());
        Ok(RateGrid {
            currencies,
            first,
            days: (last - first + 1) as i64,
            rates: column("__fx_rate")?,
            dates: column("__fx_date")?,
        })
    }

    /// The rate of each row's currency and day, and that rate's date; null for a
    /// currency without rates or a day before its first.
    fn lookup(&self, currency: Expr, day: Expr) -> (Expr, Expr) {
        let numbers = Series::new("".into(), (0..self.currencies.len() as i64).collect::<Vec<i64>>());
        let c = currency.replace_strict(
            lit(self.currencies.clone()),
            lit(numbers),
            Some(lit(NULL).cast(DataType::Int64)),
            Some(DataType::Int64),
        );
        let offset = day.cast(DataType::Int32).cast(DataType::Int64) - lit(self.first as i64);
        let offset = when(offset.clone().lt(lit(0i64))).then(lit(NULL).cast(DataType::Int64)).otherwise(offset);
        let at = c * lit(self.days) + offset.clip_max(lit(self.days - 1));
        let gather = |s: &Series| lit(s.clone()).gather(at.clone(), true);
        (gather(&self.rates), gather(&self.dates))
    }
}
