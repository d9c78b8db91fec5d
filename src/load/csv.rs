//! CSV exports: delimiter, quoting, header row, encoding detection.

use std::path::Path;

use super::decode::{Decoded, decode};
use super::headers::{HEADER_SEARCH_ROWS, HeaderMap, check_required, declared_index, find_header, header_not_found};
use super::raw::{MalformedRow, RawTable, ReadInfo, TextColumns};
use crate::config::{Schema, SourceConfig};
use crate::error::{Error, Result};

pub fn read_csv(path: &Path, config: &SourceConfig, schema: &Schema) -> Result<RawTable> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let Decoded { text, encoding, foreign } = decode(&bytes, config.encoding).map_err(|m| Error::input(path, m))?;
    if let Some(at) = unclosed_quote(text.as_bytes(), delimiter(path, config)?) {
        let line = LineCounter::new(text.as_bytes()).line_at(at);
        let message =
            format!("line {line}: a quoted field opens here and is never closed, so the rest of the file is one field");
        return Err(Error::input(path, message));
    }
    let other = if encoding == "gb18030" { "UTF-8" } else { "GB18030/GBK" };
    let Head { mut reader, delimiter, top, data_index, map, headers, header_row, mut lines } =
        head(path, &text, config, schema)?;
    let csv_error = |e: csv::Error| Error::input(path, format!("malformed CSV: {e}"));
    let mut line_of = |r: &csv::ByteRecord| lines.line_at(r.position().map_or(0, |p| p.byte()) as usize);

    let unmapped_headers = map.unmapped.clone();
    let estimated_rows = bytes.len() / (headers.len() * 12).max(1);
    let mut columns = TextColumns::new(schema, map, estimated_rows);
    let mut malformed = Vec::new();
    let mut runaway = None;
    let mut add = |record: &csv::ByteRecord| {
        let row = line_of(record);
        let breaks = record.iter().map(|f| f.iter().filter(|&&b| b == b'\n').count()).sum::<usize>();
        // A field over several lines is fine; a record over many lines with the wrong
        // number of fields has swallowed the rows below a quote that closes too late.
        if breaks > MAX_RAGGED_LINES && record.len() != headers.len() && runaway.is_none() {
            runaway = Some(Error::input(
                path,
                format!(
                    "line {row}: a quoted field spans lines {row} to {} and leaves {} fields where the header \
                     has {}; a closing quote is probably missing where it opens",
                    row + breaks as u64,
                    record.len(),
                    headers.len()
                ),
            ));
        }
        let lines = row..=row + breaks as u64;
        if foreign.get(foreign.partition_point(|l| l < lines.start())).is_some_and(|l| lines.contains(l)) {
            malformed.push(MalformedRow {
                row,
                reason: "mixed_encoding",
                detail: format!("this line is {other} in a {encoding} file; it was decoded as {other}"),
                record: csv_line(record, delimiter),
            });
            return;
        }
        if record.len() != headers.len() {
            malformed.push(MalformedRow {
                row,
                reason: "ragged_row",
                detail: format!("expected {} fields, found {}", headers.len(), record.len()),
                record: csv_line(record, delimiter),
            });
            return;
        }
        // Fields are slices of valid UTF-8 split at ASCII delimiters, so they are valid UTF-8.
        columns.push(row, |i| record.get(i).and_then(|f| std::str::from_utf8(f).ok()));
    };
    top.iter().skip(data_index).for_each(&mut add);
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        add(&record);
    }
    if let Some(error) = runaway {
        return Err(error);
    }
    let (frame, _) = columns.finish();
    let info = ReadInfo { encoding: Some(encoding), header_row, headers, unmapped_headers, ..Default::default() };
    Ok(RawTable { frame, malformed, info })
}

/// Checks that the file's header row maps to the schema, reading only its first
/// kilobytes: the header search never looks further than the top rows.
pub fn probe_csv(path: &Path, config: &SourceConfig, schema: &Schema) -> Result<()> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(PROBE_BYTES).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 == PROBE_BYTES
        && let Some(end) = bytes.iter().rposition(|&b| b == b'\n')
    {
        bytes.truncate(end + 1); // a whole last line, and no character cut in two
    }
    let decoded = decode(&bytes, config.encoding).map_err(|m| Error::input(path, m))?;
    head(path, &decoded.text, config, schema).map(|_| ())
}

/// A record as one CSV line, quoted where a field needs it, so it can be reloaded.
fn csv_line(record: &csv::ByteRecord, delimiter: u8) -> String {
    let mut writer =
        csv::WriterBuilder::new().delimiter(delimiter).terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let line = writer.write_byte_record(record).ok().and_then(|_| writer.into_inner().ok()).unwrap_or_default();
    String::from_utf8_lossy(&line).trim_end_matches('\n').to_string()
}

/// A ragged record over more lines than this is taken for a quote closed too late.
const MAX_RAGGED_LINES: usize = 10;

/// How much of a CSV file `tally check` reads to find its header.
const PROBE_BYTES: u64 = 256 * 1024;

/// A CSV file read up to its header row: the reader goes on from there.
struct Head<'t> {
    reader: csv::Reader<&'t [u8]>,
    delimiter: u8,
    /// The records read to find the header, the header among them.
    top: Vec<csv::ByteRecord>,
    /// Index in `top` of the first record below the header.
    data_index: usize,
    map: HeaderMap,
    headers: Vec<String>,
    /// The header's 1-based line.
    header_row: usize,
    lines: LineCounter<'t>,
}

fn head<'t>(path: &Path, text: &'t str, config: &SourceConfig, schema: &Schema) -> Result<Head<'t>> {
    if text.trim().is_empty() {
        return Err(Error::input(path, "empty file: no header row"));
    }
    let delimiter = delimiter(path, config)?;
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let csv_error = |e: csv::Error| Error::input(path, format!("malformed CSV: {e}"));

    // Title lines may stand above the header: look at the first records to find it.
    let mut top: Vec<csv::ByteRecord> = Vec::new();
    let mut record = csv::ByteRecord::new();
    while top.len() < (HEADER_SEARCH_ROWS + 1).max(declared_index(config, 0))
        && reader.read_byte_record(&mut record).map_err(csv_error)?
    {
        top.push(record.clone());
    }
    let texts: Vec<Vec<String>> =
        top.iter().map(|r| r.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()).collect();
    let mut lines = LineCounter::new(text.as_bytes());
    let starts: Vec<u64> = top.iter().map(|r| lines.line_at(r.position().map_or(0, |p| p.byte()) as usize)).collect();
    let mut lines = LineCounter::new(text.as_bytes());
    let declared =
        config.header_row.as_ref().map(|h| starts.iter().position(|&l| l as usize >= h.value).unwrap_or(usize::MAX));
    let header = find_header(&texts, schema, declared, config.header_rows.as_ref().map(|h| h.value))
        .ok_or_else(|| Error::input(path, header_not_found(config)))?;
    let header_row = starts[header.index] as usize;
    check_required(&header.map, schema, &header.names)
        .map_err(|m| Error::input(path, format!("header row {header_row}: {m}")))?;
    let data_index = header.index + header.rows;
    // Rows below the header are numbered from here on.
    lines.line_at(top[data_index - 1].position().map_or(0, |p| p.byte()) as usize);
    Ok(Head { reader, delimiter, top, data_index, map: header.map, headers: header.names, header_row, lines })
}

fn delimiter(path: &Path, config: &SourceConfig) -> Result<u8> {
    u8::try_from(config.delimiter.value).map_err(|_| {
        Error::input(path, format!("delimiter '{}' is not a single-byte character", config.delimiter.value))
    })
}

/// Where a quote opens that nothing closes, read as the csv crate reads quotes: one
/// opens at the start of a field, `""` inside it is a quote, the next lone `"` closes,
/// and a quote inside an unquoted field (`5"`) is text. Jumps from quote to quote.
fn unclosed_quote(text: &[u8], delimiter: u8) -> Option<usize> {
    let mut from = 0;
    while let Some(j) = memchr::memchr(b'"', &text[from..]) {
        let open = from + j;
        from = open + 1;
        let field_start = open == 0 || matches!(text[open - 1], b'\n' | b'\r') || text[open - 1] == delimiter;
        if !field_start {
            continue;
        }
        // On to the closing quote, over escaped ones.
        loop {
            let Some(k) = memchr::memchr(b'"', &text[from..]) else { return Some(open) };
            from += k + 1;
            if text.get(from) != Some(&b'"') {
                break;
            }
            from += 1;
        }
    }
    None
}

/// Line numbers from byte offsets, counted incrementally as records go by. The csv
/// crate's own line count skips blank lines, which would misnumber rows.
struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a [u8]) -> Self {
        LineCounter { text, offset: 0, line: 1 }
    }

    /// The 1-based line of the record at byte `offset`; offsets must not decrease
    /// between calls. A record's offset is where the previous one ended, so blank lines
    /// in between are stepped over first.
    fn line_at(&mut self, offset: usize) -> u64 {
        let mut offset = offset.min(self.text.len()).max(self.offset);
        while matches!(self.text.get(offset), Some(b'\n' | b'\r')) {
            offset += 1;
        }
        // A line ends at \n, \r\n, or a lone \r (old Mac exports).
        let span = &self.text[self.offset..offset];
        let ends = span
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && span.get(i + 1).or(self.text.get(offset)) != Some(&b'\n')));
        self.line += ends.count() as u64;
        self.offset = offset;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::unclosed_quote;

    #[test]
    fn finds_the_quote_nothing_closes() {
        assert_eq!(unclosed_quote(b"a,\"b\"\"c\",d\n", b','), None, "an escaped quote inside");
        assert_eq!(unclosed_quote(b"a,5\",d\n", b','), None, "a quote inside an unquoted field is text");
        assert_eq!(unclosed_quote(b"x,5\"\ny,\"abc\nz,w\n", b','), Some(7), "an even count proves nothing");
        assert_eq!(unclosed_quote(b"a,b\nc,\"d,e\nf,g\n", b','), Some(6));
        assert_eq!(unclosed_quote(b"\"a\nb\",\"c\n", b','), Some(6));
        assert_eq!(unclosed_quote(b"a;\"b;c\n", b';'), Some(2));
    }
}
