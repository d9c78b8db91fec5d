//! Typed casting with quarantine. Every value is parsed per its schema type with Polars
//! expressions; a value that does not fit (bad date, text in an amount, missing
//! required value, duplicate key, out of range or outside the allowed set) sends its
//! row to the rejects with the column, the raw value and a reason code. Nothing
//! silently becomes null, and every row read is either accepted or rejected.

use polars::prelude::*;

use super::raw::ROW;
use crate::config::{ColumnSpec, ColumnType, Schema};
use crate::rejects::{self, Origin};
use crate::values;

const REJECTED: &str = "__rejected";

/// Rows accepted with their schema types (and the reader's row number), and the reject
/// entries of the others.
pub struct Cast {
    pub accepted: DataFrame,
    /// One entry per failing value (a row can fail in several columns).
    pub rejects: DataFrame,
    pub rows_rejected: usize,
}

/// The rows of each `unique:` column already known to repeat an earlier row's value,
/// by row number: found over the whole file when it is cast a batch at a time. A
/// column not here is checked within the frame.
pub type KnownRepeats = std::collections::HashMap<String, Series>;

/// Casts `raw` (schema columns plus `__row`) to the schema's types, splitting off rejects.
pub fn cast(raw: DataFrame, schema: &Schema, origin: &Origin, known: &KnownRepeats) -> PolarsResult<Cast> {
    let raw_schema = raw.schema().clone();
    let parsed: Vec<Expr> = schema
        .columns
        .iter()
        .map(|c| parse(c, raw_schema.get(c.name.as_str()).unwrap_or(&DataType::String)).alias(parsed_name(c)))
        .collect();
    // Each value's first problem as a small number over the whole table (Int32: Polars
    // is built without its 8-bit types; a text column of 35 million mostly empty
    // reasons would cost gigabytes); as text for the rejected rows only.
    let codes: Vec<Expr> =
        schema.columns.iter().map(|c| reason_code(c, known.get(c.name.as_str())).alias(code_name(c))).collect();
    let any_reason = schema.columns.iter().map(|c| col(code_name(c)).neq(lit(0i32))).reduce(|a, b| a.or(b));
    let checked = raw
        .lazy()
        .with_columns(parsed)
        .with_columns(codes)
        .with_column(any_reason.unwrap_or(lit(false)).alias(REJECTED))
        .collect()?;

    let reasons: Vec<Expr> = schema.columns.iter().map(|c| reason_text(c).alias(reason_name(c))).collect();
    let bad =
        checked.clone().lazy().filter(col(REJECTED)).with_columns(reasons).with_column(record(schema)).collect()?;
    let accepted = accepted(checked, schema, bad.height())?;
    let rows_rejected = bad.height();
    let entries = schema
        .columns
        .iter()
        .map(|c| {
            let reason = col(reason_name(c));
            bad.clone().lazy().filter(reason.clone().is_not_null()).select(rejects::entry(
                origin,
                Some(c.name.as_str()),
                col(c.name.as_str()).cast(DataType::String),
                reason.clone(),
                detail(c, reason),
                col(rejects::RECORD),
            ))
        })
        .collect::<Vec<_>>();
    let rejects = if entries.is_empty() {
        rejects::empty()
    } else {
        concat(entries, UnionArgs::default())?
            .sort([rejects::ROW_COLUMN], SortMultipleOptions::default().with_maintain_order(true))
            .collect()?
    };
    Ok(Cast { accepted, rejects, rows_rejected })
}

/// The accepted rows, with their parsed values under the schema's names. Filtered a
/// column at a time, each raw and parsed column freed before the next: a filter of the
/// whole frame held two copies of a 35-million-row table at once.
fn accepted(mut checked: DataFrame, schema: &Schema, rejected: usize) -> PolarsResult<DataFrame> {
    let keep = !checked.drop_in_place(REJECTED)?.bool()?;
    let height = checked.height() - rejected;
    let mut columns = Vec::with_capacity(schema.columns.len() + 1);
    for (parsed, name) in schema.columns.iter().map(|c| (parsed_name(c), c.name.as_str())).chain([(ROW.into(), ROW)]) {
        let column = checked.drop_in_place(&parsed)?.with_name(name.into());
        if parsed != name {
            checked.drop_in_place(name)?;
        }
        columns.push(if rejected == 0 { column } else { column.filter(&keep)? });
    }
    DataFrame::new(height, columns)
}

fn parsed_name(c: &ColumnSpec) -> String {
    format!("__parsed_{}", c.name)
}

fn reason_name(c: &ColumnSpec) -> String {
    format!("__reason_{}", c.name)
}

fn code_name(c: &ColumnSpec) -> String {
    format!("__code_{}", c.name)
}

/// The column parsed to its schema type; null where the text does not fit. Readers
/// have already turned blank text into null. String columns lose the spaces around
/// them (an entry habit: " nicholas"), unless `trim: false`; standardizing them
/// further is the clean stage's job, which counts what it changes.
fn parse(c: &ColumnSpec, raw_dtype: &DataType) -> Expr {
    let target = c.kind.dtype();
    let raw = col(c.name.as_str());
    if c.kind != ColumnType::String && *raw_dtype == target {
        return raw;
    }
    let t = values::stripped(raw.clone());
    match c.kind {
        ColumnType::String if !c.values.is_empty() => {
            let vocabulary = c.values.iter().map(|(from, to)| (crate::config::header_key(from), to.clone())).collect();
            values::translated(if c.trim { t } else { raw.cast(DataType::String) }, std::sync::Arc::new(vocabulary))
        }
        ColumnType::String if c.trim => t,
        ColumnType::String => raw.cast(DataType::String),
        ColumnType::Int => t.str().replace_all(lit(","), lit(""), true).cast(DataType::Int64),
        ColumnType::Decimal { precision, scale } => values::decimals(t, precision, scale),
        ColumnType::Date => parse_date(t, c.format.as_deref()),
        ColumnType::Datetime => parse_datetime(t, c.format.as_deref()),
        ColumnType::Bool => parse_bool(t),
    }
}

fn strptime(format: &str) -> StrptimeOptions {
    StrptimeOptions { format: Some(format.into()), strict: false, exact: true, cache: true }
}

/// A date by `format`, else in any layout of [`values::parse_date`].
fn parse_date(t: Expr, format: Option<&str>) -> Expr {
    match format {
        Some(f) => t.str().to_date(strptime(f)),
        None => values::dates(t),
    }
}

fn parse_datetime(t: Expr, format: Option<&str>) -> Expr {
    let unit = TimeUnit::Microseconds;
    let to_datetime = |e: Expr, f: &str| e.str().to_datetime(Some(unit), None, strptime(f), lit("raise"));
    if let Some(f) = format {
        return to_datetime(t, f);
    }
    let norm = t.clone().str().replace_all(lit("/"), lit("-"), true).str().replace(lit("T"), lit(" "), true);
    coalesce(&[
        to_datetime(norm.clone(), "%Y-%m-%d %H:%M:%S"),
        to_datetime(norm, "%Y-%m-%d %H:%M"),
        parse_date(t, None).cast(DataType::Datetime(unit, None)),
    ])
}

const TRUE_WORDS: [&str; 8] = ["true", "t", "yes", "y", "1", "是", "有效", "√"];
const FALSE_WORDS: [&str; 8] = ["false", "f", "no", "n", "0", "否", "无效", "×"];

fn parse_bool(t: Expr) -> Expr {
    let lower = t.str().to_lowercase();
    let words = |w: &[&str]| lit(Series::new("".into(), w)).implode(false);
    when(lower.clone().is_in(words(&TRUE_WORDS), false))
        .then(lit(true))
        .when(lower.is_in(words(&FALSE_WORDS), false))
        .then(lit(false))
        .otherwise(lit(NULL).cast(DataType::Boolean))
}

/// A min/max bound from a schema file as a literal of the column's type.
pub fn parse_bound(kind: ColumnType, text: &str) -> Result<Expr, String> {
    let bad = || format!("bound '{text}' is not a valid {kind}");
    match kind {
        ColumnType::Int => text.parse::<i64>().map(lit).map_err(|_| bad()),
        ColumnType::Decimal { .. } => {
            text.parse::<f64>().map_err(|_| bad())?;
            Ok(lit(text.to_string()).cast(kind.dtype()))
        }
        ColumnType::Date => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map(lit).map_err(|_| bad()),
        ColumnType::Datetime => chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .map(|d| lit(d).cast(kind.dtype()))
            .map_err(|_| bad()),
        ColumnType::String | ColumnType::Bool => Err(format!("min/max do not apply to {kind} columns")),
    }
}

/// The first problem of a value, as the 1-based place of its check in [`checks`]; 0
/// when it fits.
fn reason_code(c: &ColumnSpec, known: Option<&Series>) -> Expr {
    // Earlier checks take precedence, so nest from the last one outwards.
    checks(c, known)
        .into_iter()
        .enumerate()
        .rev()
        .fold(lit(0i32), |otherwise, (i, (cond, _))| when(cond).then(lit(i as i32 + 1)).otherwise(otherwise))
}

/// The reason code [`reason_code`] points at, as text; null when it fits.
fn reason_text(c: &ColumnSpec) -> Expr {
    let code = col(code_name(c));
    checks(c, None).into_iter().enumerate().fold(lit(NULL).cast(DataType::String), |otherwise, (i, (_, text))| {
        when(code.clone().eq(lit(i as i32 + 1))).then(lit(text)).otherwise(otherwise)
    })
}

/// A column's checks in order of precedence: (the value fails, its reason code).
fn checks(c: &ColumnSpec, known: Option<&Series>) -> Vec<(Expr, String)> {
    let present = col(c.name.as_str()).is_not_null();
    let value = col(parsed_name(c));
    let mut checks: Vec<(Expr, String)> = Vec::new();
    if c.required {
        checks.push((present.clone().not(), "missing_required".into()));
    }
    if c.kind != ColumnType::String {
        checks.push((present.and(value.clone().is_null()), format!("bad_{}", kind_word(c.kind))));
    }
    let key = compared(c, value.clone());
    if let Some(allowed) = &c.allowed {
        let set = lit(Series::new("".into(), allowed)).implode(false);
        let outside = key.clone().cast(DataType::String).is_in(set, false).not();
        checks.push((value.clone().is_not_null().and(outside), "not_allowed".into()));
    }
    if let Some(Ok(min)) = c.min.as_ref().map(|b| parse_bound(c.kind, &b.value.0)) {
        checks.push((value.clone().lt(min), "below_min".into()));
    }
    if let Some(Ok(max)) = c.max.as_ref().map(|b| parse_bound(c.kind, &b.value.0)) {
        checks.push((value.clone().gt(max), "above_max".into()));
    }
    if c.unique {
        let repeats = match (known, c.kind) {
            (Some(rows), _) => col(ROW).is_in(lit(rows.clone()).implode(false), false),
            (None, ColumnType::String) => super::repeats::repeats_earlier(key),
            (None, _) => key.is_first_distinct().not(),
        };
        checks.push((value.is_not_null().and(repeats), "duplicate_key".into()));
    }
    checks
}

/// A parsed value as `allowed:` and `unique:` compare it. Strings kept verbatim
/// (`trim: false`) are compared stripped: " 正常" is the allowed 正常 and "C001 "
/// repeats C001. Trimmed ones are stripped already.
fn compared(c: &ColumnSpec, value: Expr) -> Expr {
    match c.kind {
        ColumnType::String if !c.trim => value.str().strip_chars(lit(NULL)),
        _ => value,
    }
}

/// A `unique:` column's values as the check compares them, from the raw column.
pub fn unique_key(c: &ColumnSpec, raw_dtype: &DataType) -> Expr {
    compared(c, parse(c, raw_dtype))
}

fn kind_word(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::String => "string",
        ColumnType::Int => "int",
        ColumnType::Decimal { .. } => "decimal",
        ColumnType::Date => "date",
        ColumnType::Datetime => "datetime",
        ColumnType::Bool => "bool",
    }
}

/// A human explanation of a reason code for this column.
fn detail(c: &ColumnSpec, reason: Expr) -> Expr {
    let bound = |b: &Option<serde_saphyr::Spanned<crate::config::Scalar>>| {
        b.as_ref().map_or(String::new(), |b| b.value.0.clone())
    };
    let allowed = c.allowed.as_ref().map_or(String::new(), |a| a.join(", "));
    let is = |code: &str| reason.clone().eq(lit(code.to_string()));
    when(is("not_allowed"))
        .then(lit(format!("allowed: {allowed}")))
        .when(is("below_min"))
        .then(lit(format!("min {}", bound(&c.min))))
        .when(is("above_max"))
        .then(lit(format!("max {}", bound(&c.max))))
        .when(is("duplicate_key"))
        .then(lit("an earlier row has this value"))
        .when(is("missing_required"))
        .then(lit("required value is empty"))
        .otherwise(lit(format!("expected {}", c.kind)))
}

/// The whole raw row as `column=value; ...`, so a rejected row can be repaired and reloaded.
fn record(schema: &Schema) -> Expr {
    let parts: Vec<Expr> = schema
        .columns
        .iter()
        .map(|c| {
            concat_str(
                [lit(format!("{}=", c.name)), col(c.name.as_str()).cast(DataType::String).fill_null(lit(""))],
                "",
                false,
            )
        })
        .collect();
    concat_str(parts, "; ", false).alias(rejects::RECORD)
}
