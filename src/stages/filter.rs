//! `filter`: keeps the rows in scope, by a SQL predicate such as
//! `category IN ('成单客户','潜在客户') AND NOT invalid`.

use polars::prelude::*;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{
    Batch, Batched, BuildContext, Diagnostics, Input, Io, Problem, Sql, Stage, StageOutput, empty_frames,
    planned_schema, require, run_batched,
};
use crate::diag::Diagnostic;
use crate::run::RunContext;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    pub input: String,
    pub output: Spanned<String>,
    /// SQL predicate; rows where it is true are kept (false and null are dropped).
    #[serde(rename = "where")]
    pub predicate: Spanned<String>,
}

pub struct Filter {
    io: Io,
    predicate: Sql,
}

impl FilterConfig {
    pub fn build(self, cx: &BuildContext) -> Result<Filter, Vec<Diagnostic>> {
        let mut d = Diagnostics::default();
        let output = d.take(cx.table_name(&self.output));
        let predicate = d.take(Sql::compile(cx, &self.predicate));
        d.finish(|| Filter {
            io: Io { inputs: vec![Input::rows(&self.input)], output: output.expect("checked") },
            predicate: predicate.expect("checked"),
        })
    }
}

impl Filter {
    fn plan(&self, input: LazyFrame) -> LazyFrame {
        input.filter(self.predicate.expr.clone())
    }
}

impl Stage for Filter {
    fn kind(&self) -> &'static str {
        "filter"
    }

    fn io(&self) -> &Io {
        &self.io
    }

    fn schemas(&self, inputs: &[Schema]) -> Result<Vec<Schema>, Vec<Problem>> {
        let missing = require(&inputs[0], self.predicate.columns());
        if !missing.is_empty() {
            return Err(missing);
        }
        // Polars finds a predicate that is no condition (`where: 42`) only when it runs.
        let condition = empty_frames(inputs).remove(0).select([self.predicate.expr.clone().alias("where")]);
        let kind = planned_schema(Ok(condition)).ok().and_then(|s| s.get("where").cloned());
        if let Some(kind) = kind.filter(|k| !matches!(k, DataType::Boolean | DataType::Null)) {
            return Err(vec![Problem::new(
                Some(self.predicate.at),
                format!("where: gives {kind}, where a condition (a Boolean) is needed"),
            )]);
        }
        let schema = planned_schema(Ok(self.plan(empty_frames(inputs).remove(0)))).map_err(|mut p| {
            p.iter_mut().for_each(|p| p.at = Some(self.predicate.at));
            p
        })?;
        Ok(vec![schema])
    }

    fn run(&self, inputs: Vec<DataFrame>, cx: &RunContext) -> PolarsResult<StageOutput> {
        run_batched(self, inputs, cx)
    }

    fn batched(&self) -> Option<&dyn Batched> {
        Some(self)
    }
}

/// Each row is kept or not on its own.
impl Batched for Filter {
    fn run_batch(&self, mut inputs: Vec<DataFrame>, _: &RunContext) -> PolarsResult<Batch> {
        Ok(Batch::rows(self.plan(inputs.remove(0).lazy()).collect()?))
    }

    fn merge(&self, _: Vec<DataFrame>) -> PolarsResult<DataFrame> {
        Ok(DataFrame::empty())
    }

    fn finish(&self, _: DataFrame, _: &RunContext) -> PolarsResult<StageOutput> {
        Ok(StageOutput::default())
    }
}
