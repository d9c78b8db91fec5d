//! XLSX exports: a sheet by name or index, title rows above the header, Excel dates.

use std::path::Path;

use calamine::{Data, Reader, open_workbook_auto};

use super::headers::{HEADER_SEARCH_ROWS, check_required, declared_index, find_header, header_not_found};
use super::raw::{RawTable, ReadInfo, TextColumns};
use crate::config::{Schema, Sheet, SourceConfig};
use crate::error::{Error, Result};

pub fn read_xlsx(path: &Path, config: &SourceConfig, schema: &Schema) -> Result<RawTable> {
    let mut workbook =
        open_workbook_auto(path).map_err(|e| Error::input(path, format!("not a readable workbook: {e}")))?;
    let names = workbook.sheet_names();
    let sheet = match &config.sheet {
        None => names.first().cloned(),
        Some(Sheet::Index(i)) => names.get(*i).cloned(),
        Some(Sheet::Name(n)) => names.iter().find(|s| *s == n).cloned(),
    }
    .ok_or_else(|| Error::input(path, format!("sheet {:?} not found; sheets: {}", config.sheet, names.join(", "))))?;
    let range = workbook.worksheet_range(&sheet).map_err(|e| Error::input(path, format!("sheet '{sheet}': {e}")))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let rows: Vec<&[Data]> = range.rows().collect();
    let texts = |row: &[Data]| row.iter().map(|c| cell_text(c).unwrap_or_default()).collect::<Vec<_>>();

    let top: Vec<Vec<String>> =
        rows.iter().take(HEADER_SEARCH_ROWS.max(declared_index(config, first_row))).map(|r| texts(r)).collect();
    let declared = config.header_row.as_ref().map(|h| h.value.saturating_sub(1 + first_row));
    let (header_index, map) = find_header(&top, schema, declared)
        .ok_or_else(|| Error::input(path, format!("sheet '{sheet}': {}", header_not_found(config))))?;
    let headers = texts(rows[header_index]);
    let header_row = first_row + header_index + 1;
    check_required(&map, schema, &headers)
        .map_err(|m| Error::input(path, format!("sheet '{sheet}', header row {header_row}: {m}")))?;

    let unmapped_headers = map.unmapped.clone();
    let data = &rows[header_index + 1..];
    let mut columns = TextColumns::new(schema, map, data.len());
    let mut blank_rows = 0;
    for (i, row) in data.iter().enumerate() {
        let cells: Vec<Option<String>> = row.iter().map(cell_text).collect();
        if cells.iter().all(|c| c.as_deref().is_none_or(|t| t.trim().is_empty())) {
            blank_rows += 1;
            continue;
        }
        let excel_row = (header_row + 1 + i) as u64;
        columns.push(excel_row, |c| cells.get(c).and_then(|t| t.as_deref()));
    }
    let (frame, _) = columns.finish();
    let info = ReadInfo { sheet: Some(sheet), header_row, headers, unmapped_headers, blank_rows, ..Default::default() };
    Ok(RawTable { frame, malformed: Vec::new(), info })
}

/// A cell as the text an export would show: integral numbers without ".0" (codes and
/// phones stored as numbers), dates as ISO dates, datetimes as ISO datetimes.
fn cell_text(cell: &Data) -> Option<String> {
    match cell {
        Data::Empty => None,
        Data::String(s) => Some(s.clone()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{f:.0}")),
        Data::Float(f) => Some(f.to_string()),
        Data::Bool(b) => Some(b.to_string()),
        Data::DateTime(dt) => dt.as_datetime().map(|d| {
            if d.time() == chrono::NaiveTime::MIN {
                d.format("%Y-%m-%d").to_string()
            } else {
                d.format("%Y-%m-%d %H:%M:%S").to_string()
            }
        }),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
        Data::Error(e) => Some(format!("#{e:?}")),
    }
}
