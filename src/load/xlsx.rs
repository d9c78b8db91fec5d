//! XLSX exports: a sheet by name or index, title rows above the header, Excel dates.

use std::path::Path;

use calamine::{Data, Reader, Sheets, open_workbook_auto};

use super::headers::{HEADER_SEARCH_ROWS, check_required, declared_index, find_header, header_not_found};
use super::raw::{RawTable, ReadInfo, TextColumns};
use crate::config::{Schema, Sheet, SourceConfig};
use crate::error::{Error, Result};

/// The workbook and the name of the sheet the source reads.
fn open(path: &Path, config: &SourceConfig) -> Result<(Sheets<std::io::BufReader<std::fs::File>>, String)> {
    let workbook = open_workbook_auto(path).map_err(|e| Error::input(path, format!("not a readable workbook: {e}")))?;
    let names = workbook.sheet_names();
    let sheet = match &config.sheet {
        None => names.first().cloned(),
        // `sheet: 2024` is the sheet named 2024 when there is one, else an index.
        Some(Sheet::Index(i)) => names.iter().find(|n| **n == i.to_string()).or(names.get(*i)).cloned(),
        Some(Sheet::Name(n)) => names.iter().find(|s| *s == n).cloned(),
    };
    let Some(sheet) = sheet else {
        let wanted = match &config.sheet {
            Some(Sheet::Index(i)) => format!("sheet '{i}' (by name, or by 0-based index)"),
            Some(Sheet::Name(n)) => format!("sheet '{n}'"),
            None => "a sheet".to_string(),
        };
        let hint = match &config.sheet {
            Some(Sheet::Name(n)) => crate::diag::did_you_mean(n, names.iter().map(String::as_str))
                .map(|best| format!("; did you mean '{best}'?"))
                .unwrap_or_default(),
            _ => String::new(),
        };
        return Err(Error::input(path, format!("{wanted} not found; sheets: {}{hint}", names.join(", "))));
    };
    Ok((workbook, sheet))
}

/// Checks that the sheet exists and its header row maps to the schema, reading cells
/// only down to the rows searched for the header.
pub fn probe_xlsx(path: &Path, config: &SourceConfig, schema: &Schema) -> Result<()> {
    let (mut workbook, sheet) = open(path, config)?;
    let sheet_error = |e: &dyn std::fmt::Display| Error::input(path, format!("sheet '{sheet}': {e}"));
    let mut top: Vec<Vec<String>> = Vec::new();
    let first_row = match &mut workbook {
        Sheets::Xlsx(xlsx) => {
            let mut cells = xlsx.worksheet_cells_reader(&sheet).map_err(|e| sheet_error(&e))?;
            let mut first: Option<u32> = None;
            while let Some(cell) = cells.next_cell().map_err(|e| sheet_error(&e))? {
                let (row, column) = cell.get_position();
                let first = *first.get_or_insert(row);
                let i = (row - first) as usize;
                if i >= HEADER_SEARCH_ROWS.max(declared_index(config, first as usize)) {
                    break;
                }
                top.resize(top.len().max(i + 1), Vec::new());
                let texts = &mut top[i];
                texts.resize(texts.len().max(column as usize + 1), String::new());
                texts[column as usize] = cell_text(&Data::from(cell.get_value().clone())).unwrap_or_default();
            }
            first.unwrap_or(0) as usize
        }
        other => {
            let range = other.worksheet_range(&sheet).map_err(|e| sheet_error(&e))?;
            top = range
                .rows()
                .take(HEADER_SEARCH_ROWS)
                .map(|r| r.iter().map(|c| cell_text(c).unwrap_or_default()).collect())
                .collect();
            range.start().map_or(0, |(r, _)| r as usize)
        }
    };
    let declared = config.header_row.as_ref().map(|h| h.value.saturating_sub(1 + first_row));
    let (header_index, map) = find_header(&top, schema, declared)
        .ok_or_else(|| Error::input(path, format!("sheet '{sheet}': {}", header_not_found(config))))?;
    let header_row = first_row + header_index + 1;
    check_required(&map, schema, &top[header_index])
        .map_err(|m| Error::input(path, format!("sheet '{sheet}', header row {header_row}: {m}")))
}

pub fn read_xlsx(path: &Path, config: &SourceConfig, schema: &Schema) -> Result<RawTable> {
    let (mut workbook, sheet) = open(path, config)?;
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
