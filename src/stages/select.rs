//! `select`: derives columns from SQL expressions, keeps and orders columns, renames them.
//! Applied in that order, so a derived column can be kept and renamed.

use indexmap::IndexMap;
use polars::prelude::*;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{
    Batch, Batched, BuildContext, Diagnostics, Input, Io, Problem, Sql, Stage, StageOutput, empty_frames,
    planned_schema, require, run_batched,
};
use crate::diag::Diagnostic;
use crate::rejects;
use crate::run::RunContext;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectConfig {
    pub input: String,
    pub output: Spanned<String>,
    /// New or replaced columns: `name: SQL expression`, computed from the input's columns.
    #[serde(default)]
    pub derive: IndexMap<String, Spanned<String>>,
    /// Columns to keep, in this order; all when absent.
    #[serde(default)]
    pub columns: Option<Vec<Spanned<String>>>,
    /// `old: new` names.
    #[serde(default)]
    pub rename: IndexMap<String, String>,
}

pub struct Select {
    io: Io,
    derive: Vec<(String, Sql)>,
    columns: Option<Vec<Spanned<String>>>,
    rename: IndexMap<String, String>,
}

impl SelectConfig {
    pub fn build(self, cx: &BuildContext) -> Result<Select, Vec<Diagnostic>> {
        let mut d = Diagnostics::default();
        let output = d.take(cx.table_name(&self.output));
        let derive: Vec<_> =
            self.derive.iter().filter_map(|(name, e)| Some((name.clone(), d.take(Sql::compile(cx, e))?))).collect();
        d.finish(|| Select {
            io: Io { inputs: vec![Input::rows(&self.input)], output: output.expect("checked") },
            derive,
            columns: self.columns,
            rename: self.rename,
        })
    }
}

impl Select {
    /// `carries_origin`: the input has the rows' origin, which a kept-columns list keeps.
    fn plan(&self, mut lf: LazyFrame, carries_origin: bool) -> LazyFrame {
        if !self.derive.is_empty() {
            lf = lf.with_columns(self.derive.iter().map(|(n, e)| e.expr.clone().alias(n.as_str())).collect::<Vec<_>>());
        }
        if let Some(columns) = &self.columns {
            let origin = carries_origin.then(|| col(rejects::ORIGIN));
            lf = lf.select(columns.iter().map(|c| col(c.value.as_str())).chain(origin).collect::<Vec<_>>());
        }
        if !self.rename.is_empty() {
            lf = lf.rename(self.rename.keys(), self.rename.values(), true);
        }
        lf
    }
}

impl Stage for Select {
    fn kind(&self) -> &'static str {
        "select"
    }

    fn io(&self) -> &Io {
        &self.io
    }

    fn schemas(&self, inputs: &[Schema]) -> Result<Vec<Schema>, Vec<Problem>> {
        let read = self.derive.iter().flat_map(|(_, e)| e.columns());
        let mut problems = require(&inputs[0], read);
        // Kept columns may be derived ones.
        let mut derived = inputs[0].clone();
        derived.extend(self.derive.iter().map(|(n, _)| (n.as_str().into(), DataType::Null)));
        let kept = self.columns.iter().flatten().map(|c| (c.value.as_str(), Some(c.referenced)));
        problems.extend(require(&derived, kept));
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(vec![planned_schema(Ok(self.plan(empty_frames(inputs).remove(0), inputs[0].contains(rejects::ORIGIN))))?])
    }

    fn run(&self, inputs: Vec<DataFrame>, cx: &RunContext) -> PolarsResult<StageOutput> {
        run_batched(self, inputs, cx)
    }

    fn batched(&self) -> Option<&dyn Batched> {
        Some(self)
    }
}

/// Each row's columns are derived from that row alone.
impl Batched for Select {
    fn run_batch(&self, mut inputs: Vec<DataFrame>, _: &RunContext) -> PolarsResult<Batch> {
        let input = inputs.remove(0);
        let carries_origin = input.schema().contains(rejects::ORIGIN);
        Ok(Batch::rows(self.plan(input.lazy(), carries_origin).collect()?))
    }

    fn merge(&self, _: Vec<DataFrame>) -> PolarsResult<DataFrame> {
        Ok(DataFrame::empty())
    }

    fn finish(&self, _: DataFrame, _: &RunContext) -> PolarsResult<StageOutput> {
        Ok(StageOutput::default())
    }
}
