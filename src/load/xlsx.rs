//! XLSX exports: a sheet by name or index, title rows above the header, Excel dates.

use std::path::Path;

use std::fs::File;
use std::io::{BufReader, Read};

use calamine::{Data, Reader, Sheets, XlsError, XlsxError, open_workbook};

use super::headers::{HEADER_SEARCH_ROWS, Header, check_required, declared_index, find_header, header_not_found};
use super::raw::{MalformedRow, RawTable, ReadInfo, TextColumns};
use crate::config::{Schema, Sheet, SourceConfig};
use crate::error::{Error, Result};

/// The workbook, known by its first bytes rather than its extension (exports are often
/// misnamed), and the name of the sheet the source reads.
fn open(path: &Path, config: &SourceConfig) -> Result<(Sheets<BufReader<File>>, String)> {
    let mut magic = Vec::with_capacity(4);
    File::open(path).and_then(|f| f.take(4).read_to_end(&mut magic)).map_err(|e| Error::io(path, e))?;
    let unreadable = |e: String| Error::input(path, format!("not a readable workbook: {e}"));
    let workbook = match magic.as_slice() {
        b"PK\x03\x04" => Sheets::Xlsx(open_workbook(path).map_err(|e: XlsxError| unreadable(e.to_string()))?),
        b"\xD0\xCF\x11\xE0" => Sheets::Xls(open_workbook(path).map_err(|e: XlsError| unreadable(e.to_string()))?),
        _ => return Err(unreadable("neither an XLSX (zip) nor an XLS file".into())),
    };
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

/// A sheet's rows that hold cells, in order: (0-based row, cell texts by column).
type Rows = Vec<(usize, Vec<Option<String>>)>;

/// Cells with no value to load, by (row, column), and why.
type Errors = std::collections::HashMap<(usize, usize), CellError>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum CellError {
    /// An Excel error value: `#DIV/0!`, `#N/A` …
    Excel,
    /// A formula saved without its computed value, or with a placeholder in a workbook
    /// that asks to be recalculated: written by a program, never opened in Excel.
    Uncalculated,
}

/// Reads a sheet cell by cell, so memory follows the cells and never the sheet's
/// bounding box: a lone cell at XFD1048576 would make a 17-billion-cell range.
/// Stops `limit` rows below the first. `stale`: the workbook's formula results are
/// placeholders (see [`asks_recalculation`]).
fn sheet_rows(
    workbook: &mut Sheets<BufReader<File>>,
    sheet: &str,
    limit: usize,
    stale: bool,
) -> Result<(Rows, Errors), String> {
    let (mut rows, mut errors): (Rows, Errors) = Default::default();
    let Sheets::Xlsx(xlsx) = workbook else {
        // XLS has no cell reader; its range is bounded by the format (65,536 × 256).
        let range = workbook.worksheet_range(sheet).map_err(|e| e.to_string())?;
        let first = range.start().map_or(0, |(r, _)| r as usize);
        for (i, r) in range.rows().take(limit).enumerate() {
            let excel = r.iter().enumerate().filter(|(_, c)| matches!(c, Data::Error(_)));
            errors.extend(excel.map(|(c, _)| ((first + i, c), CellError::Excel)));
            rows.push((first + i, r.iter().map(cell_text).collect()));
        }
        return Ok((rows, errors));
    };
    let mut cells = xlsx.worksheet_cells_reader(sheet).map_err(|e| e.to_string())?;
    while let Some(cell) = cells.next_cell_with_formula_metadata().map_err(|e| e.to_string())? {
        let (row, column) = (cell.pos.0 as usize, cell.pos.1 as usize);
        if rows.first().is_some_and(|(first, _)| row.saturating_sub(*first) >= limit) {
            break;
        }
        if rows.last().is_none_or(|(last, _)| *last != row) {
            rows.push((row, Vec::new()));
        }
        let texts = &mut rows.last_mut().expect("a row was pushed").1;
        texts.resize(texts.len().max(column + 1), None);
        let value = Data::from(cell.value);
        match (&value, &cell.formula) {
            (Data::Error(_), _) => _ = errors.insert((row, column), CellError::Excel),
            (Data::Empty, Some(_)) => _ = errors.insert((row, column), CellError::Uncalculated),
            (v, Some(_)) if stale && placeholder(v) => _ = errors.insert((row, column), CellError::Uncalculated),
            _ => {}
        }
        texts[column] = cell_text(&value);
    }
    rows.sort_by_key(|(row, _)| *row); // a hand-made file may list rows out of order
    Ok((rows, errors))
}

/// What programs store as the result of a formula they cannot calculate: 0 or nothing.
fn placeholder(value: &Data) -> bool {
    match value {
        Data::Empty => true,
        Data::Int(i) => *i == 0,
        Data::Float(f) => *f == 0.0,
        Data::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Whether an XLSX asks to be recalculated when opened (`fullCalcOnLoad`), as files
/// written by programs (XlsxWriter, rust_xlsxwriter, openpyxl) do: a formula result of
/// 0 or nothing there is a placeholder. Other results are taken as values, since some
/// exporters (Apache POI) set the flag over real ones.
fn asks_recalculation(path: &Path) -> bool {
    let Ok(mut zip) = File::open(path).map(BufReader::new).map(zip::ZipArchive::new) else { return false };
    let Ok(Ok(entry)) = zip.as_mut().map(|z| z.by_name("xl/workbook.xml")) else { return false };
    let mut xml = String::new();
    entry.take(1 << 20).read_to_string(&mut xml).is_ok()
        && (xml.contains("fullCalcOnLoad=\"1\"") || xml.contains("fullCalcOnLoad=\"true\""))
}

/// The header among the top rows (gaps are blank rows), checked, with the 0-based
/// sheet row it starts at.
fn header(rows: &Rows, config: &SourceConfig, schema: &Schema, sheet: &str) -> Result<(usize, Header), String> {
    let Some(first) = rows.first().map(|(r, _)| *r) else {
        return Err(format!("sheet '{sheet}': {}", header_not_found(config)));
    };
    let last = rows.last().map_or(first, |(r, _)| *r);
    let searched = (HEADER_SEARCH_ROWS + 1).max(declared_index(config, first)).min(last - first + 1);
    let mut top = vec![Vec::new(); searched];
    for (row, cells) in rows.iter().take_while(|(r, _)| r - first < searched) {
        top[row - first] = cells.iter().map(|c| c.clone().unwrap_or_default()).collect();
    }
    let declared = config.header_row.as_ref().map(|h| h.value.saturating_sub(1 + first));
    let header = find_header(&top, schema, declared, config.header_rows.as_ref().map(|h| h.value))
        .ok_or_else(|| format!("sheet '{sheet}': {}", header_not_found(config)))?;
    let header_row = first + header.index + 1;
    check_required(&header.map, schema, &header.names)
        .map_err(|m| format!("sheet '{sheet}', header row {header_row}: {m}"))?;
    Ok((first + header.index, header))
}

/// Checks that the sheet exists and its header row maps to the schema, reading cells
/// only down to the rows searched for the header.
pub fn probe_xlsx(path: &Path, config: &SourceConfig, schema: &Schema) -> Result<()> {
    let (mut workbook, sheet) = open(path, config)?;
    let limit = (HEADER_SEARCH_ROWS + 1).max(declared_index(config, 0));
    let (rows, _) = sheet_rows(&mut workbook, &sheet, limit, false)
        .map_err(|e| Error::input(path, format!("sheet '{sheet}': {e}")))?;
    header(&rows, config, schema, &sheet).map(|_| ()).map_err(|m| Error::input(path, m))
}

pub fn read_xlsx(path: &Path, config: &SourceConfig, schema: &Schema) -> Result<RawTable> {
    let (mut workbook, sheet) = open(path, config)?;
    let (rows, errors) = sheet_rows(&mut workbook, &sheet, usize::MAX, asks_recalculation(path))
        .map_err(|e| Error::input(path, format!("sheet '{sheet}': {e}")))?;
    let (header_at, Header { rows: header_rows, names: headers, map, .. }) =
        header(&rows, config, schema, &sheet).map_err(|m| Error::input(path, m))?;
    let header_row = header_at + 1;
    let last_header = header_at + header_rows - 1;

    let unmapped_headers = map.unmapped.clone();
    let mapped: Vec<usize> = map.sources.iter().flatten().copied().collect();
    let data: Vec<_> = rows.iter().filter(|(r, _)| *r > last_header).collect();
    let mut malformed = Vec::new();
    let mut columns = TextColumns::new(schema, map, data.len());
    // Rows with no cell at all are blank rows too, as in a range.
    let gap = |above: usize, row: usize| row.saturating_sub(above + 1);
    let mut blank_rows = data.windows(2).map(|w| gap(w[0].0, w[1].0)).sum::<usize>()
        + data.first().map_or(0, |(r, _)| gap(last_header, *r));
    for (row, cells) in data {
        // An error cell (#DIV/0!, #N/A …) or an uncalculated formula where a value is
        // read is no value to load.
        // A row of nothing but blanks and formulas without values is a template's empty row.
        let error = mapped.iter().find_map(|&c| Some((c, *errors.get(&(*row, c))?)));
        let blank = |(c, t): (usize, &Option<String>)| {
            t.as_deref().is_none_or(|t| t.trim().is_empty()) || errors.get(&(*row, c)) == Some(&CellError::Uncalculated)
        };
        if cells.iter().enumerate().all(blank) {
            blank_rows += 1;
            continue;
        }
        if let Some((c, error)) = error {
            let text = |i: usize| cells.get(i).cloned().flatten().unwrap_or_default();
            let (reason, detail) = match error {
                CellError::Excel => {
                    ("excel_error", format!("column '{}' holds the Excel error {}", headers[c], text(c)))
                }
                CellError::Uncalculated => (
                    "uncalculated_formula",
                    format!(
                        "column '{}' holds a formula saved without its value; open and save the file in Excel \
                         or LibreOffice to calculate it",
                        headers[c]
                    ),
                ),
            };
            malformed.push(MalformedRow {
                row: *row as u64 + 1,
                reason,
                detail,
                record: headers
                    .iter()
                    .enumerate()
                    .map(|(i, h)| format!("{h}={}", text(i)))
                    .collect::<Vec<_>>()
                    .join("; "),
            });
            continue;
        }
        columns.push(*row as u64 + 1, |c| cells.get(c).and_then(|t| t.as_deref()));
    }
    let (frame, _) = columns.finish();
    let info = ReadInfo { sheet: Some(sheet), header_row, headers, unmapped_headers, blank_rows, ..Default::default() };
    Ok(RawTable { frame, malformed, info })
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
        Data::Error(e) => Some(e.to_string()),
    }
}
