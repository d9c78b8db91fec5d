//! The run's workbook: one sheet per table, header styled and frozen, autofilter,
//! column widths from the content, dates and amounts formatted, and every text cell
//! written as text so that a value like `=HYPERLINK(...)` is never a formula.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError};
use serde::Serialize;

use crate::error::{Error, Result};

/// Excel's row limit, less the header row.
const MAX_DATA_ROWS: usize = 1_048_575;
/// Rows sampled to size columns.
const WIDTH_SAMPLE: usize = 1000;
/// Days from Excel's 1900 epoch (1899-12-30) to 1970-01-01.
const EXCEL_UNIX_EPOCH: f64 = 25569.0;

#[derive(Debug, Clone, Serialize)]
pub struct SheetNote {
    pub sheet: String,
    pub rows_written: usize,
    /// True when the table had more rows than a sheet holds; the Parquet file has all.
    pub truncated: bool,
    /// Cells whose text was longer than a cell holds (32,767 characters), cut in the
    /// sheet only, and where the first of them is (1-based row, column name).
    #[serde(skip_serializing_if = "is_zero")]
    pub cells_cut: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_cut: Option<(usize, String)>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Excel's limit on the characters of a cell.
const MAX_CELL_CHARS: usize = 32_767;
/// Ends a text cut to fit a cell.
const CUT_MARKER: &str = " …[cut: the Parquet file has the whole text]";

/// Writes `tables` (sheet name, frame) to one workbook at `path`, dated `as_of`
/// rather than by the clock, so the same run writes the same file.
pub fn write_workbook(tables: &[(&str, &DataFrame)], path: &Path, as_of: NaiveDate) -> Result<Vec<SheetNote>> {
    let err = |e: XlsxError| Error::input(path, format!("writing workbook: {e}"));
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(as_of.year() as u16, as_of.month() as u8, as_of.day() as u8).map_err(err)?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let mut notes = Vec::new();
    let mut used: Vec<String> = Vec::new();
    for (name, df) in tables {
        let sheet = workbook.add_worksheet();
        let sheet_name = unique_sheet_name(name, &used);
        used.push(sheet_name.to_lowercase());
        sheet.set_name(&sheet_name).map_err(err)?;
        let rows = df.height().min(MAX_DATA_ROWS);
        let cut = write_sheet(sheet, &df.slice(0, rows)).map_err(err)?;
        notes.push(SheetNote {
            sheet: sheet_name,
            rows_written: rows,
            truncated: rows < df.height(),
            cells_cut: cut.len(),
            first_cut: cut.into_iter().next(),
        });
    }
    workbook.save(path).map_err(err)?;
    Ok(notes)
}

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`, unique regardless of case.
fn unique_sheet_name(name: &str, used: &[String]) -> String {
    let clean: String = name.chars().map(|c| if "[]:*?/\\".contains(c) { '_' } else { c }).collect();
    (1..)
        .map(|n| {
            let suffix = if n == 1 { String::new() } else { format!(" ({n})") };
            let keep = 31 - suffix.chars().count();
            format!("{}{suffix}", clean.chars().take(keep).collect::<String>())
        })
        .find(|candidate| !used.contains(&candidate.to_lowercase()))
        .expect("some suffix is free")
}

/// Writes a sheet; returns the cells whose text was cut to fit (row, column name).
fn write_sheet(sheet: &mut Worksheet, df: &DataFrame) -> Result<Vec<(usize, String)>, XlsxError> {
    let header = Format::new().set_bold().set_background_color("#DDEBF7").set_border_bottom(FormatBorder::Thin);
    let mut cut = Vec::new();
    for (c, column) in df.columns().iter().enumerate() {
        let c = c as u16;
        sheet.write_string_with_format(0, c, column.name().as_str(), &header)?;
        sheet.set_column_width(c, column_width(column))?;
        let rows = write_column(sheet, c, column.as_materialized_series())?;
        cut.extend(rows.into_iter().map(|row| (row, column.name().to_string())));
    }
    sheet.set_freeze_panes(1, 0)?;
    if df.width() > 0 {
        sheet.autofilter(0, 0, df.height() as u32, (df.width() - 1) as u16)?;
    }
    cut.sort();
    Ok(cut)
}

/// Writes a column's cells; returns the 1-based sheet rows whose text was cut to fit.
fn write_column(sheet: &mut Worksheet, c: u16, s: &Series) -> Result<Vec<usize>, XlsxError> {
    let mut cut = Vec::new();
    let at = |i: usize| (i + 1) as u32;
    match s.dtype() {
        DataType::Boolean => {
            for (i, v) in s.bool().expect("bool").iter().enumerate() {
                if let Some(v) = v {
                    sheet.write_boolean(at(i), c, v)?;
                }
            }
        }
        DataType::Date => {
            let format = Format::new().set_num_format("yyyy-mm-dd");
            let days = s.cast(&DataType::Int32).expect("date is i32");
            for (i, v) in days.i32().expect("i32").iter().enumerate() {
                if let Some(v) = v {
                    sheet.write_number_with_format(at(i), c, v as f64 + EXCEL_UNIX_EPOCH, &format)?;
                }
            }
        }
        DataType::Datetime(unit, _) => {
            let format = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
            let per_day = match unit {
                TimeUnit::Nanoseconds => 86_400e9,
                TimeUnit::Microseconds => 86_400e6,
                TimeUnit::Milliseconds => 86_400e3,
            };
            let ticks = s.cast(&DataType::Int64).expect("datetime is i64");
            for (i, v) in ticks.i64().expect("i64").iter().enumerate() {
                if let Some(v) = v {
                    sheet.write_number_with_format(at(i), c, v as f64 / per_day + EXCEL_UNIX_EPOCH, &format)?;
                }
            }
        }
        dtype if dtype.is_primitive_numeric() || dtype.is_decimal() => {
            let format = match dtype {
                DataType::Decimal(_, scale) => Some(Format::new().set_num_format(money_format(*scale))),
                d if d.is_float() => Some(Format::new().set_num_format("#,##0.00")),
                _ => None,
            };
            let values = s.cast(&DataType::Float64).expect("numeric casts to f64");
            for (i, v) in values.f64().expect("f64").iter().enumerate() {
                match (v, &format) {
                    (Some(v), Some(f)) => sheet.write_number_with_format(at(i), c, v, f).map(|_| ())?,
                    (Some(v), None) => sheet.write_number(at(i), c, v).map(|_| ())?,
                    (None, _) => {}
                }
            }
        }
        _ => {
            let text = as_text(s);
            for (i, v) in text.str().expect("str").iter().enumerate() {
                match v {
                    Some(v) if v.chars().count() > MAX_CELL_CHARS => {
                        let keep = MAX_CELL_CHARS - CUT_MARKER.chars().count();
                        let head: String = v.chars().take(keep).collect();
                        sheet.write_string(at(i), c, format!("{head}{CUT_MARKER}"))?;
                        cut.push(i + 2); // the header is row 1
                    }
                    Some(v) => {
                        sheet.write_string(at(i), c, v)?;
                    }
                    None => {}
                }
            }
        }
    }
    Ok(cut)
}

/// A column as text: Polars' cast where it has one, JSON for nested values (lists,
/// structs), which it cannot cast to text.
fn as_text(s: &Series) -> Series {
    if !s.dtype().is_nested() {
        return s.cast(&DataType::String).expect("a flat type casts to text");
    }
    let texts: Vec<Option<String>> = s.iter().map(|v| (!v.is_null()).then(|| json(&v).to_string())).collect();
    Series::new(s.name().clone(), texts)
}

fn json(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::from(*b),
        AnyValue::String(s) => Value::from(*s),
        AnyValue::StringOwned(s) => Value::from(s.as_str()),
        AnyValue::List(items) => Value::Array(items.iter().map(|x| json(&x)).collect()),
        AnyValue::Struct(..) => json(&v.clone().into_static()),
        AnyValue::StructOwned(payload) => {
            let (values, fields) = &**payload;
            Value::Object(fields.iter().zip(values).map(|(f, x)| (f.name().to_string(), json(x))).collect())
        }
        v if v.dtype().is_integer() => v.extract::<i64>().map_or(Value::Null, Value::from),
        v if v.dtype().is_primitive_numeric() => v.extract::<f64>().map_or(Value::Null, Value::from),
        other => Value::from(other.to_string()),
    }
}

fn money_format(scale: usize) -> String {
    if scale == 0 { "#,##0".to_string() } else { format!("#,##0.{}", "0".repeat(scale)) }
}

/// Width in Excel character units: CJK characters count double.
fn column_width(column: &Column) -> f64 {
    let display = |s: &str| s.chars().map(|ch| if (ch as u32) >= 0x2E80 { 2 } else { 1 }).sum::<usize>();
    let sample = column.as_materialized_series().head(Some(WIDTH_SAMPLE));
    let text = as_text(&sample);
    let widest = text.str().expect("str").iter().flatten().map(display).max().unwrap_or(0);
    let width = widest.max(display(column.name())) + 2;
    (width.clamp(8, 60)) as f64
}
