//! The `load` of each source: read the export, map its headers, cast to the schema,
//! quarantine what does not fit. Rows read = rows accepted + rows rejected, always.

pub mod cast;
mod csv;
mod decode;
mod headers;
mod parquet;
mod raw;
mod repeats;
mod xlsx;

pub use raw::{MalformedRow, ROW, ReadInfo};

use cast::KnownRepeats;
use raw::RawTable;

use std::time::Instant;

use polars::prelude::*;
use serde::Serialize;

use crate::config::{ColumnSpec, Format, Source};
use crate::error::{Error, PolarsContext, Result};
use crate::rejects::Origin;

/// A loaded source: accepted rows with schema types, and reject entries.
pub struct Loaded {
    pub table: DataFrame,
    pub rejects: DataFrame,
    pub stats: LoadStats,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadStats {
    pub rows_read: usize,
    pub rows_accepted: usize,
    pub rows_rejected: usize,
    pub reject_entries: usize,
    /// Batches it was read in: 1 unless it streamed.
    pub batches: usize,
    /// Time to read and split the file, and to cast and check the values.
    pub seconds_read: f64,
    pub seconds_cast: f64,
    #[serde(flatten)]
    pub read: ReadInfo,
}

/// Opens a source just enough to check that its sheet exists and its header row maps
/// to the schema; no data row is read. For `tally check`.
pub fn probe(source: &Source) -> Result<()> {
    not_empty(&source.path)?;
    match source.format {
        Format::Csv => csv::probe_csv(&source.path, &source.config, &source.schema),
        Format::Xlsx => xlsx::probe_xlsx(&source.path, &source.config, &source.schema),
        Format::Parquet => parquet::probe_parquet(&source.path, &source.schema),
    }
}

/// A file of 0 bytes is said to be empty, whatever its format's reader would say.
fn not_empty(path: &std::path::Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() == 0 => Err(Error::input(path, "empty file (0 bytes)")),
        _ => Ok(()),
    }
}

pub fn load(source: &Source) -> Result<Loaded> {
    let path = &source.path;
    let started = Instant::now();
    not_empty(path)?;
    let raw = match source.format {
        Format::Csv => csv::read_csv(path, &source.config, &source.schema)?,
        Format::Xlsx => xlsx::read_xlsx(path, &source.config, &source.schema)?,
        Format::Parquet => parquet::read_parquet(path, &source.schema)?,
    };
    if raw.frame.height() + raw.malformed.len() == 0 {
        no_rows(source)?;
    }
    accept(source, raw, &KnownRepeats::new(), started)
}

fn no_rows(source: &Source) -> Result<()> {
    if source.config.allow_empty {
        return Ok(());
    }
    Err(Error::input(&source.path, "no data rows below the header (set `allow_empty: true` if that is expected)"))
}

/// Rows read become accepted rows with schema types, and rejects.
fn accept(source: &Source, raw: RawTable, known: &KnownRepeats, started: Instant) -> Result<Loaded> {
    let path = &source.path;
    let origin = Origin::load(&source.name, &path.display().to_string(), col(ROW));
    let context = || format!("{}: casting to schema '{}'", path.display(), source.schema.name);
    let parsed_rows = raw.frame.height();
    let seconds_read = started.elapsed().as_secs_f64();
    let cast = cast::cast(raw.frame, &source.schema, &origin, known).context(context)?;
    let mut rejects = cast.rejects;
    rejects.vstack_mut(&raw::from_malformed(&origin, &raw.malformed).context(context)?).context(context)?;

    let mut table = cast.accepted;
    if let Some(system) = &source.config.system {
        let tag =
            Column::new_scalar("source_system".into(), Scalar::from(PlSmallStr::from(system.as_str())), table.height());
        table.with_column(tag).context(context)?;
    }
    // The reader's row numbers become the origin that later stages report rejects by.
    let table = table.lazy().with_column(origin.column()).drop(cols([ROW])).collect().context(context)?;
    let stats = LoadStats {
        rows_read: parsed_rows + raw.malformed.len(),
        rows_accepted: table.height(),
        rows_rejected: cast.rows_rejected + raw.malformed.len(),
        reject_entries: rejects.height(),
        batches: 1,
        seconds_read,
        seconds_cast: started.elapsed().as_secs_f64() - seconds_read,
        read: raw.info,
    };
    if stats.rows_read != stats.rows_accepted + stats.rows_rejected {
        return Err(Error::input(path, format!("internal error: row conservation broken: {stats:?}")));
    }
    Ok(Loaded { table, rejects, stats })
}

impl LoadStats {
    /// Adds a later batch's counts and times.
    pub fn add(&mut self, batch: &LoadStats) {
        self.rows_read += batch.rows_read;
        self.rows_accepted += batch.rows_accepted;
        self.rows_rejected += batch.rows_rejected;
        self.reject_entries += batch.reject_entries;
        self.batches += batch.batches;
        self.seconds_read += batch.seconds_read;
        self.seconds_cast += batch.seconds_cast;
    }
}

/// A Parquet source loaded a run of row groups at a time, so that a file larger than
/// memory can stream through the stages after it. Its `unique:` columns are checked
/// over the whole file: every key is hashed before the first batch, and the values
/// behind hashes that rows share are compared as the batches come, in order.
pub struct Batches<'a> {
    source: &'a Source,
    file: parquet::ParquetFile,
    ranges: Vec<(usize, usize)>,
    /// Each `unique:` column's check, and the next batch it expects.
    repeats: std::sync::Mutex<(Vec<(&'a ColumnSpec, repeats::BatchRepeats)>, usize)>,
}

/// The source in batches of about `rows` rows; none unless it is Parquet.
pub fn batches(source: &Source, rows: usize) -> Result<Option<Batches<'_>>> {
    if source.format != Format::Parquet {
        return Ok(None);
    }
    let (path, schema) = (&source.path, &source.schema);
    not_empty(path)?;
    let file = parquet::ParquetFile::open(path, schema)?;
    if file.rows() == 0 {
        no_rows(source)?;
    }
    let ranges = file.batches(rows);
    let mut repeats = Vec::new();
    for c in schema.columns.iter().filter(|c| c.unique) {
        let keys = |b: usize| -> PolarsResult<Column> {
            let raw = file.read(schema, ranges[b], Some(&c.name)).map_err(|e| polars_err!(ComputeError: "{e}"))?;
            unique_keys(&raw.frame, c)
        };
        let context = || format!("{}: checking that '{}' is unique", path.display(), c.name);
        repeats.push((c, repeats::BatchRepeats::hashed(ranges.len(), keys).context(context)?));
    }
    Ok(Some(Batches { source, file, ranges, repeats: std::sync::Mutex::new((repeats, 0)) }))
}

/// A `unique:` column's keys in a frame read from the source.
fn unique_keys(raw: &DataFrame, c: &ColumnSpec) -> PolarsResult<Column> {
    let dtype = raw.column(&c.name)?.dtype().clone();
    let keys = raw.clone().lazy().select([cast::unique_key(c, &dtype)]).collect()?;
    Ok(keys.columns()[0].clone())
}

impl Batches<'_> {
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Batch `i`, loaded as a source is: accepted rows and rejects. Batches are loaded
    /// in order, each once: a repeat is a repeat of an earlier batch's key.
    pub fn load(&self, i: usize) -> Result<Loaded> {
        let started = Instant::now();
        let raw = self.file.read(&self.source.schema, self.ranges[i], None)?;
        let mut repeats = self.repeats.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(repeats.1, i, "batches load in order");
        repeats.1 += 1;
        let mut known = KnownRepeats::new();
        for (c, check) in &mut repeats.0 {
            let context = || format!("{}: checking that '{}' is unique", self.source.path.display(), c.name);
            let keys = unique_keys(&raw.frame, c).context(context)?;
            let rows = check.next_batch(&keys, self.ranges[i].0 as u64 + 1).context(context)?;
            known.insert(c.name.clone(), Series::new(c.name.as_str().into(), rows));
        }
        drop(repeats);
        accept(self.source, raw, &known, started)
    }
}
