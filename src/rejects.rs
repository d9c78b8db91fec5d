//! The rejects table: every row that did not make it through, with where it came from
//! and why. Written as `rejects.parquet` and as a sheet of the workbook.

use polars::prelude::*;

pub const ROW_COLUMN: &str = "row";
pub const RECORD: &str = "record";

/// The column loads attach to every row and row-preserving stages carry: a struct of the
/// source (its number in [`source_number`]'s list) and the row's number in its file (CSV
/// line, Excel row, Parquet row), so that a row a later stage rejects is reported where
/// a person can find it. Never written to an output. A number, not the name: on 35
/// million rows the name cost 560 MB, the number 140 MB.
pub const ORIGIN: &str = "__origin";

pub fn origin_dtype() -> DataType {
    DataType::Struct(vec![Field::new("source".into(), DataType::UInt32), Field::new("row".into(), DataType::UInt64)])
}

/// Every source name a load has tagged rows with in this process, each under its
/// number; never shrinks, so a number always names the same source.
static SOURCES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn sources() -> std::sync::MutexGuard<'static, Vec<String>> {
    SOURCES.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The number that stands for source `name` in the origin column.
fn source_number(name: &str) -> u32 {
    let mut names = sources();
    match names.iter().position(|n| n == name) {
        Some(i) => i as u32,
        None => {
            names.push(name.to_string());
            (names.len() - 1) as u32
        }
    }
}

/// A source number back to its name.
fn source_name(number: Expr) -> Expr {
    let names = sources().clone();
    names.into_iter().enumerate().fold(lit(NULL).cast(DataType::String), |other, (i, name)| {
        when(number.clone().eq(lit(i as u32))).then(lit(name)).otherwise(other)
    })
}

/// Where a reject comes from: the stage, and the source, file and row of the row.
#[derive(Clone)]
pub struct Origin {
    pub stage: String,
    source: Expr,
    file: Expr,
    row: Expr,
    /// The source's number, for a load's origin column.
    number: Option<u32>,
}

impl Origin {
    /// Rows of one loaded file; `row` is the reader's row number.
    pub fn load(source: &str, file: &str, row: Expr) -> Origin {
        Origin {
            stage: format!("load:{source}"),
            source: lit(source.to_string()),
            file: lit(file.to_string()),
            row,
            number: Some(source_number(source)),
        }
    }

    /// Rows of a stage's input, found by the origin the loads attached. A row without
    /// one (from a stage's aggregate) is named by `table` and its row there, counted in
    /// `row_index`. The file is filled in by the executor, which knows every source's.
    pub fn carried(stage: String, schema: &Schema, table: &str, row_index: &str) -> Origin {
        let (mut source, mut row) = (lit(table.to_string()), col(row_index).cast(DataType::UInt64));
        if schema.contains(ORIGIN) {
            let field = |name: &str| col(ORIGIN).struct_().field_by_name(name);
            source = coalesce(&[source_name(field("source")), source]);
            row = coalesce(&[field("row"), row]);
        }
        Origin { stage, source, file: lit(NULL).cast(DataType::String), row, number: None }
    }

    /// The `ORIGIN` column a load attaches to its rows.
    pub fn column(&self) -> Expr {
        let number = lit(self.number.expect("a load's origin has its source's number")).cast(DataType::UInt32);
        as_struct(vec![number.alias("source"), self.row.clone().cast(DataType::UInt64).alias("row")]).alias(ORIGIN)
    }
}

/// The columns of one reject entry, in the table's order.
pub fn entry(
    origin: &Origin,
    column: Option<&str>,
    value: Expr,
    reason: Expr,
    detail: Expr,
    record: Expr,
) -> Vec<Expr> {
    let text = |s: &str| lit(s.to_string());
    vec![
        text(&origin.stage).alias("stage"),
        origin.source.clone().cast(DataType::String).alias("source"),
        origin.file.clone().cast(DataType::String).alias("file"),
        origin.row.clone().cast(DataType::UInt64).alias(ROW_COLUMN),
        column.map_or(lit(NULL).cast(DataType::String), text).alias("column"),
        value.cast(DataType::String).alias("value"),
        reason.cast(DataType::String).alias("reason"),
        detail.cast(DataType::String).alias("detail"),
        record.cast(DataType::String).alias(RECORD),
    ]
}

/// A whole row as text, `column=value; …`, from (name, value) pairs.
pub fn record<'a>(columns: impl IntoIterator<Item = (&'a str, Expr)>) -> Expr {
    let parts: Vec<Expr> = columns
        .into_iter()
        .map(|(name, value)| {
            concat_str([lit(format!("{name}=")), value.cast(DataType::String).fill_null(lit(""))], "", false)
        })
        .collect();
    concat_str(parts, "; ", false)
}

pub fn schema() -> Schema {
    let text = ["stage", "source", "file"].map(|n| (n.into(), DataType::String));
    let rest = ["column", "value", "reason", "detail", RECORD].map(|n| (n.into(), DataType::String));
    text.into_iter().chain([(ROW_COLUMN.into(), DataType::UInt64)]).chain(rest).collect()
}

pub fn empty() -> DataFrame {
    DataFrame::empty_with_schema(&schema())
}

/// How many rows the entries are about: a row can fail in several columns.
pub fn rows(rejects: &DataFrame) -> PolarsResult<usize> {
    let key = ["source".to_string(), ROW_COLUMN.to_string()];
    Ok(rejects.unique_stable(Some(&key), UniqueKeepStrategy::Any, None)?.height())
}

/// Fills the file of stage rejects, which know only the source, from the sources' files.
pub fn with_files<'a>(
    rejects: DataFrame,
    files: impl IntoIterator<Item = (&'a str, String)>,
) -> PolarsResult<DataFrame> {
    let missing = col("file").is_null();
    let file = files.into_iter().fold(lit(NULL).cast(DataType::String), |other, (source, file)| {
        when(col("source").eq(lit(source.to_string()))).then(lit(file)).otherwise(other)
    });
    rejects
        .lazy()
        .with_column(when(missing).then(file.fill_null(lit(""))).otherwise(col("file")).alias("file"))
        .collect()
}

/// Reject counts by reason, for the manifest and summary.
pub fn by_reason(rejects: &DataFrame) -> PolarsResult<Vec<(String, u64)>> {
    let counts = rejects
        .clone()
        .lazy()
        .group_by([col("reason")])
        .agg([len().cast(DataType::UInt64).alias("n")])
        .sort(["reason"], Default::default())
        .collect()?;
    let reasons = counts.column("reason")?.str()?.clone();
    let n = counts.column("n")?.u64()?.clone();
    Ok(reasons.iter().zip(n.iter()).map(|(r, n)| (r.unwrap_or("").to_string(), n.unwrap_or(0))).collect())
}
