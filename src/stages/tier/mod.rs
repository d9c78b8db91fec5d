//! `tier`: how valuable and how trustworthy each customer is (DOMAIN §8): frequency
//! and amount tiers by share, a credit grade that moves with payment behaviour from
//! one run to the next, and a value tier by the pipeline's rules; plus every change of
//! tier or grade since the previous run, with its reason.

mod grade;
#[cfg(test)]
mod tests;

use indexmap::IndexMap;
use polars::prelude::*;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{
    BuildContext, Diagnostics, Input, Io, Problem, Sql, Stage, StageOutput, empty_frames, planned_schema, require,
};
use crate::diag::Diagnostic;
use crate::run::RunContext;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierConfig {
    /// One row per customer: an activity stage's output.
    pub input: String,
    /// An aging stage's per-customer table; its balances, overdue days and on-time
    /// months join the customers (0 for a customer who owes nothing).
    pub aging: String,
    pub output: Spanned<String>,
    #[serde(default = "default_key")]
    pub key: String,
    /// `tier column: value column`: high, mid or low by the share of customers with a
    /// smaller value (see `cuts`).
    #[serde(default)]
    pub quantile_tiers: IndexMap<String, Spanned<String>>,
    #[serde(default)]
    pub cuts: Cuts,
    /// `tier: SQL condition`, tried in order: the first that holds names `tier`.
    #[serde(default)]
    pub rules: IndexMap<String, Spanned<String>>,
    pub credit: Option<CreditConfig>,
}

fn default_key() -> String {
    crate::stages::ledger::MASTER.to_string()
}

/// The shares of customers a value must be above for `high` and `mid`: with the
/// defaults, a customer more than 80% of customers are below is high.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cuts {
    pub high: f64,
    pub mid: f64,
}

impl Default for Cuts {
    fn default() -> Self {
        Cuts { high: 0.8, mid: 0.5 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditConfig {
    /// Best first.
    pub grades: Vec<String>,
    pub initial: String,
    /// A grade rises one step after this many consecutive on-time months, counted
    /// since its last change.
    pub upgrade_after_on_time_months: u32,
    /// SQL: when it holds, the grade falls one step at once (and again a month later
    /// if it still holds).
    pub downgrade_when: Spanned<String>,
}

pub struct Tier {
    io: Io,
    config: TierConfig,
    rules: Vec<(String, Sql)>,
    downgrade: Option<Sql>,
}

/// Columns the stage adds, besides the quantile tiers.
pub const AGING_COLUMNS: [&str; 5] =
    ["open_amount", "overdue_amount", "max_days_overdue", "unapplied_credit", "on_time_months"];
pub const GRADE: &str = "credit_grade";
pub const GRADE_SINCE: &str = "credit_since";
pub const GRADE_REASON: &str = "credit_reason";
pub const TIER: &str = "tier";

impl TierConfig {
    pub fn build(self, cx: &BuildContext) -> Result<Tier, Vec<Diagnostic>> {
        let mut d = Diagnostics::default();
        let output = d.take(cx.table_name(&self.output));
        let rules: Vec<_> =
            self.rules.iter().filter_map(|(name, e)| Some((name.clone(), d.take(Sql::compile(cx, e))?))).collect();
        let downgrade = self.credit.as_ref().and_then(|c| d.take(Sql::compile(cx, &c.downgrade_when)));
        if let Some(c) = &self.credit {
            if c.grades.len() < 2 || !c.grades.contains(&c.initial) {
                d.push(cx.error(None, "credit: grades needs two or more, best first, and initial must be one of them"));
            }
            if c.upgrade_after_on_time_months == 0 {
                d.push(cx.error(None, "credit: upgrade_after_on_time_months must be 1 or more"));
            }
        }
        if !(0.0 < self.cuts.mid && self.cuts.mid < self.cuts.high && self.cuts.high < 1.0) {
            d.push(cx.error(None, "cuts: need 0 < mid < high < 1"));
        }
        let inputs = vec![Input::rows(&self.input), Input::lookup(&self.aging)];
        d.finish(|| Tier { io: Io { inputs, output: output.expect("checked") }, config: self, rules, downgrade })
    }
}

impl Tier {
    /// Every column the stage adds.
    fn added(&self) -> Vec<String> {
        let grades = self.config.credit.is_some().then_some([GRADE, GRADE_SINCE, GRADE_REASON]).into_iter().flatten();
        let tiers = self.config.quantile_tiers.keys().map(String::as_str);
        let rules = (!self.rules.is_empty()).then_some(TIER);
        AGING_COLUMNS.into_iter().chain(tiers).chain(grades).chain(rules).map(String::from).collect()
    }

    fn plan(
        &self,
        customers: LazyFrame,
        aging: LazyFrame,
        previous: Option<LazyFrame>,
        as_of: chrono::NaiveDate,
    ) -> LazyFrame {
        let with_aging = grade::with_aging(self, customers, aging);
        let graded = match (&self.config.credit, &self.downgrade) {
            (Some(credit), Some(rule)) => grade::credit(self, credit, rule, with_aging, previous, as_of),
            _ => with_aging,
        };
        let tiered = graded.with_columns(grade::quantile_tiers(self));
        match self.rules.is_empty() {
            true => tiered,
            false => {
                let chosen =
                    self.rules.iter().rev().fold(lit(NULL).cast(DataType::String), |otherwise, (name, rule)| {
                        when(rule.expr.clone()).then(lit(name.clone())).otherwise(otherwise)
                    });
                tiered.with_column(chosen.alias(TIER))
            }
        }
    }
}

impl Stage for Tier {
    fn kind(&self) -> &'static str {
        "tier"
    }

    fn io(&self) -> &Io {
        &self.io
    }

    fn ports(&self) -> &'static [&'static str] {
        &["changes"]
    }

    fn schemas(&self, inputs: &[Schema]) -> Result<Vec<Schema>, Vec<Problem>> {
        let key = self.config.key.as_str();
        let mut problems = require(&inputs[0], [(key, None)]);
        let values = self.config.quantile_tiers.values().map(|v| (v.value.as_str(), Some(v.referenced)));
        problems.extend(require(&inputs[0], values));
        problems.extend(require(&inputs[1], std::iter::once(key).chain(AGING_COLUMNS).map(|c| (c, None))));
        let added = self.added();
        for name in inputs[0].iter_names().filter(|n| added.contains(&n.to_string())) {
            let mut p = Problem::new(None, format!("the input's column '{name}' has the name of a column tier adds"));
            p.help = Some("rename it in a select stage before this one".into());
            problems.push(p);
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut frames = empty_frames(inputs);
        let aging = frames.pop().expect("two inputs");
        let customers = frames.pop().expect("two inputs");
        let table = planned_schema(Ok(self.plan(customers, aging, None, chrono::NaiveDate::default())))?;
        let sqls = self.rules.iter().map(|(_, s)| s).chain(&self.downgrade);
        let problems: Vec<Problem> = sqls.flat_map(|s| require(&table, s.columns())).collect();
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(vec![table, grade::changes_schema(key)])
    }

    fn run(&self, mut inputs: Vec<DataFrame>, cx: &RunContext) -> PolarsResult<StageOutput> {
        let aging = inputs.pop().expect("two inputs");
        let customers = inputs.pop().expect("two inputs");
        let previous = cx.previous_table(self.output())?;
        let previous_lazy = previous.clone().map(|p| grade::previous(self, p)).transpose()?;
        let table = self.plan(customers.lazy(), aging.lazy(), previous_lazy, cx.as_of).collect()?;
        let changes = grade::changes(self, &table, previous.as_ref(), cx.as_of)?;
        let report = grade::report(self, &table, &changes, previous.is_some())?;
        Ok(StageOutput { tables: vec![table, changes], report: Some(report), ..Default::default() })
    }
}
