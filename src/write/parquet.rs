use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, PolarsContext, Result};

/// Writes a table as zstd-compressed Parquet, readable by pyarrow, DuckDB and Spark.
pub fn write_parquet(df: &mut DataFrame, path: &Path) -> Result<u64> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Zstd(None))
        .with_statistics(StatisticsOptions::default())
        .finish(df)
        .context(|| format!("writing {}", path.display()))
}
