//! `count`: customer counts grouped by any columns, with a total row, the core of a
//! customer-count inventory (客户数量盘点). With `previous: true` each count is set
//! beside the same table's count in the pipeline's previous committed run.

use polars::prelude::*;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{
    Batch, Batched, BuildContext, Diagnostics, Finding, Input, Io, Problem, Severity, Stage, StageOutput, empty_frames,
    planned_schema, require, run_batched,
};
use crate::diag::Diagnostic;
use crate::run::RunContext;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountConfig {
    pub input: String,
    pub output: Spanned<String>,
    /// Group columns; the output has one row per combination, sorted.
    pub by: Vec<Spanned<String>>,
    /// Count distinct values of this column (e.g. `customer_id`) instead of rows.
    #[serde(default)]
    pub distinct: Option<Spanned<String>>,
    /// Name of the count column.
    #[serde(default = "default_count_column")]
    pub count_column: String,
    /// Label of the appended total row, in the first group column; no total row when null.
    #[serde(default = "default_total")]
    pub total: Option<String>,
    /// Add `<count>_previous` and `<count>_change`: the previous run's count of the
    /// same group (null when it had none) and the difference.
    #[serde(default)]
    pub previous: bool,
}

fn default_count_column() -> String {
    "customers".to_string()
}

fn default_total() -> Option<String> {
    Some("Total".to_string())
}

pub struct Count {
    io: Io,
    config: CountConfig,
}

impl CountConfig {
    pub fn build(self, cx: &BuildContext) -> Result<Count, Vec<Diagnostic>> {
        let mut d = Diagnostics::default();
        let output = d.take(cx.table_name(&self.output));
        if self.by.is_empty() {
            d.push(cx.error(None, format!("count '{}': `by` needs at least one column", self.output.value)));
        }
        let inputs = vec![Input::rows(&self.input)];
        d.finish(|| Count { io: Io { inputs, output: output.expect("checked") }, config: self })
    }
}

impl Count {
    fn count_expr(&self) -> Expr {
        let count = match &self.config.distinct {
            // Nulls are not customers: n_unique would count null as one value.
            Some(c) => col(c.value.as_str()).drop_nulls().n_unique(),
            None => len(),
        };
        count.cast(DataType::UInt64).alias(self.config.count_column.as_str())
    }

    fn by(&self) -> Vec<&str> {
        self.config.by.iter().map(|b| b.value.as_str()).collect()
    }

    fn previous_names(&self) -> [String; 2] {
        let c = &self.config.count_column;
        [format!("{c}_previous"), format!("{c}_change")]
    }

    fn keys(&self) -> Vec<Expr> {
        self.by().iter().map(|c| col(*c).cast(DataType::String)).collect()
    }

    fn plan(&self, lf: LazyFrame) -> PolarsResult<LazyFrame> {
        let groups = lf.clone().group_by(self.keys()).agg([self.count_expr()]);
        self.with_total(groups, lf.select([self.count_expr()]))
    }

    /// The groups sorted, then the total row, whose count `total` holds (one row).
    fn with_total(&self, groups: LazyFrame, total: LazyFrame) -> PolarsResult<LazyFrame> {
        let groups = groups.sort(self.by(), SortMultipleOptions::default().with_nulls_last(true));
        let Some(label) = &self.config.total else { return Ok(groups) };
        let mut total_columns: Vec<Expr> = self
            .by()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let value = if i == 0 { lit(label.as_str()) } else { lit(NULL).cast(DataType::String) };
                value.alias(*c)
            })
            .collect();
        total_columns.push(col(self.config.count_column.as_str()));
        concat([groups, total.select(total_columns)], UnionArgs { rechunk: false, ..Default::default() })
    }

    /// The counts, beside the previous run's when asked.
    fn publish(&self, counts: LazyFrame, cx: &RunContext) -> PolarsResult<StageOutput> {
        if !self.config.previous {
            return Ok(StageOutput::table(counts.collect()?));
        }
        let mut findings = Vec::new();
        let previous = match cx.previous_table(self.output())? {
            Some(table) => {
                let mut wanted = self.by();
                wanted.push(&self.config.count_column);
                let lacking: Vec<&str> = wanted.into_iter().filter(|c| table.column(c).is_err()).collect();
                if lacking.is_empty() {
                    Some(table.lazy().with_columns(self.keys()))
                } else {
                    let message = format!(
                        "the previous run's '{}' has no column {}; counts are not compared",
                        self.output(),
                        lacking.join(", ")
                    );
                    findings.push(Finding::new(Severity::Warn, "previous_incompatible", message));
                    None
                }
            }
            None => None,
        };
        let table = self.with_previous(counts, previous).collect()?;
        Ok(StageOutput { tables: vec![table], findings, ..Default::default() })
    }

    /// The counts beside the previous run's: joined on the group columns, a null group
    /// matching a null group.
    fn with_previous(&self, counts: LazyFrame, previous: Option<LazyFrame>) -> LazyFrame {
        let [prev, change] = self.previous_names();
        let count = self.config.count_column.as_str();
        let Some(previous) = previous else {
            return counts.with_columns([
                lit(NULL).cast(DataType::UInt64).alias(prev.as_str()),
                lit(NULL).cast(DataType::Int64).alias(change.as_str()),
            ]);
        };
        let keys: Vec<Expr> = self.by().iter().map(|c| col(*c)).collect();
        let mut select = keys.clone();
        select.push(col(count).cast(DataType::UInt64).alias(prev.as_str()));
        let mut args = JoinArgs::new(JoinType::Left);
        args.nulls_equal = true;
        args.maintain_order = MaintainOrderJoin::Left;
        counts
            .join(previous.select(select), keys.clone(), keys, args)
            .with_column((col(count).cast(DataType::Int64) - col(prev.as_str()).cast(DataType::Int64)).alias(change))
    }
}

impl Stage for Count {
    fn kind(&self) -> &'static str {
        "count"
    }

    fn io(&self) -> &Io {
        &self.io
    }

    fn schemas(&self, inputs: &[Schema]) -> Result<Vec<Schema>, Vec<Problem>> {
        let named = self.config.by.iter().chain(&self.config.distinct);
        let missing = require(&inputs[0], named.map(|c| (c.value.as_str(), Some(c.referenced))));
        if !missing.is_empty() {
            return Err(missing);
        }
        let mut plan = self.plan(empty_frames(inputs).remove(0));
        if self.config.previous {
            plan = plan.map(|counts| self.with_previous(counts, None));
        }
        Ok(vec![planned_schema(plan)?])
    }

    fn run(&self, mut inputs: Vec<DataFrame>, cx: &RunContext) -> PolarsResult<StageOutput> {
        match self.batched() {
            Some(batched) => run_batched(batched, inputs, cx),
            None => self.publish(self.plan(inputs.remove(0).lazy())?, cx),
        }
    }

    /// Row counts add up across batches; distinct counts do not.
    fn batched(&self) -> Option<&dyn Batched> {
        self.config.distinct.is_none().then_some(self as &dyn Batched)
    }
}

/// A batch's partial result is its rows counted per group.
impl Batched for Count {
    fn passes_rows(&self) -> bool {
        false
    }

    fn run_batch(&self, mut inputs: Vec<DataFrame>, _: &RunContext) -> PolarsResult<Batch> {
        let partial = inputs.remove(0).lazy().group_by(self.keys()).agg([self.count_expr()]).collect()?;
        Ok(Batch { rows: None, rejects: None, partial })
    }

    fn merge(&self, partials: Vec<DataFrame>) -> PolarsResult<DataFrame> {
        let count = self.config.count_column.as_str();
        concat(partials.into_iter().map(DataFrame::lazy).collect::<Vec<_>>(), UnionArgs::default())?
            .group_by(self.by().iter().map(|c| col(*c)).collect::<Vec<_>>())
            .agg([col(count).sum()])
            .collect()
    }

    fn finish(&self, partial: DataFrame, cx: &RunContext) -> PolarsResult<StageOutput> {
        let total = partial.clone().lazy().select([col(self.config.count_column.as_str()).sum()]);
        self.publish(self.with_total(partial.lazy(), total)?, cx)
    }
}
