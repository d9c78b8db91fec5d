//! The schemas of the dedup stage's tables, derived from its input's without running:
//! `tally check` learns the columns of the golden records, map, pairs, review queue
//! and lineage this way, and the executor holds every run to them.

use polars::prelude::*;

use super::golden::{MASTER, SIZE};
use super::{Dedup, LINK_SOURCE};
use crate::stages::{Problem, empty_frames, planned_schema};

/// The records the stage resolves: the input, or left and right stacked with `table`.
pub fn records(inputs: &[Schema]) -> Result<Schema, Vec<Problem>> {
    if inputs.len() == 1 {
        return Ok(inputs[0].clone());
    }
    let tagged = empty_frames(inputs).into_iter().map(|lf| lf.with_column(lit("").alias(LINK_SOURCE)));
    planned_schema(concat_lf_diagonal(tagged.collect::<Vec<_>>(), UnionArgs::default()))
}

/// Golden records, map, pairs, review and lineage, in the order of the stage's ports.
pub fn outputs(stage: &Dedup, records: &Schema) -> Vec<Schema> {
    let config = &stage.config;
    let source = config.source_column();
    let dtype = |c: &str| records.get(c).cloned().unwrap_or(DataType::String);
    let (id, text, float) = (config.id.as_str(), DataType::String, DataType::Float64);

    let mut golden = Schema::default();
    golden.insert(MASTER.into(), text.clone());
    golden.insert(SIZE.into(), DataType::UInt32);
    if source.is_some() {
        golden.insert("systems".into(), text.clone());
    }
    golden.extend(records.iter().filter(|(n, _)| !n.starts_with("__")).map(|(n, t)| (n.clone(), t.clone())));

    let mut map = Schema::default();
    map.insert(id.into(), dtype(id));
    if let Some(s) = source {
        map.insert(s.into(), dtype(s));
    }
    map.insert(MASTER.into(), text.clone());
    map.insert(SIZE.into(), DataType::UInt32);

    // A name already taken keeps its first place and type, as the pairs table does.
    let mut pairs = Schema::default();
    let mut add = |name: String, t: DataType| {
        if pairs.get(&name).is_none() {
            pairs.insert(name.into(), t);
        }
    };
    let both_sides = std::iter::once(id).chain(source).chain(config.show.iter().map(String::as_str));
    for c in both_sides {
        add(format!("{c}_l"), dtype(c));
        add(format!("{c}_r"), dtype(c));
    }
    add("blocked_by".into(), text.clone());
    add("match_weight".into(), float.clone());
    add("match_probability".into(), float.clone());
    add("decision".into(), text.clone());
    for name in config.compare.keys() {
        add(format!("{name}_l"), text.clone());
        add(format!("{name}_r"), text.clone());
        add(format!("{name}_level"), text.clone());
        add(format!("{name}_weight"), float.clone());
    }
    let mut review = pairs.clone();
    review.insert("verdict".into(), text.clone());

    let mut lineage = Schema::default();
    lineage.insert(MASTER.into(), text.clone());
    lineage.insert("column".into(), text.clone());
    lineage.insert("rule".into(), text.clone());
    if let Some(s) = source {
        lineage.insert(format!("from_{s}").into(), dtype(s));
    }
    lineage.insert(format!("from_{id}").into(), text);
    vec![golden, map, pairs, review, lineage]
}
