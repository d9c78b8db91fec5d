//! CSV exports: delimiter, quoting, header row, encoding detection.

use std::path::Path;

use super::decode::decode;
use super::headers::{check_required, map_headers};
use super::raw::{MalformedRow, RawTable, ReadInfo, TextColumns};
use crate::config::{Schema, SourceConfig};
use crate::error::{Error, Result};

pub fn read_csv(path: &Path, config: &SourceConfig, schema: &Schema) -> Result<RawTable> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (text, encoding) = decode(&bytes, config.encoding).map_err(|m| Error::input(path, m))?;
    if text.trim().is_empty() {
        return Err(Error::input(path, "empty file: no header row"));
    }
    let delimiter = u8::try_from(config.delimiter)
        .map_err(|_| Error::input(path, format!("delimiter '{}' is not a single-byte character", config.delimiter)))?;
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let csv_error = |e: csv::Error| Error::input(path, format!("malformed CSV: {e}"));

    let mut record = csv::ByteRecord::new();
    reader.read_byte_record(&mut record).map_err(csv_error)?;
    let header_row = record.position().map_or(1, |p| p.line() as usize);
    let headers: Vec<String> = record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    let map = map_headers(&headers, schema);
    check_required(&map, schema, &headers).map_err(|m| Error::input(path, format!("header row {header_row}: {m}")))?;

    let unmapped_headers = map.unmapped.clone();
    let estimated_rows = bytes.len() / (headers.len() * 12).max(1);
    let mut columns = TextColumns::new(schema, map, estimated_rows);
    let mut malformed = Vec::new();
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        let row = record.position().map_or(0, |p| p.line());
        if record.len() != headers.len() {
            malformed.push(MalformedRow {
                row,
                reason: "ragged_row",
                detail: format!("expected {} fields, found {}", headers.len(), record.len()),
                record: record
                    .iter()
                    .map(String::from_utf8_lossy)
                    .collect::<Vec<_>>()
                    .join(&config.delimiter.to_string()),
            });
            continue;
        }
        // Fields are slices of valid UTF-8 split at ASCII delimiters, so they are valid UTF-8.
        columns.push(row, |i| record.get(i).and_then(|f| std::str::from_utf8(f).ok()));
    }
    let (frame, _) = columns.finish();
    let info = ReadInfo { encoding: Some(encoding), header_row, headers, unmapped_headers, ..Default::default() };
    Ok(RawTable { frame, malformed, info })
}
