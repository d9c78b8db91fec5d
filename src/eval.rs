//! `tally eval`: pairwise precision and recall of a dedup stage's cluster map against a
//! ground truth that names each record's real-world entity. A pair of records counts
//! as predicted when they share a master id and as true when they share an entity.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use crate::error::{Error, PolarsContext, Result};

/// The truth column holding each record's real-world entity.
pub const ENTITY: &str = "entity_id";

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Records found in both the cluster map and the truth.
    pub records: usize,
    /// Records of the cluster map, and the share of them the truth names: a low share
    /// means the scores speak for few records.
    pub map_records: usize,
    pub coverage: f64,
    pub clusters: usize,
    pub entities: usize,
    pub predicted_pairs: u64,
    pub true_pairs: u64,
    pub correct_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// The cluster map of a run directory: `map` names it, or it is the only `*_map.parquet`.
pub fn find_map(run_dir: &Path, map: Option<&str>) -> Result<PathBuf> {
    if let Some(name) = map {
        return Ok(run_dir.join(format!("{name}.parquet")));
    }
    let entries = std::fs::read_dir(run_dir).map_err(|e| Error::io(run_dir, e))?;
    let mut maps: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with("_map.parquet")))
        .collect();
    maps.sort();
    match maps.len() {
        1 => Ok(maps.remove(0)),
        0 => Err(Error::input(
            run_dir,
            "no cluster map (*_map.parquet); list the dedup stage's `<output>_map` table in the pipeline's outputs",
        )),
        _ => Err(Error::input(run_dir, "several cluster maps; choose one with --map")),
    }
}

/// Compares a cluster map (with `master_id`) to a truth table (with `entity_id`); they
/// are joined on the columns they share, as text and without case ('CRM' is 'crm').
/// No record in common is an error, not a perfect score.
pub fn evaluate(map: &DataFrame, truth: &DataFrame) -> PolarsResult<Evaluation> {
    let keys: Vec<PlSmallStr> = truth
        .get_column_names()
        .into_iter()
        .filter(|c| c.as_str() != ENTITY && map.get_column_names().contains(c))
        .cloned()
        .collect();
    polars_ensure!(!keys.is_empty(), ComputeError: "the truth shares no key column with the cluster map");
    let cast = |df: &DataFrame| {
        let key = |k: &PlSmallStr| col(k.clone()).cast(DataType::String).str().to_lowercase();
        df.clone().lazy().with_columns(keys.iter().map(key).collect::<Vec<_>>())
    };
    let joined = cast(map)
        .join(
            cast(truth),
            keys.iter().map(|k| col(k.clone())).collect::<Vec<_>>(),
            keys.iter().map(|k| col(k.clone())).collect::<Vec<_>>(),
            JoinArgs::new(JoinType::Inner),
        )
        .select([col("master_id"), col(ENTITY).cast(DataType::String)])
        .collect()?;
    let names = keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
    polars_ensure!(joined.height() > 0, ComputeError: "no record of the cluster map is in the truth (joined on {names}): check the key columns' values");
    let pairs_within = |by: &[&str]| -> PolarsResult<(u64, usize)> {
        let groups = joined
            .clone()
            .lazy()
            .group_by(by.iter().map(|c| col(*c)).collect::<Vec<_>>())
            .agg([len().cast(DataType::UInt64).alias("n")])
            .select([(col("n") * (col("n") - lit(1u64)) / lit(2u64)).sum().alias("pairs"), len().alias("groups")])
            .collect()?;
        let pairs = groups.column("pairs")?.u64()?.get(0).unwrap_or(0);
        let count = groups.column("groups")?.idx()?.get(0).unwrap_or(0) as usize;
        Ok((pairs, count))
    };
    let (predicted_pairs, clusters) = pairs_within(&["master_id"])?;
    let (true_pairs, entities) = pairs_within(&[ENTITY])?;
    let (correct_pairs, _) = pairs_within(&["master_id", ENTITY])?;
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let (precision, recall) = (ratio(correct_pairs, predicted_pairs), ratio(correct_pairs, true_pairs));
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    Ok(Evaluation {
        records: joined.height(),
        map_records: map.height(),
        coverage: joined.height() as f64 / map.height().max(1) as f64,
        clusters,
        entities,
        predicted_pairs,
        true_pairs,
        correct_pairs,
        precision,
        recall,
        f1,
    })
}

/// Reads the map (Parquet) and the truth (CSV) and evaluates.
pub fn evaluate_files(map: &Path, truth: &Path) -> Result<Evaluation> {
    let map_df = std::fs::File::open(map)
        .map_err(|e| Error::io(map, e))
        .and_then(|f| ParquetReader::new(f).finish().context(|| format!("reading {}", map.display())))?;
    let truth_df = CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(truth.to_path_buf()))
        .and_then(|r| r.finish())
        .context(|| format!("reading {}", truth.display()))?;
    evaluate(&map_df, &truth_df).context(|| format!("evaluating {} against {}", map.display(), truth.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> DataFrame {
        df! { "source_system" => ["CRM", "CRM", "ERP"], "customer_id" => ["1", "2", "3"], "master_id" => ["a", "a", "b"] }
            .unwrap()
    }

    #[test]
    fn keys_match_without_case_and_coverage_is_reported() {
        let truth =
            df! { "source_system" => ["crm", "crm"], "customer_id" => ["1", "2"], ENTITY => ["x", "x"] }.unwrap();
        let e = evaluate(&map(), &truth).unwrap();
        assert_eq!((e.records, e.map_records, e.correct_pairs), (2, 3, 1));
        assert!((e.coverage - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn no_record_in_common_is_an_error_not_a_perfect_score() {
        let truth = df! { "source_system" => ["sap"], "customer_id" => ["1"], ENTITY => ["x"] }.unwrap();
        let err = evaluate(&map(), &truth).unwrap_err().to_string();
        assert!(err.contains("no record of the cluster map is in the truth"), "{err}");
    }
}
