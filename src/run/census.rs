//! `tally check --pairs`: how many pairs each dedup stage's blocking rules make, and
//! how they would grow, before a run makes them. The stages a dedup stage reads from
//! run in memory, without a run directory; then each rule's blocks are counted with a
//! group-by. No pair is made or compared, so a rule that would make billions of pairs
//! is found in the time of a load and a clean.

use std::collections::{HashMap, HashSet};

use polars::prelude::DataFrame;

use super::executor::{NodeOutput, inputs_of, run_node, stage_error};
use super::{Progress, RunContext};
use crate::error::Result;
use crate::plan::{NodeId, Plan};
use crate::stages::Census;

/// A blocking stage's rules, counted.
pub struct StageCensus {
    pub stage: String,
    pub rules: Vec<Census>,
}

pub fn census(plan: &Plan, cx: &RunContext, progress: &Progress) -> Result<Vec<StageCensus>> {
    let order: Vec<NodeId> = plan.levels.iter().flatten().copied().collect();
    let blocking: Vec<NodeId> = order
        .iter()
        .copied()
        .filter(|id| matches!(id, NodeId::Stage(i) if plan.stages[*i].stage.kind() == "dedup"))
        .collect();
    let needed = ancestors(plan, &blocking);
    let mut tables: HashMap<String, DataFrame> = HashMap::new();
    let mut found = Vec::new();
    for id in order {
        let inputs = || -> Vec<DataFrame> { inputs_of(plan, id).iter().map(|t| tables[*t].clone()).collect() };
        if let (true, NodeId::Stage(i)) = (blocking.contains(&id), id) {
            let node = &plan.stages[i];
            let bar = progress.start(&format!("count blocks of {}", node.id()));
            let rules = node.stage.census(inputs()).expect("a dedup stage blocks");
            let rules = rules.map_err(|e| stage_error(plan, node, e))?;
            bar.finish(&format!("{} rules", rules.len()));
            found.push(StageCensus { stage: node.id().to_string(), rules });
        }
        if !needed.contains(&id) {
            continue;
        }
        match run_node(plan, id, inputs(), cx, progress)? {
            NodeOutput::Source(table, ..) => {
                let NodeId::Source(s) = id else { unreachable!("a source's node") };
                tables.insert(plan.pipeline.sources[s].name.clone(), table.unwrap_or_default());
            }
            NodeOutput::Stage(output, run) => {
                tables.extend(run.tables.into_iter().map(|t| t.table).zip(output.tables));
            }
        }
    }
    Ok(found)
}

/// The nodes whose tables `targets` read, directly or through other nodes.
fn ancestors(plan: &Plan, targets: &[NodeId]) -> HashSet<NodeId> {
    let producer: HashMap<String, NodeId> = plan
        .pipeline
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), NodeId::Source(i)))
        .chain(
            plan.stages
                .iter()
                .enumerate()
                .flat_map(|(i, s)| s.stage.outputs().into_iter().map(move |t| (t, NodeId::Stage(i)))),
        )
        .collect();
    let mut needed = HashSet::new();
    let mut todo: Vec<NodeId> = targets.to_vec();
    while let Some(id) = todo.pop() {
        for table in inputs_of(plan, id) {
            let from = producer[table];
            if needed.insert(from) {
                todo.push(from);
            }
        }
    }
    needed
}
