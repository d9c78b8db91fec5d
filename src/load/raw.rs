//! The common shape every reader produces: schema columns as read (text for CSV and
//! XLSX, native types for Parquet), the source row number of each row, and the rows
//! that could not even be split into columns.

use polars::prelude::*;

use super::headers::HeaderMap;
use crate::config::Schema;
use crate::rejects::{self, Origin};

/// Name of the source row number column carried until rows are accepted or rejected.
pub const ROW: &str = "__row";

pub struct RawTable {
    pub frame: DataFrame,
    /// Rows rejected while reading (e.g. a CSV row with the wrong number of fields).
    pub malformed: Vec<MalformedRow>,
    pub info: ReadInfo,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReadInfo {
    pub encoding: Option<&'static str>,
    pub sheet: Option<String>,
    /// 1-based row of the header (XLSX: the Excel row number).
    pub header_row: usize,
    pub headers: Vec<String>,
    pub unmapped_headers: Vec<String>,
    /// Rows with no value at all (XLSX spacer rows); not data, so not counted as read.
    pub blank_rows: usize,
}

/// A row that cannot be split into the header's columns.
#[derive(Debug, Clone)]
pub struct MalformedRow {
    pub row: u64,
    pub reason: &'static str,
    pub detail: String,
    pub record: String,
}

/// Builds one text column per schema column, row by row, as a reader parses a file.
pub struct TextColumns {
    map: HeaderMap,
    builders: Vec<StringChunkedBuilder>,
    rows: Vec<u64>,
}

impl TextColumns {
    pub fn new(schema: &Schema, map: HeaderMap, capacity: usize) -> Self {
        let builders =
            schema.columns.iter().map(|c| StringChunkedBuilder::new(c.name.as_str().into(), capacity)).collect();
        TextColumns { map, builders, rows: Vec::with_capacity(capacity) }
    }

    /// Appends one row; `field(i)` is the text of header `i`. Blank text becomes null.
    pub fn push<'a>(&mut self, row: u64, field: impl Fn(usize) -> Option<&'a str>) {
        for (builder, source) in self.builders.iter_mut().zip(&self.map.sources) {
            match source.and_then(&field) {
                Some(text) if !text.trim().is_empty() => builder.append_value(text),
                _ => builder.append_null(),
            }
        }
        self.rows.push(row);
    }

    pub fn finish(self) -> (DataFrame, HeaderMap) {
        let mut columns: Vec<Column> = self.builders.into_iter().map(|b| b.finish().into_series().into()).collect();
        columns.push(Series::new(ROW.into(), self.rows).into());
        let frame = DataFrame::new_infer_height(columns).expect("columns have equal length");
        (frame, self.map)
    }
}

/// Reject entries for rows that a reader could not split into columns.
pub fn from_malformed(origin: &Origin, rows: &[MalformedRow]) -> PolarsResult<DataFrame> {
    if rows.is_empty() {
        return Ok(rejects::empty());
    }
    let frame = df! {
        ROW => rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        "reason" => rows.iter().map(|r| r.reason).collect::<Vec<_>>(),
        "detail" => rows.iter().map(|r| r.detail.as_str()).collect::<Vec<_>>(),
        "record" => rows.iter().map(|r| r.record.as_str()).collect::<Vec<_>>(),
    }?;
    let none = || lit(NULL).cast(DataType::String);
    frame.lazy().select(rejects::entry(origin, None, none(), col("reason"), col("detail"), col("record"))).collect()
}
