//! A source: one export file, how to read it, and the schema it must fit.

use std::path::PathBuf;

use serde::Deserialize;
use serde_saphyr::Spanned;

/// `sources.<name>` in a pipeline file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The export file, relative to the pipeline file.
    pub path: Spanned<PathBuf>,
    /// The schema file it must fit, relative to the pipeline file.
    pub schema: Spanned<PathBuf>,
    /// `csv`, `xlsx` or `parquet`; taken from the file extension when absent.
    #[serde(default)]
    pub format: Option<Format>,
    /// CSV text encoding; `auto` detects a BOM, then UTF-8, then GB18030 (a superset of GBK).
    #[serde(default)]
    pub encoding: Encoding,
    /// CSV field delimiter.
    #[serde(default = "default_delimiter")]
    pub delimiter: Spanned<char>,
    /// XLSX sheet, by name or 0-based index; the first sheet when absent.
    #[serde(default)]
    pub sheet: Option<Sheet>,
    /// 1-based row of the header (XLSX: the Excel row; CSV: the line); rows above it are
    /// titles. When absent, the first of the top 30 rows that matches the most of the
    /// schema's names and aliases.
    #[serde(default)]
    pub header_row: Option<Spanned<usize>>,
    /// 2 when group titles, merged across their columns, stand over the row of column
    /// names (联系方式 over 电话 | 邮箱); 1 for a plain header. When absent, the one that
    /// maps more of the schema.
    #[serde(default)]
    pub header_rows: Option<Spanned<usize>>,
    /// Accept a file with a header but no data rows; by default that is an error, since
    /// an empty nightly export usually means a failed export.
    #[serde(default)]
    pub allow_empty: bool,
    /// Adds a `source_system` column with this value, to tell systems apart after a union.
    #[serde(default)]
    pub system: Option<String>,
    /// A gate: when more than this share of the rows read (0 to 1) is rejected, the run
    /// fails with exit code 3 and nothing is published. A broken export usually shows
    /// as a sudden jump in rejects.
    #[serde(default)]
    pub max_reject_rate: Option<Spanned<f64>>,
}

fn default_delimiter() -> Spanned<char> {
    Spanned::new(',', serde_saphyr::Location::UNKNOWN, serde_saphyr::Location::UNKNOWN)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
    Parquet,
}

impl Format {
    pub fn from_extension(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" | "txt" | "tsv" => Some(Format::Csv),
            "xlsx" | "xlsm" | "xls" => Some(Format::Xlsx),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Auto,
    #[serde(alias = "utf-8")]
    Utf8,
    #[serde(alias = "gbk", alias = "gb2312")]
    Gb18030,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Sheet {
    Index(usize),
    Name(String),
}
