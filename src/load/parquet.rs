//! Parquet exports: columns keep their types and are renamed by the schema's aliases.

use std::path::Path;

use polars::prelude::*;

use super::headers::{check_required, map_headers};
use super::raw::{ROW, RawTable, ReadInfo};
use crate::config::Schema;
use crate::error::{Error, PolarsContext, Result};

/// Checks that the file's columns map to the schema, reading only its footer.
pub fn probe_parquet(path: &Path, schema: &Schema) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let arrow = ParquetReader::new(file)
        .schema()
        .map_err(|e| Error::input(path, format!("not a readable Parquet file: {e}")))?;
    let headers: Vec<String> = arrow.iter_names().map(|c| c.to_string()).collect();
    check_required(&map_headers(&headers, schema), schema, &headers).map_err(|m| Error::input(path, m))
}

pub fn read_parquet(path: &Path, schema: &Schema) -> Result<RawTable> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| Error::input(path, format!("not a readable Parquet file: {e}")))?;
    let headers: Vec<String> = df.get_column_names().iter().map(|c| c.to_string()).collect();
    let map = map_headers(&headers, schema);
    check_required(&map, schema, &headers).map_err(|m| Error::input(path, m))?;
    // A column of lists or structs holds no one value to cast.
    for (c, source) in schema.columns.iter().zip(&map.sources) {
        let Some(i) = *source else { continue };
        let dtype = df.columns()[i].dtype();
        if dtype.is_nested() || matches!(dtype, DataType::Binary) {
            let message = format!("column '{}' (for '{}') holds {dtype}, not one value per row", headers[i], c.name);
            return Err(Error::input(path, message));
        }
    }
    let height = df.height();
    let mut columns: Vec<Column> = schema
        .columns
        .iter()
        .zip(&map.sources)
        .map(|(c, source)| match source {
            Some(i) => df.columns()[*i].clone().with_name(c.name.as_str().into()),
            None => Column::full_null(c.name.as_str().into(), height, &DataType::String),
        })
        .collect();
    drop(df);
    // One chunk per column, made a column at a time: the reader's chunk per row group
    // would otherwise be joined later by an operation over the whole frame, holding it
    // twice.
    for column in &mut columns {
        *column = column.rechunk();
    }
    columns.push(Column::new(ROW.into(), (1..=height as u64).collect::<Vec<_>>()));
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
    let info = ReadInfo { header_row: 0, headers, unmapped_headers: map.unmapped, ..Default::default() };
    Ok(RawTable { frame, malformed: Vec::new(), info })
}
