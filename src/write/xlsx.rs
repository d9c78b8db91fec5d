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
/// rather than by the clock, so the same run writes the same file. Sheets are written
/// in rust_xlsxwriter's constant-memory mode, a row at a time through a temporary
/// file, so the workbook costs memory by the row, not by the table. A table over
/// Excel's row limit must not reach here: the caller leaves it out, and says so.
pub fn write_workbook(tables: &[(&str, &DataFrame)], path: &Path, as_of: NaiveDate) -> Result<Vec<SheetNote>> {
    let err = |e: XlsxError| Error::input(path, format!("writing workbook: {e}"));
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(as_of.year() as u16, as_of.month() as u8, as_of.day() as u8).map_err(err)?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let mut notes = Vec::new();
    let mut used: Vec<String> = Vec::new();
    for (name, df) in tables {
        assert!(fits(df.height()), "{name}: {} rows do not fit a sheet", df.height());
        let sheet = workbook.add_worksheet_with_constant_memory().map_err(err)?;
        let sheet_name = unique_sheet_name(name, &used);
        used.push(sheet_name.to_lowercase());
        sheet.set_name(&sheet_name).map_err(err)?;
        let cut = write_sheet(sheet, df).map_err(err)?;
        notes.push(SheetNote {
            sheet: sheet_name,
            rows_written: df.height(),
            cells_cut: cut.len(),
            first_cut: cut.into_iter().next(),
        });
    }
    workbook.save(path).map_err(err)?;
    Ok(notes)
}

/// Whether a table of `rows` rows fits one sheet below its header.
pub fn fits(rows: usize) -> bool {
    rows <= MAX_DATA_ROWS
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

/// Writes a sheet row by row; returns the cells whose text was cut to fit (row,
/// column name).
fn write_sheet(sheet: &mut Worksheet, df: &DataFrame) -> Result<Vec<(usize, String)>, XlsxError> {
    let header = Format::new().set_bold().set_background_color("#DDEBF7").set_border_bottom(FormatBorder::Thin);
    let columns: Vec<Cells> = df.columns().iter().map(|c| Cells::of(c.as_materialized_series())).collect();
    for (c, column) in df.columns().iter().enumerate() {
        let c = c as u16;
        sheet.set_column_width(c, column_width(column))?;
        sheet.write_string_with_format(0, c, column.name().as_str(), &header)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    if df.width() > 0 {
        sheet.autofilter(0, 0, df.height() as u32, (df.width() - 1) as u16)?;
    }
    let mut cut = Vec::new();
    for i in 0..df.height() {
        let row = (i + 1) as u32;
        for (c, cells) in columns.iter().enumerate() {
            if cells.write(sheet, row, c as u16, i)? {
                cut.push((i + 2, df.get_column_names()[c].to_string())); // the header is row 1
            }
        }
    }
    Ok(cut)
}

/// A column's cells in the form a sheet takes them: dates and times as Excel serial
/// numbers with their format, every other number as f64, anything else as text.
enum Cells {
    Boolean(BooleanChunked),
    Number(Float64Chunked, Option<Format>),
    Text(StringChunked),
}

impl Cells {
    fn of(s: &Series) -> Cells {
        let serial = |values: Float64Chunked, per_day: f64, format: &str| {
            Cells::Number((values / per_day) + EXCEL_UNIX_EPOCH, Some(Format::new().set_num_format(format)))
        };
        let f64s = |s: &Series| {
            s.cast(&DataType::Float64).expect("numeric casts to f64").f64().expect("f64").rechunk().into_owned()
        };
        match s.dtype() {
            DataType::Boolean => Cells::Boolean(s.bool().expect("bool").rechunk().into_owned()),
            DataType::Date => serial(f64s(&s.cast(&DataType::Int32).expect("date is i32")), 1.0, "yyyy-mm-dd"),
            DataType::Datetime(unit, _) => {
                let per_day = match unit {
                    TimeUnit::Nanoseconds => 86_400e9,
                    TimeUnit::Microseconds => 86_400e6,
                    TimeUnit::Milliseconds => 86_400e3,
                };
                let ticks = s.cast(&DataType::Int64).expect("datetime is i64");
                serial(f64s(&ticks), per_day, "yyyy-mm-dd hh:mm:ss")
            }
            dtype if dtype.is_primitive_numeric() || dtype.is_decimal() => {
                let format = match dtype {
                    DataType::Decimal(_, scale) => Some(Format::new().set_num_format(money_format(*scale))),
                    d if d.is_float() => Some(Format::new().set_num_format("#,##0.00")),
                    _ => None,
                };
                Cells::Number(f64s(s), format)
            }
            _ => Cells::Text(as_text(s).str().expect("str").rechunk().into_owned()),
        }
    }

    /// Writes row `i`'s cell, if it has a value; true when its text was cut to fit.
    fn write(&self, sheet: &mut Worksheet, row: u32, c: u16, i: usize) -> Result<bool, XlsxError> {
        match self {
            Cells::Boolean(v) => {
                if let Some(v) = v.get(i) {
                    sheet.write_boolean(row, c, v)?;
                }
            }
            Cells::Number(v, format) => match (v.get(i), format) {
                (Some(v), Some(f)) => {
                    sheet.write_number_with_format(row, c, v, f)?;
                }
                (Some(v), None) => {
                    sheet.write_number(row, c, v)?;
                }
                (None, _) => {}
            },
            Cells::Text(v) => match v.get(i) {
                Some(v) if v.chars().count() > MAX_CELL_CHARS => {
                    let keep = MAX_CELL_CHARS - CUT_MARKER.chars().count();
                    let head: String = v.chars().take(keep).collect();
                    sheet.write_string(row, c, format!("{head}{CUT_MARKER}"))?;
                    return Ok(true);
                }
                Some(v) => {
                    sheet.write_string(row, c, v)?;
                }
                None => {}
            },
        }
        Ok(false)
    }
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
