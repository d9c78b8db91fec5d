//! Parquet exports: columns keep their types and are renamed by the schema's aliases.
//! A file can be read whole or a run of row groups at a time, for streaming.

use std::path::{Path, PathBuf};

use polars::io::parquet::metadata::FileMetadataRef;
use polars::prelude::*;

use super::headers::{HeaderMap, check_required, map_headers};
use super::raw::{ROW, RawTable, ReadInfo};
use crate::config::Schema;
use crate::error::{Error, PolarsContext, Result};

/// Checks that the file's columns map to the schema, reading only its footer.
pub fn probe_parquet(path: &Path, schema: &Schema) -> Result<()> {
    ParquetFile::open(path, schema).map(|_| ())
}

pub fn read_parquet(path: &Path, schema: &Schema) -> Result<RawTable> {
    let file = ParquetFile::open(path, schema)?;
    file.read(schema, (0, file.rows()), None)
}

/// An opened Parquet export: its footer read once and its columns mapped to the schema.
pub struct ParquetFile {
    path: PathBuf,
    metadata: FileMetadataRef,
    headers: Vec<String>,
    map: HeaderMap,
}

impl ParquetFile {
    pub fn open(path: &Path, schema: &Schema) -> Result<Self> {
        let unreadable = |e: PolarsError| Error::input(path, format!("not a readable Parquet file: {e}"));
        let mut reader = ParquetReader::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?);
        let headers: Vec<String> = reader.schema().map_err(unreadable)?.iter_names().map(|c| c.to_string()).collect();
        let metadata = reader.get_metadata().map_err(unreadable)?.clone();
        let map = map_headers(&headers, schema);
        check_required(&map, schema, &headers).map_err(|m| Error::input(path, m))?;
        Ok(ParquetFile { path: path.to_path_buf(), metadata, headers, map })
    }

    pub fn rows(&self) -> usize {
        self.metadata.num_rows
    }

    /// Row ranges (offset, length) of whole row groups, each at least `rows` long but
    /// the last: a batch never splits a row group, which would be decoded twice.
    pub fn batches(&self, rows: usize) -> Vec<(usize, usize)> {
        let mut batches = Vec::new();
        let (mut start, mut length) = (0, 0);
        for group in &self.metadata.row_groups {
            length += group.num_rows();
            if length >= rows.max(1) {
                batches.push((start, length));
                (start, length) = (start + length, 0);
            }
        }
        if length > 0 || batches.is_empty() {
            batches.push((start, length));
        }
        batches
    }

    /// Rows `offset..offset + length` as the schema's columns (only `only`, when given),
    /// each row numbered by its place in the file.
    pub fn read(&self, schema: &Schema, (offset, length): (usize, usize), only: Option<&str>) -> Result<RawTable> {
        let path = &self.path;
        let wanted = |name: &str| only.is_none_or(|o| o == name);
        let read: Vec<String> = schema
            .columns
            .iter()
            .zip(&self.map.sources)
            .filter(|(c, _)| wanted(&c.name))
            .filter_map(|(_, s)| s.map(|i| self.headers[i].clone()))
            .collect();
        let mut reader = ParquetReader::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?);
        reader.set_metadata(self.metadata.clone());
        let df = reader
            .with_columns(Some(read))
            .with_slice(Some((offset, length)))
            .finish()
            .map_err(|e| Error::input(path, format!("not a readable Parquet file: {e}")))?;
        let height = df.height();
        let mut columns = Vec::new();
        for (c, source) in schema.columns.iter().zip(&self.map.sources).filter(|(c, _)| wanted(&c.name)) {
            let column = match source {
                Some(i) => df.column(&self.headers[*i]).context(|| format!("{}: reading", path.display()))?.clone(),
                None => Column::full_null(c.name.as_str().into(), height, &DataType::String),
            };
            // A column of lists or structs holds no one value to cast.
            let dtype = column.dtype();
            if dtype.is_nested() || matches!(dtype, DataType::Binary) {
                let header = &self.headers[source.expect("a null column is text")];
                let message = format!("column '{header}' (for '{}') holds {dtype}, not one value per row", c.name);
                return Err(Error::input(path, message));
            }
            // One chunk per column, made a column at a time: the reader's chunk per row
            // group would otherwise be joined later by an operation over the whole
            // frame, holding it twice.
            columns.push(column.with_name(c.name.as_str().into()).rechunk());
        }
        drop(df);
        let first = offset as u64 + 1;
        columns.push(Column::new(ROW.into(), (first..first + height as u64).collect::<Vec<_>>()));
        let context = || format!("{}: building frame", path.display());
        let frame = DataFrame::new(height, columns).context(context)?;
        // As the text readers do: blank text is no value.
        let blank_to_null: Vec<Expr> = frame
            .schema()
            .iter()
            .filter(|(_, dtype)| **dtype == DataType::String)
            .map(|(name, _)| crate::values::blank_as_null(col(name.clone())))
            .collect();
        let frame = frame.lazy().with_columns(blank_to_null).collect().context(context)?;
        let info = ReadInfo {
            header_row: 0,
            headers: self.headers.clone(),
            unmapped_headers: self.map.unmapped.clone(),
            ..Default::default()
        };
        Ok(RawTable { frame, malformed: Vec::new(), info })
    }
}
