//! `union`: stacks tables that describe the same thing (e.g. ERP and CRM customer lists).
//! Columns are matched by name; a column missing from one input is null there.

use polars::prelude::*;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{BuildContext, Input, Io, Problem, Stage, StageOutput, empty_frames, planned_schema};
use crate::diag::Diagnostic;
use crate::run::RunContext;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnionConfig {
    /// Tables to stack, in order.
    pub inputs: Vec<String>,
    pub output: Spanned<String>,
}

pub struct Union {
    io: Io,
}

impl UnionConfig {
    pub fn build(self, cx: &BuildContext) -> Result<Union, Vec<Diagnostic>> {
        let output = cx.table_name(&self.output).map_err(|d| vec![d])?;
        Ok(Union { io: Io { inputs: self.inputs.iter().map(|t| Input::rows(t)).collect(), output } })
    }
}

fn plan(inputs: Vec<LazyFrame>) -> PolarsResult<LazyFrame> {
    concat_lf_diagonal(inputs, UnionArgs { rechunk: false, ..Default::default() })
}

impl Stage for Union {
    fn kind(&self) -> &'static str {
        "union"
    }

    fn io(&self) -> &Io {
        &self.io
    }

    fn schemas(&self, inputs: &[Schema]) -> Result<Vec<Schema>, Vec<Problem>> {
        Ok(vec![planned_schema(plan(empty_frames(inputs)))?])
    }

    fn run(&self, inputs: Vec<DataFrame>, _: &RunContext) -> PolarsResult<StageOutput> {
        Ok(StageOutput::table(plan(inputs.into_iter().map(DataFrame::lazy).collect())?.collect()?))
    }
}
