//! Golden records: one row per cluster, each column's value taken from the member a
//! survivorship rule prefers, with a lineage table naming that member. Every rule is a
//! sort order inside the cluster; the first member with a value wins, and ties go to
//! the member with the smallest (source, id), so the result never depends on row order.
//! Merged clusters' records are sorted once per distinct rule, not once per column.

use std::str::FromStr;

use indexmap::IndexMap;
use polars::prelude::*;
use rayon::prelude::*;

/// Working columns the caller adds to the records: the record number, the cluster's
/// master id and size, and the (source, id) key used to break ties.
pub const ROW: &str = "__row";
pub const MASTER: &str = "master_id";
pub const SIZE: &str = "cluster_size";
pub const KEY: &str = "__key";

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// The value of the member with the latest `column`.
    MostRecent(String),
    /// The value from the first source in this list that has one.
    SourcePriority(Vec<String>),
    /// The value of the member with the most filled columns.
    MostComplete,
    /// The value most members hold.
    MostFrequent,
    /// The longest value as text.
    Longest,
}

impl FromStr for Rule {
    type Err = String;

    fn from_str(s: &str) -> Result<Rule, String> {
        let s = s.trim();
        let (name, args) = match s.split_once('(') {
            Some((name, rest)) => {
                let inner = rest.strip_suffix(')').ok_or_else(|| format!("'{s}' lacks a closing parenthesis"))?;
                let args: Vec<String> = inner
                    .trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(|a| a.trim().trim_matches(['\'', '"']).to_string())
                    .filter(|a| !a.is_empty())
                    .collect();
                (name.trim(), args)
            }
            None => (s, Vec::new()),
        };
        let one = |args: Vec<String>| match <[String; 1]>::try_from(args) {
            Ok([column]) => Ok(column),
            Err(_) => Err(format!("{name} takes one column, as in {name}(updated_at)")),
        };
        match name {
            "most_recent" => Ok(Rule::MostRecent(one(args)?)),
            "source_priority" if !args.is_empty() => Ok(Rule::SourcePriority(args)),
            "source_priority" => Err("source_priority needs sources, as in source_priority([erp, crm])".into()),
            "most_complete" | "most_frequent" | "longest" if !args.is_empty() => {
                Err(format!("{name} takes no arguments"))
            }
            "most_complete" => Ok(Rule::MostComplete),
            "most_frequent" => Ok(Rule::MostFrequent),
            "longest" => Ok(Rule::Longest),
            _ => Err(format!(
                "unknown survivorship rule '{name}'; expected most_recent(column), source_priority([a, b]), \
                 most_complete, most_frequent or longest"
            )),
        }
    }
}

impl Rule {
    pub fn label(&self) -> String {
        match self {
            Rule::MostRecent(c) => format!("most_recent({c})"),
            Rule::SourcePriority(s) => format!("source_priority([{}])", s.join(", ")),
            Rule::MostComplete => "most_complete".into(),
            Rule::MostFrequent => "most_frequent".into(),
            Rule::Longest => "longest".into(),
        }
    }

    /// The column this rule reads besides the one it chooses for.
    pub fn column(&self) -> Option<&str> {
        match self {
            Rule::MostRecent(c) => Some(c),
            _ => None,
        }
    }

    /// Sort keys (expression, descending) that put the preferred member first.
    fn keys(&self, column: &str, source: Option<&str>) -> Vec<(Expr, bool)> {
        match self {
            Rule::MostRecent(t) => vec![(col(t.as_str()), true)],
            Rule::SourcePriority(order) => {
                let Some(source) = source else { return Vec::new() };
                let rank = order.iter().enumerate().rev().fold(lit(order.len() as u32), |acc, (i, s)| {
                    when(col(source).eq(lit(s.as_str()))).then(lit(i as u32)).otherwise(acc)
                });
                vec![(rank, false)]
            }
            Rule::MostComplete => vec![(col(COMPLETE), true)],
            Rule::MostFrequent => vec![(col(frequency_name(column).as_str()), true)],
            Rule::Longest => vec![(col(column).cast(DataType::String).str().len_chars(), true)],
        }
    }
}

const COMPLETE: &str = "__complete";
/// Each merged record's number among the merged records, and a cluster's list of them.
const MEMBER: &str = "__member";
const MEMBERS: &str = "__members";

fn frequency_name(column: &str) -> String {
    format!("__freq_{column}")
}

fn from_name(column: &str) -> String {
    format!("__from_{column}")
}

/// Per-column rules, with the rule for columns not named.
pub struct Survivorship {
    pub default: Rule,
    pub columns: IndexMap<String, Rule>,
}

impl Survivorship {
    fn rule(&self, column: &str) -> &Rule {
        self.columns.get(column).unwrap_or(&self.default)
    }
}

/// `records` holds `columns` plus the working columns above. Returns the golden records
/// (master id, size, `systems` when there is a source column, then `columns`) in the
/// order clusters first appear, and the lineage of merged clusters' values.
pub fn golden(
    records: &DataFrame,
    columns: &[String],
    rules: &Survivorship,
    source: Option<&str>,
    id: &str,
) -> PolarsResult<(DataFrame, DataFrame)> {
    let mut multi = records.clone().lazy().filter(col(SIZE).gt(lit(1u32)));
    // Only merged clusters need choosing; singletons are their own golden record.
    let filled = columns.iter().map(|c| col(c.as_str()).is_not_null().cast(DataType::UInt32)).reduce(|a, b| a + b);
    multi = multi.with_column(filled.unwrap_or(lit(0u32)).alias(COMPLETE));
    let frequent = columns.iter().filter(|c| *rules.rule(c) == Rule::MostFrequent);
    let frequencies = frequent
        .map(|c| Ok(len().over([col(MASTER), col(c.as_str())])?.alias(frequency_name(c))))
        .collect::<PolarsResult<Vec<_>>>()?;
    let multi = multi.with_columns(frequencies).with_row_index(MEMBER, None).collect()?;

    let mut base = vec![col(SIZE).first(), col(ROW).min(), col(MEMBER).alias(MEMBERS)];
    if let Some(s) = source {
        base.push(col(s).drop_nulls().unique().sort(Default::default()).str().join(",", true).alias(SYSTEMS));
    }
    let mut merged = multi.clone().lazy().group_by([col(MASTER)]).agg(base).collect()?;
    let lists = merged.drop_in_place(MEMBERS)?;
    let members: Vec<Vec<IdxSize>> = lists
        .list()?
        .amortized_iter()
        .map(|m| m.map_or(Ok(Vec::new()), |m| Ok::<_, PolarsError>(m.as_ref().idx()?.into_no_null_iter().collect())))
        .collect::<PolarsResult<_>>()?;
    // Columns that share a sort order (their rule's keys) share one ranking of the members.
    type Order<'a> = (Vec<(Expr, bool)>, Vec<&'a String>);
    let mut orders: IndexMap<String, Order> = IndexMap::new();
    for c in columns {
        let rule = rules.rule(c);
        let order = match rule {
            Rule::MostFrequent | Rule::Longest => format!("{} {c}", rule.label()),
            _ => rule.label(),
        };
        orders.entry(order).or_insert_with(|| (rule.keys(c, source), Vec::new())).1.push(c);
    }
    let mut chosen_rows = Vec::new();
    // Ties go to the smallest (source, id): their order, found once.
    let ordinal = RankOptions { method: RankMethod::Ordinal, ..Default::default() };
    let multi = multi.lazy().with_column(col(KEY).rank(ordinal, None).alias(KEY)).collect()?;
    for (keys, chosen) in orders.into_values() {
        let rank = ranking(&multi, keys)?;
        // Each column on its own core: the member first in the ranking among those
        // with a value, cluster by cluster.
        let picked = chosen.par_iter().map(|c| -> PolarsResult<Column> {
            let present: Vec<bool> = multi.column(c)?.is_not_null().iter().map(|p| p == Some(true)).collect();
            let best: IdxCa = members
                .iter()
                .map(|m| m.iter().copied().filter(|&i| present[i as usize]).min_by_key(|&i| rank[i as usize]))
                .collect();
            Ok(multi.column(ROW)?.take(&best)?.with_name(from_name(c).into()))
        });
        chosen_rows.extend(picked.collect::<PolarsResult<Vec<_>>>()?);
    }
    merged.hstack_mut(&chosen_rows)?;
    let golden = assemble(records, &merged, columns, source)?;
    let lineage = lineage(records, &merged, columns, rules, source, id)?;
    Ok((golden, lineage))
}

/// The golden records in the order of each cluster's first record, each column
/// gathered from the records once: a singleton's own value, a merged cluster's chosen
/// member's (no table of singletons, no concatenation, no sort of the whole table).
fn assemble(
    records: &DataFrame,
    merged: &DataFrame,
    columns: &[String],
    source: Option<&str>,
) -> PolarsResult<DataFrame> {
    let singles = records.column(SIZE)?.u32()?.into_no_null_iter().enumerate().filter(|&(_, size)| size == 1);
    let firsts = merged.column(ROW)?.idx()?.into_no_null_iter().enumerate();
    // (first row, the merged cluster's place or none for a singleton)
    let mut order: Vec<(IdxSize, Option<usize>)> =
        singles.map(|(row, _)| (row as IdxSize, None)).chain(firsts.map(|(j, row)| (row, Some(j)))).collect();
    order.par_sort_unstable_by_key(|&(row, _)| row);
    let first_rows = IdxCa::from_vec("".into(), order.iter().map(|&(row, _)| row).collect());
    let mut out = vec![records.column(MASTER)?.take(&first_rows)?, records.column(SIZE)?.take(&first_rows)?];
    if let Some(s) = source {
        // A singleton's source, or a merged cluster's sources joined: one gather from both.
        let mut systems = records.column(s)?.cast(&DataType::String)?.as_materialized_series().clone();
        systems.append(merged.column(SYSTEMS)?.as_materialized_series())?;
        let at = order.iter().map(|&(row, j)| j.map_or(row, |j| (records.height() + j) as IdxSize)).collect();
        let at = IdxCa::from_vec("".into(), at);
        out.push(systems.take(&at)?.with_name(SYSTEMS.into()).into_column());
    }
    let values = columns.par_iter().map(|c| -> PolarsResult<Column> {
        let chosen: Vec<Option<IdxSize>> = merged.column(&from_name(c))?.idx()?.iter().collect();
        let at: IdxCa = order.iter().map(|&(row, j)| j.map_or(Some(row), |j| chosen[j])).collect();
        records.column(c)?.take(&at)
    });
    out.extend(values.collect::<PolarsResult<Vec<_>>>()?);
    DataFrame::new(order.len(), out)
}

const SYSTEMS: &str = "systems";

/// Each merged record's place when all of them are sorted by `keys`, ties going to the
/// smallest (source, id): within a cluster, the member that sorts first is preferred.
fn ranking(multi: &DataFrame, keys: Vec<(Expr, bool)>) -> PolarsResult<Vec<IdxSize>> {
    let (mut by, mut descending): (Vec<Expr>, Vec<bool>) = keys.into_iter().unzip();
    by.push(col(KEY));
    descending.push(false);
    let options = SortMultipleOptions::default().with_order_descending_multi(descending).with_nulls_last(true);
    let sorted = multi.clone().lazy().sort_by_exprs(by, options).select([col(MEMBER)]).collect()?;
    let mut rank = vec![0 as IdxSize; multi.height()];
    for (place, member) in sorted.column(MEMBER)?.idx()?.into_no_null_iter().enumerate() {
        rank[member as usize] = place as IdxSize;
    }
    Ok(rank)
}

/// One row per merged cluster and column: the member the value came from, and why.
/// Clusters come in the order of their first record, columns in table order; the
/// members are gathered by row number rather than joined.
fn lineage(
    records: &DataFrame,
    merged: &DataFrame,
    columns: &[String],
    rules: &Survivorship,
    source: Option<&str>,
    id: &str,
) -> PolarsResult<DataFrame> {
    let wanted = [MASTER, ROW].into_iter().map(String::from).chain(columns.iter().map(|c| from_name(c)));
    let merged = merged.select(wanted)?.sort([ROW], Default::default())?;
    let (clusters, k) = (merged.height(), columns.len());
    let index =
        |f: &dyn Fn(usize) -> usize| IdxCa::from_vec("".into(), (0..clusters * k).map(|i| f(i) as IdxSize).collect());
    let (cluster, column) = (index(&|i| i / k), index(&|i| i % k));
    let mut from_rows = Series::new_empty("".into(), &IDX_DTYPE);
    for c in columns {
        from_rows.append(merged.column(&from_name(c))?.as_materialized_series())?;
    }
    let from_rows = from_rows.take(&index(&|i| (i % k) * clusters + i / k))?;
    let from_rows = from_rows.idx()?;
    let labels: Vec<String> = columns.iter().map(|c| rules.rule(c).label()).collect();
    let mut gathers = vec![
        (merged.column(MASTER)?.clone(), &cluster),
        (Column::new("column".into(), columns), &column),
        (Column::new("rule".into(), labels), &column),
    ];
    if let Some(s) = source {
        gathers.push((records.column(s)?.clone().with_name(format!("from_{s}").into()), from_rows));
    }
    let ids = records.column(id)?.cast(&DataType::String)?;
    gathers.push((ids.with_name(format!("from_{id}").into()), from_rows));
    // Millions of rows of text at a million records: each column gathered on its own core.
    let out = gathers.par_iter().map(|(values, at)| values.take(at)).collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(clusters * k, out)
}
