//! The scored-pairs table: for every pair that linked or needs review, both records'
//! ids and compared values, the level each comparison reached and the weight it added,
//! so every merge can be read back and argued with.

use polars::prelude::*;

use super::compare::Comparison;
use super::model::{Model, WeightTable, probability};

/// What became of a scored pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Below the review threshold: not kept.
    Distinct,
    Review,
    Link,
    /// Linked by an exact key.
    ExactKey,
    /// Would have linked or been reviewed, but a cannot-link rule keeps the records apart.
    CannotLink,
    /// Linked, then dropped to keep a cannot-link pair elsewhere in its cluster apart.
    Split,
    /// A reviewer said these are the same customer: linked outright.
    ReviewedSame,
    /// A reviewer said these are two customers: kept apart.
    ReviewedDifferent,
}

impl Decision {
    pub fn label(self) -> &'static str {
        match self {
            Decision::Distinct => "distinct",
            Decision::Review => "review",
            Decision::Link => "link",
            Decision::ExactKey => "exact_key",
            Decision::CannotLink => "cannot_link",
            Decision::Split => "split",
            Decision::ReviewedSame => "reviewed_same",
            Decision::ReviewedDifferent => "reviewed_different",
        }
    }
}

/// Candidate pairs with their comparison levels (row-major, one byte per comparison).
pub struct Scored<'a> {
    /// The records of each pair as the comparisons number them.
    pub left: &'a [u32],
    pub right: &'a [u32],
    /// The same records by input row.
    pub rows: (&'a [u32], &'a [u32]),
    pub rule: &'a [u8],
    pub levels: &'a [u8],
    pub weights: &'a [f64],
    pub decisions: &'a [Decision],
}

/// The weight each comparison adds to pair `(a, b)`, found first by `rule`, at its
/// levels, with the term-frequency adjustment on the equality level: agreeing on a
/// rare value counts more than agreeing on a common one.
pub fn comparison_weights<'a>(
    table: &'a WeightTable,
    comparisons: &'a [Comparison],
    rule: usize,
    (a, b): (usize, usize),
    levels: &'a [u8],
) -> impl Iterator<Item = f64> + 'a {
    comparisons.iter().zip(levels).enumerate().map(move |(k, (c, &level))| {
        let base = table.get(rule, k, level);
        match (&c.tf, table.equal_u_random(k)) {
            (Some(tf), Some(u)) if base != 0.0 && c.equality_level() == Some(level) => {
                base + (u / f64::from(tf[a].max(tf[b]))).log2()
            }
            (Some(tf), _) if base == 0.0 && c.equality_level() == Some(level) => {
                table.left_out_tf_weight(rule, k, f64::from(tf[a].max(tf[b])))
            }
            _ => base,
        }
    })
}

pub struct Columns<'a> {
    pub id: &'a str,
    pub source: Option<&'a str>,
    pub show: &'a [String],
    pub rule_labels: &'a [String],
}

/// The pairs whose decision is not `Distinct`, in candidate order.
pub fn pairs_table(
    records: &DataFrame,
    scored: &Scored,
    (model, table): (&Model, &WeightTable),
    comparisons: &[Comparison],
    names: &Columns,
) -> PolarsResult<DataFrame> {
    let keep: Vec<usize> = (0..scored.left.len()).filter(|&i| scored.decisions[i] != Decision::Distinct).collect();
    let idx = |side: &[u32]| IdxCa::from_vec("".into(), keep.iter().map(|&i| side[i] as IdxSize).collect());
    let (left, right) = (idx(scored.rows.0), idx(scored.rows.1));
    let k = comparisons.len();
    let mut columns: Vec<Column> = Vec::new();
    let mut both = |column: &str, label: &str| -> PolarsResult<()> {
        let c = records.column(column)?;
        columns.push(c.take(&left)?.with_name(format!("{label}_l").into()));
        columns.push(c.take(&right)?.with_name(format!("{label}_r").into()));
        Ok(())
    };
    both(names.id, names.id)?;
    if let Some(s) = names.source {
        both(s, s)?;
    }
    for c in names.show {
        both(c, c)?;
    }
    let weight: Vec<f64> = keep.iter().map(|&i| scored.weights[i]).collect();
    columns.push(Column::new(
        "blocked_by".into(),
        keep.iter().map(|&i| names.rule_labels[scored.rule[i] as usize].as_str()).collect::<Vec<_>>(),
    ));
    columns.push(Column::new("match_weight".into(), &weight));
    columns.push(Column::new("match_probability".into(), weight.iter().map(|&w| probability(w)).collect::<Vec<_>>()));
    columns.push(Column::new("decision".into(), keep.iter().map(|&i| scored.decisions[i].label()).collect::<Vec<_>>()));
    let per_pair: Vec<Vec<f64>> = keep
        .iter()
        .map(|&i| {
            let (a, b) = (scored.left[i] as usize, scored.right[i] as usize);
            let rule = scored.rule[i] as usize;
            comparison_weights(table, comparisons, rule, (a, b), &scored.levels[i * k..(i + 1) * k]).collect()
        })
        .collect();
    for (j, c) in comparisons.iter().enumerate() {
        let values = &as_text(records.column(&c.column)?)?;
        let labels = &model.comparisons[j].levels;
        let level_label = |l: u8| if l == 0 { "null" } else { labels[l as usize - 1].as_str() };
        let level: Vec<&str> = keep.iter().map(|&i| level_label(scored.levels[i * k + j])).collect();
        columns.push(values.take(&left)?.cast(&DataType::String)?.with_name(format!("{}_l", c.name).into()));
        columns.push(values.take(&right)?.cast(&DataType::String)?.with_name(format!("{}_r", c.name).into()));
        columns.push(Column::new(format!("{}_level", c.name).into(), level));
        columns
            .push(Column::new(format!("{}_weight", c.name).into(), per_pair.iter().map(|w| w[j]).collect::<Vec<_>>()));
    }
    let mut seen = std::collections::HashSet::new();
    columns.retain(|c| seen.insert(c.name().clone()));
    DataFrame::new(keep.len(), columns)
}

/// A compared column as text: a list's values joined with `; `.
fn as_text(c: &Column) -> PolarsResult<Column> {
    match c.dtype() {
        DataType::List(_) => {
            let list = c.cast(&DataType::List(Box::new(DataType::String)))?;
            let separator = StringChunked::from_slice("".into(), &["; "]);
            Ok(list.as_materialized_series().list()?.lst_join(&separator, true)?.into_column())
        }
        _ => c.cast(&DataType::String),
    }
}

/// Pairs between the review and match thresholds, strongest first, with an empty
/// `verdict` column for the person working through them.
pub fn review_queue(pairs: &DataFrame) -> PolarsResult<DataFrame> {
    pairs
        .clone()
        .lazy()
        .filter(col("decision").eq(lit(Decision::Review.label())))
        .sort(["match_weight"], SortMultipleOptions::default().with_order_descending(true).with_maintain_order(true))
        .with_column(lit(NULL).cast(DataType::String).alias("verdict"))
        .collect()
}
