//! Output writers: Parquet (zstd) per table and one XLSX workbook with a sheet per table.

mod parquet;
mod xlsx;

pub use parquet::{ParquetSink, write_parquet};
pub use xlsx::{SheetNote, fits as fits_sheet, write_workbook};
