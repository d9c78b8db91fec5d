//! Normalizers: named, documented functions from one raw value to a cleaned value,
//! extra derived values (a match key, a phone's type, an address's province …) and,
//! when the value cannot be cleaned, a failure code. Each is pure and idempotent, so
//! the clean stage can run them over whole columns in parallel.

mod address;
mod company;
mod divisions;
mod email;
mod ids;
mod person;
mod phone;
pub mod text;

use polars::prelude::DataType;
use serde::Deserialize;

use crate::values::{parse_date, parse_decimal};

/// The result of normalizing one value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub value: Option<String>,
    /// In the order of [`Normalizer::extras`].
    pub extras: Vec<Option<String>>,
    /// Why the value could not be cleaned (a short code), if it could not.
    pub error: Option<&'static str>,
}

impl Outcome {
    pub fn value(value: String) -> Self {
        Outcome { value: Some(value), ..Default::default() }
    }

    pub fn invalid(code: &'static str) -> Self {
        Outcome { error: Some(code), ..Default::default() }
    }

    pub fn with(mut self, extras: impl IntoIterator<Item = Option<String>>) -> Self {
        self.extras = extras.into_iter().collect();
        self
    }
}

/// The normalizer named by a column's `normalize:` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Width folding, invisible characters removed, whitespace collapsed.
    Text,
    /// Display form plus `_key`, `_branch`, `_place`, `_roman` for matching.
    CompanyName,
    PersonName,
    /// E.164, plus `_type`, `_ext`, `_all` (every number in the cell, a list) and
    /// `_contact` (a name written beside the number), `_area` (an area code taken from
    /// `area_code_from`, the record's address); `default_region` for numbers without a
    /// country code.
    Phone,
    Email,
    /// 统一社会信用代码 checked, or a legacy taxpayer id; plus `_kind` and `_key`.
    Uscc,
    /// 公民身份号码 checked; 15-digit ids upgraded to 18.
    ResidentId,
    /// Rewritten with official names; plus `_province`, `_city`, `_district`,
    /// `_division` and `_street`.
    CnAddress,
    /// Dates in the layouts of exports, and Excel serials; the column becomes a date.
    Date,
    /// Amounts with currency signs and separators; the column becomes decimal(18, scale).
    Money,
}

impl Kind {
    /// The name as written in YAML.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::CompanyName => "company_name",
            Kind::PersonName => "person_name",
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::Uscc => "uscc",
            Kind::ResidentId => "resident_id",
            Kind::CnAddress => "cn_address",
            Kind::Date => "date",
            Kind::Money => "money",
        }
    }
}

/// A normalizer with its settings.
#[derive(Debug, Clone, Copy)]
pub enum Normalizer {
    Text,
    CompanyName,
    PersonName,
    Phone(phonenumber::country::Id),
    Email,
    Uscc,
    ResidentId,
    CnAddress,
    Date,
    Money { scale: usize },
}

pub use crate::values::MONEY_PRECISION;

impl Normalizer {
    /// Suffixes of the extra columns, written as `<column>_<suffix>`.
    pub fn extras(&self) -> &'static [&'static str] {
        match self {
            Normalizer::CompanyName => &["key", "branch", "place", "roman", "form"],
            Normalizer::Phone(_) => &["type", "ext", "all", "contact", "area"],
            Normalizer::Uscc => &["kind", "key"],
            Normalizer::CnAddress => &["province", "city", "district", "division", "street"],
            _ => &[],
        }
    }

    /// Extras written as lists: the text holds the items separated by `;`.
    pub fn is_list(&self, extra: &str) -> bool {
        matches!((self, extra), (Normalizer::Phone(_), "all"))
    }

    /// The type of the cleaned column.
    pub fn dtype(&self) -> DataType {
        match self {
            Normalizer::Date => DataType::Date,
            Normalizer::Money { scale } => DataType::Decimal(MONEY_PRECISION, *scale),
            _ => DataType::String,
        }
    }

    pub fn apply(&self, raw: &str) -> Outcome {
        self.apply_near(raw, None)
    }

    /// [`Normalizer::apply`] with another value of the record that some normalizers
    /// read: a phone's record address, for the area code of a local number.
    pub fn apply_near(&self, raw: &str, near: Option<&str>) -> Outcome {
        match self {
            Normalizer::Text => {
                let v = text::fold(raw);
                if v.is_empty() { Outcome::invalid("empty") } else { Outcome::value(v) }
            }
            Normalizer::CompanyName => company::company_name(raw),
            Normalizer::PersonName => person::person_name(raw),
            Normalizer::Phone(region) => phone::phone(raw, *region, near),
            Normalizer::Email => email::email(raw),
            Normalizer::Uscc => ids::uscc(raw),
            Normalizer::ResidentId => ids::resident_id(raw),
            Normalizer::CnAddress => address::cn_address(raw),
            Normalizer::Date => match parse_date(&text::fold(raw)) {
                Some(d) => Outcome::value(d.to_string()),
                None => Outcome::invalid("bad_date"),
            },
            Normalizer::Money { scale } => match parse_decimal(&text::fold(raw), MONEY_PRECISION, *scale) {
                Some(v) => Outcome::value(decimal_text(v, *scale)),
                None => Outcome::invalid("bad_amount"),
            },
        }
        .padded(self.extras().len())
    }
}

impl Outcome {
    /// Every outcome carries one slot per extra column, failed ones included.
    fn padded(mut self, n: usize) -> Self {
        self.extras.resize(n, None);
        self
    }
}

/// A fixed-point integer of `scale` decimals as text: 123450, 2 → "1234.50".
fn decimal_text(v: i128, scale: usize) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let digits = format!("{:0>width$}", v.unsigned_abs(), width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    if scale == 0 { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") }
}

#[cfg(test)]
mod tests;
