//! P(alive) and expected purchases in the output: BG/NBD fitted on the buyers'
//! repeat-purchase summary, in days. Customers who share a summary are fitted once,
//! with their count as the weight. Where the fit is not tried or does not converge,
//! the columns are null and a warning says why.

use polars::prelude::*;
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::bgnbd::{self, Fit, Pattern};
use super::features::SUMMARY;
use crate::stages::days::Days;
use crate::stages::{Finding, Severity};

pub const P_ALIVE: &str = "p_alive";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgNbdConfig {
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// How far ahead expected purchases look.
    #[serde(default = "default_horizon")]
    pub horizon: Days,
    /// With fewer customers who bought again than this, the model is not fitted.
    #[serde(default = "default_min_repeat")]
    pub min_repeat_customers: usize,
}

fn enabled() -> bool {
    true
}

fn default_horizon() -> Days {
    Days(90)
}

fn default_min_repeat() -> usize {
    30
}

impl BgNbdConfig {
    /// The columns it adds, in order.
    pub fn columns(&self) -> [String; 2] {
        [P_ALIVE.to_string(), format!("expected_purchases_{}", self.horizon.label())]
    }
}

/// The table with the model's two columns, its report, and a warning where it has none.
pub fn add(config: &BgNbdConfig, mut table: DataFrame) -> PolarsResult<(DataFrame, Value, Vec<Finding>)> {
    let patterns = patterns(&table)?;
    let buyers: f64 = patterns.iter().map(|p| p.customers).sum();
    let repeat = patterns.iter().filter(|p| p.x > 0).map(|p| p.customers).sum::<f64>() as usize;
    let mut report = json!({
        "time_unit": "day",
        "horizon_days": config.horizon.0,
        "customers": buyers as usize,
        "repeat_customers": repeat,
        "patterns": patterns.len(),
    });
    let fitted = if repeat < config.min_repeat_customers {
        Err(format!(
            "only {repeat} customers bought on more than one day, fewer than min_repeat_customers \
             ({}): BG/NBD is not fitted",
            config.min_repeat_customers
        ))
    } else {
        bgnbd::fit(&patterns)
    };
    if let Ok(fit) = &fitted {
        describe(fit, &mut report);
    }
    let fitted = fitted.and_then(|fit| if fit.converged { Ok(fit) } else { Err(unconverged(&fit)) });
    let (alive, expected) = match &fitted {
        Ok(fit) => predict(fit, config.horizon, &table)?,
        Err(_) => (vec![None; table.height()], vec![None; table.height()]),
    };
    let [alive_name, expected_name] = config.columns();
    table.with_column(Float64Chunked::from_iter_options(alive_name.into(), alive.into_iter()).into_column())?;
    table.with_column(Float64Chunked::from_iter_options(expected_name.into(), expected.into_iter()).into_column())?;
    report["fitted"] = json!(fitted.is_ok());
    let findings = match fitted {
        Ok(fit) => degenerate(&fit).into_iter().collect(),
        Err(message) => vec![Finding::new(Severity::Warn, "bgnbd_not_fitted", message)],
    };
    Ok((table, report, findings))
}

/// Records the fit in the report.
fn describe(fit: &Fit, report: &mut Value) {
    let p = &fit.params;
    report["params"] = json!({ "r": p.r, "alpha": p.alpha, "a": p.a, "b": p.b });
    report["log_likelihood"] = json!(fit.log_likelihood);
    report["iterations"] = json!(fit.iterations);
    report["converged"] = json!(fit.converged);
}

/// A fit at the edge of the parameter space: a or b near 0 or without bound means the
/// data show no drop-out to speak of (or nothing but), and BG/NBD reduces to a
/// simpler model. Its predictions stand, but the parameters say little.
fn degenerate(fit: &Fit) -> Option<Finding> {
    let p = &fit.params;
    let edge = [("r", p.r), ("alpha", p.alpha), ("a", p.a), ("b", p.b)]
        .into_iter()
        .filter(|(_, v)| !(1e-6..=1e6).contains(v))
        .map(|(name, v)| format!("{name} {v:.3e}"))
        .collect::<Vec<_>>();
    let message = format!(
        "BG/NBD converged at the edge of its parameter space ({}): the purchases show little sign of customers \
         dropping out, and the parameters describe a simpler model",
        edge.join(", ")
    );
    (!edge.is_empty()).then(|| Finding::new(Severity::Warn, "bgnbd_degenerate", message))
}

fn unconverged(fit: &Fit) -> String {
    format!(
        "BG/NBD did not converge after {} iterations (r {:.4}, alpha {:.4}, a {:.4}, b {:.4}): p_alive and \
         expected purchases are left empty",
        fit.iterations, fit.params.r, fit.params.alpha, fit.params.a, fit.params.b
    )
}

/// The summary columns, as numbers; null for customers who never bought.
fn summary(table: &DataFrame) -> PolarsResult<[Values; 3]> {
    let column = |name: &str| -> PolarsResult<Values> {
        Ok(table.column(name)?.cast(&DataType::Float64)?.f64()?.iter().collect())
    };
    Ok([column(SUMMARY[0])?, column(SUMMARY[1])?, column(SUMMARY[2])?])
}

/// The buyers' distinct summaries and how many customers have each.
fn patterns(table: &DataFrame) -> PolarsResult<Vec<Pattern>> {
    let grouped = table
        .clone()
        .lazy()
        .filter(col(SUMMARY[0]).is_not_null())
        .group_by([
            col(SUMMARY[0]).cast(DataType::UInt32),
            col(SUMMARY[1]).cast(DataType::Float64),
            col(SUMMARY[2]).cast(DataType::Float64),
        ])
        .agg([len().cast(DataType::Float64).alias("__customers")])
        .sort([SUMMARY[0], SUMMARY[1], SUMMARY[2]], Default::default())
        .collect()?;
    let [x, t_x, t] = [SUMMARY[0], SUMMARY[1], SUMMARY[2]].map(|c| grouped.column(c));
    let (x, t_x, t, n) = (x?.u32()?, t_x?.f64()?, t?.f64()?, grouped.column("__customers")?.f64()?);
    let rows = x.iter().zip(t_x.iter()).zip(t.iter()).zip(n.iter());
    Ok(rows.filter_map(|(((x, t_x), t), n)| Some(Pattern { x: x?, t_x: t_x?, t: t?, customers: n? })).collect())
}

/// A column's values, null where there are none.
type Values = Vec<Option<f64>>;

/// P(alive) and expected purchases per customer; null for those who never bought.
fn predict(fit: &Fit, horizon: Days, table: &DataFrame) -> PolarsResult<(Values, Values)> {
    let [x, t_x, t] = summary(table)?;
    let p = &fit.params;
    Ok((0..x.len())
        .into_par_iter()
        .map(|i| match (x[i], t_x[i], t[i]) {
            (Some(x), Some(t_x), Some(t)) => {
                let x = x as u32;
                let expected = bgnbd::expected_purchases(p, x, t_x, t, f64::from(horizon.0));
                (Some(bgnbd::p_alive(p, x, t_x, t)), expected.is_finite().then_some(expected))
            }
            _ => (None, None),
        })
        .unzip())
}
