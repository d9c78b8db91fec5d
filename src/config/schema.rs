//! Schema files (`schemas/*.yaml`): one table's canonical columns, types, constraints,
//! and the header names real exports use for them.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::yaml::{Doc, Node};
use crate::diag::Diagnostic;

/// A parsed, validated schema file.
#[derive(Debug, Clone)]
pub struct Schema {
    pub name: String,
    pub columns: Vec<ColumnSpec>,
}

impl Schema {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn polars_schema(&self) -> polars::prelude::Schema {
        self.columns.iter().map(|c| (c.name.as_str().into(), c.kind.dtype())).collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaDoc {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    columns: Vec<Node>,
}

/// One column of a schema file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// Canonical column name used by every stage.
    pub name: String,
    /// `string`, `int`, `decimal(p,s)`, `date`, `datetime` or `bool`.
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// A row without a value here is rejected (`missing_required`).
    #[serde(default)]
    pub required: bool,
    /// A second row with the same value is rejected (`duplicate_key`); the first is kept.
    #[serde(default)]
    pub unique: bool,
    /// Values another system writes, and the canonical value each stands for
    /// (`Customer: 成单客户`), matched without case or width; applied before `allowed`.
    #[serde(default)]
    pub values: indexmap::IndexMap<String, String>,
    /// The only values allowed (`not_allowed` otherwise).
    #[serde(default)]
    pub allowed: Option<Vec<String>>,
    /// Inclusive bounds (`below_min`, `above_max`), written as the column's type.
    #[serde(default)]
    pub min: Option<Spanned<Scalar>>,
    #[serde(default)]
    pub max: Option<Spanned<Scalar>>,
    /// A strftime pattern for date and datetime columns that use a layout outside the
    /// detected ones (`2024-03-05`, `2024/3/5`, `20240305`, `2024年3月5日`).
    #[serde(default)]
    pub format: Option<String>,
    /// Spaces around a text value are removed (`true`, the default): exports pad and
    /// people type them. `false` keeps the exact text, for codes whose padding matters.
    #[serde(default = "trimmed")]
    pub trim: bool,
    /// Header names used by exports (Chinese, English, SAP field names).
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A column's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    String,
    Int,
    Decimal { precision: usize, scale: usize },
    Date,
    Datetime,
    Bool,
}

impl ColumnType {
    pub fn dtype(self) -> polars::prelude::DataType {
        use polars::prelude::{DataType, TimeUnit};
        match self {
            ColumnType::String => DataType::String,
            ColumnType::Int => DataType::Int64,
            ColumnType::Decimal { precision, scale } => DataType::Decimal(precision, scale),
            ColumnType::Date => DataType::Date,
            ColumnType::Datetime => DataType::Datetime(TimeUnit::Microseconds, None),
            ColumnType::Bool => DataType::Boolean,
        }
    }
}

impl FromStr for ColumnType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let simple = match s {
            "string" => Some(ColumnType::String),
            "int" => Some(ColumnType::Int),
            "date" => Some(ColumnType::Date),
            "datetime" => Some(ColumnType::Datetime),
            "bool" => Some(ColumnType::Bool),
            _ => None,
        };
        if let Some(t) = simple {
            return Ok(t);
        }
        let bad = || format!("unknown type '{s}'; expected string, int, decimal(p,s), date, datetime or bool");
        let args = s.strip_prefix("decimal(").and_then(|r| r.strip_suffix(')')).ok_or_else(bad)?;
        let (p, sc) = args.split_once(',').ok_or_else(bad)?;
        let precision: usize = p.trim().parse().map_err(|_| bad())?;
        let scale: usize = sc.trim().parse().map_err(|_| bad())?;
        if !(1..=38).contains(&precision) || scale > precision {
            return Err(format!("decimal({precision},{scale}): need 1 <= precision <= 38 and scale <= precision"));
        }
        Ok(ColumnType::Decimal { precision, scale })
    }
}

impl<'de> Deserialize<'de> for ColumnType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::String => f.write_str("string"),
            ColumnType::Int => f.write_str("int"),
            ColumnType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Datetime => f.write_str("datetime"),
            ColumnType::Bool => f.write_str("bool"),
        }
    }
}

/// A YAML scalar kept as text (`0`, `2.5`, `2000-01-01`), typed later by its column.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, date or string")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads and validates a schema file, reporting every problem it has.
pub fn load_schema(path: &Path) -> Result<Schema, Vec<Diagnostic>> {
    let text = super::yaml::read_text(path, "schema file").map_err(|d| vec![d])?;
    let doc = Doc::new(path, &text);
    let top: SchemaDoc = doc.parse().map_err(|d| vec![d])?;
    let mut diags = Vec::new();
    let mut columns: Vec<ColumnSpec> = Vec::new();
    for node in &top.columns {
        match doc.parse_node::<ColumnSpec>(node) {
            Ok(col) => {
                diags.extend(check_column(&doc, node, &col, &columns));
                columns.push(col);
            }
            Err(d) => diags.push(d),
        }
    }
    if top.columns.is_empty() {
        diags.push(Diagnostic::new(path, 0, 0, "a schema needs at least one column"));
    }
    if diags.is_empty() { Ok(Schema { name: top.name, columns }) } else { Err(diags) }
}

fn check_column(doc: &Doc, node: &Node, col: &ColumnSpec, earlier: &[ColumnSpec]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    // Headers match names without case, so `ID` and `id` would take one header.
    if let Some(other) = earlier.iter().find(|c| c.name.eq_ignore_ascii_case(&col.name)) {
        let message = match other.name == col.name {
            true => format!("column '{}' is declared twice", col.name),
            false => {
                format!("column '{}' is declared twice: as '{}' too (names match without case)", col.name, other.name)
            }
        };
        diags.push(doc.at(&node.referenced, message));
    }
    if let (Some(min), Some(max)) = (&col.min, &col.max)
        && bound_order(col.kind, &min.value.0, &max.value.0) == Some(std::cmp::Ordering::Greater)
    {
        diags.push(
            doc.at(&min.referenced, format!("min {} is above max {}: no value could pass", min.value.0, max.value.0)),
        );
    }
    for alias in &col.aliases {
        let key = super::header_key(alias);
        if let Some(other) = earlier.iter().find(|c| c.aliases.iter().any(|a| super::header_key(a) == key)) {
            diags.push(doc.at(
                &node.referenced,
                format!("alias '{alias}' of '{}' is also an alias of '{}'", col.name, other.name),
            ));
        }
    }
    if !col.values.is_empty() && col.kind != ColumnType::String {
        diags.push(doc.at(&node.referenced, format!("'values' applies to string columns, not {}", col.kind)));
    }
    if let Some(allowed) = &col.allowed {
        for canonical in col.values.values().filter(|v| !allowed.contains(v)) {
            let message = format!("values: '{canonical}' of '{}' is not among its allowed values", col.name);
            diags.push(doc.at(&node.referenced, message));
        }
    }
    for bound in [&col.min, &col.max].into_iter().flatten() {
        if let Err(msg) = crate::load::cast::parse_bound(col.kind, &bound.value.0) {
            diags.push(doc.at(&bound.referenced, msg));
        }
    }
    if col.format.is_some() && !matches!(col.kind, ColumnType::Date | ColumnType::Datetime) {
        diags
            .push(doc.at(&node.referenced, format!("'format' applies to date and datetime columns, not {}", col.kind)));
    }
    diags
}

/// The order of two bounds: numbers by value, ISO dates and datetimes as text.
fn bound_order(kind: ColumnType, min: &str, max: &str) -> Option<std::cmp::Ordering> {
    match kind {
        ColumnType::Int | ColumnType::Decimal { .. } => min.parse::<f64>().ok()?.partial_cmp(&max.parse::<f64>().ok()?),
        ColumnType::Date | ColumnType::Datetime => Some(min.cmp(max)),
        _ => None,
    }
}

fn trimmed() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types() {
        assert_eq!("decimal(18, 2)".parse(), Ok(ColumnType::Decimal { precision: 18, scale: 2 }));
        assert_eq!("date".parse(), Ok(ColumnType::Date));
        assert!("decimal(2,5)".parse::<ColumnType>().is_err());
        assert!("varchar".parse::<ColumnType>().is_err());
    }

    #[test]
    fn reports_every_bad_column_with_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            "name: t\ncolumns:\n  - name: id\n    type: string\n    requird: true\n  - name: amount\n    type: decimal(x)\n  - name: d\n    type: date\n    min: not-a-date\n",
        )
        .unwrap();
        let diags = load_schema(&path).unwrap_err();
        assert_eq!(diags.len(), 3, "{diags:?}");
        assert_eq!((diags[0].line, diags[0].column), (5, 5));
        assert_eq!(diags[0].help.as_deref(), Some("did you mean 'required'?"));
        assert_eq!(diags[1].line, 7);
        assert_eq!(diags[2].line, 10);
    }
}
