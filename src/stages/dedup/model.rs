//! The Fellegi–Sunter model: for each comparison level, m = P(level | match) and
//! u = P(level | non-match); a pair's match weight is log2 of the prior odds plus
//! log2(m/u) per comparison. u is estimated from random record pairs (almost all
//! non-matches), m by expectation–maximisation over the candidate pairs, no labels needed.
//!
//! EM runs over distinct comparison patterns with their counts, not over pairs: a few
//! hundred patterns stand for millions of pairs, so training takes milliseconds.

use rand::Rng;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::compare::{Comparison, Method};

/// Trained (or fixed) parameters; written to the run directory and loadable instead of
/// retraining, so that nightly runs score the same way.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Share of candidate pairs that are matches (λ); scores are calibrated for candidates.
    pub prior: f64,
    pub comparisons: Vec<ComparisonModel>,
    #[serde(default)]
    pub training: Option<Training>,
}

/// Parameters of one comparison, one entry per level from the closest to `else`; the
/// null level is not listed: a missing value has weight 0.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonModel {
    pub name: String,
    pub method: Method,
    pub thresholds: Vec<f64>,
    pub levels: Vec<String>,
    /// Empty when the weights are fixed by configuration.
    pub m: Vec<f64>,
    pub u: Vec<f64>,
    pub weights: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    pub random_pairs: usize,
    pub candidate_pairs: usize,
    pub patterns: usize,
    pub iterations: usize,
    pub converged: bool,
}

/// Probabilities are kept off 0 and 1 so every weight is finite.
const FLOOR: f64 = 1e-9;

impl ComparisonModel {
    /// A comparison to be trained, starting from m falling off level by level.
    pub fn untrained(c: &Comparison) -> ComparisonModel {
        let labels = c.method.labels(&c.thresholds)[1..].to_vec();
        let start: Vec<f64> = (0..labels.len()).map(|t| 0.25f64.powi(t as i32)).collect();
        let total: f64 = start.iter().sum();
        let n = labels.len();
        let mut c = ComparisonModel {
            name: c.name.clone(),
            method: c.method,
            thresholds: c.thresholds.clone(),
            levels: labels,
            m: start.iter().map(|s| s / total).collect(),
            u: vec![1.0 / n as f64; n],
            weights: vec![0.0; n],
        };
        c.refresh_weights();
        c
    }

    /// A comparison whose weights the configuration fixes.
    pub fn fixed(c: &Comparison, weights: Vec<f64>) -> ComparisonModel {
        ComparisonModel {
            name: c.name.clone(),
            method: c.method,
            thresholds: c.thresholds.clone(),
            levels: c.method.labels(&c.thresholds)[1..].to_vec(),
            m: Vec::new(),
            u: Vec::new(),
            weights,
        }
    }

    pub fn is_fixed(&self) -> bool {
        self.m.is_empty()
    }

    fn refresh_weights(&mut self) {
        if !self.is_fixed() {
            self.weights = self.m.iter().zip(&self.u).map(|(m, u)| (m.max(FLOOR) / u.max(FLOOR)).log2()).collect();
        }
    }

    /// The weight of a level (0 for null).
    pub fn weight(&self, level: u8) -> f64 {
        if level == 0 { 0.0 } else { self.weights[level as usize - 1] }
    }

    /// The u of a level, when trained.
    pub fn u_of(&self, level: u8) -> Option<f64> {
        (level > 0 && !self.is_fixed()).then(|| self.u[level as usize - 1])
    }
}

impl Model {
    /// log2 of the prior odds, the weight every pair starts from.
    pub fn prior_weight(&self) -> f64 {
        let p = self.prior.clamp(FLOOR, 1.0 - FLOOR);
        (p / (1.0 - p)).log2()
    }

    /// Whether this model was made for these comparisons (same names, methods, levels).
    pub fn mismatch(&self, comparisons: &[Comparison]) -> Option<String> {
        if self.comparisons.len() != comparisons.len() {
            return Some(format!(
                "the model has {} comparisons, the stage {}",
                self.comparisons.len(),
                comparisons.len()
            ));
        }
        self.comparisons.iter().zip(comparisons).find_map(|(m, c)| {
            (m.name != c.name || m.method != c.method || m.thresholds != c.thresholds || m.weights.len() + 1 != c.level_count())
                .then(|| format!("comparison '{}' in the model differs from '{}' in the stage", m.name, c.name))
        })
    }
}

pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

/// Estimates u from `samples` random record pairs: the share of each level among the
/// pairs where both values are present. Counts are integers, so the result does not
/// depend on the thread count. In link mode, pairs cross `link_split`.
pub fn estimate_u(
    comparisons: &[Comparison],
    records: usize,
    link_split: Option<u32>,
    samples: usize,
    seed: u64,
) -> (Vec<Vec<f64>>, usize) {
    let mut rng = crate::sample::rng(seed);
    let (a_range, b_range) = match link_split {
        Some(s) => (0..s as usize, s as usize..records),
        None => (0..records, 0..records),
    };
    if a_range.is_empty() || b_range.is_empty() || records < 2 {
        return (comparisons.iter().map(|c| vec![1.0 / (c.level_count() - 1) as f64; c.level_count() - 1]).collect(), 0);
    }
    let pairs: Vec<(usize, usize)> = (0..samples)
        .map(|_| loop {
            let (a, b) = (rng.random_range(a_range.clone()), rng.random_range(b_range.clone()));
            if a != b {
                break (a, b);
            }
        })
        .collect();
    let u = comparisons
        .iter()
        .map(|c| {
            let counts = pairs
                .par_chunks(4096)
                .map(|chunk| {
                    let mut n = vec![0u64; c.level_count()];
                    for &(a, b) in chunk {
                        n[c.level(a, b) as usize] += 1;
                    }
                    n
                })
                .reduce(|| vec![0u64; c.level_count()], |x, y| x.iter().zip(&y).map(|(a, b)| a + b).collect());
            // Half a pair for every level, so a level never seen at random is rare, not impossible.
            let present: u64 = counts[1..].iter().sum();
            let levels = counts.len() - 1;
            counts[1..].iter().map(|&n| (n as f64 + 0.5) / (present as f64 + 0.5 * levels as f64)).collect()
        })
        .collect();
    (u, samples)
}

/// Distinct comparison patterns and how many pairs show each, in a fixed order.
pub fn patterns(levels: &[u8], width: usize) -> Vec<(Vec<u8>, u64)> {
    let counts = levels
        .par_chunks(width * 4096)
        .map(|chunk| {
            let mut map: FxHashMap<&[u8], u64> = FxHashMap::default();
            for p in chunk.chunks(width) {
                *map.entry(p).or_default() += 1;
            }
            map
        })
        .reduce(FxHashMap::default, |mut a, b| {
            for (k, v) in b {
                *a.entry(k).or_default() += v;
            }
            a
        });
    let mut out: Vec<(Vec<u8>, u64)> = counts.into_iter().map(|(k, v)| (k.to_vec(), v)).collect();
    out.sort_unstable();
    out
}

/// Expectation–maximisation of m (and of u when `fix_u` is false) and the prior over
/// comparison patterns. Returns the iterations run and whether it converged.
pub fn expectation_maximisation(
    model: &mut Model,
    patterns: &[(Vec<u8>, u64)],
    fix_u: bool,
    fix_prior: bool,
    max_iterations: usize,
) -> (usize, bool) {
    const TOLERANCE: f64 = 1e-7;
    for iteration in 1..=max_iterations {
        let mut m_sum: Vec<Vec<f64>> = model.comparisons.iter().map(|c| vec![0.0; c.levels.len()]).collect();
        let mut u_sum = m_sum.clone();
        let (mut matched, mut total) = (0.0, 0.0);
        for (pattern, count) in patterns {
            let weight: f64 =
                model.prior_weight() + model.comparisons.iter().zip(pattern).map(|(c, &l)| c.weight(l)).sum::<f64>();
            let p = probability(weight);
            let n = *count as f64;
            matched += p * n;
            total += n;
            for (k, &l) in pattern.iter().enumerate() {
                if l > 0 {
                    m_sum[k][l as usize - 1] += p * n;
                    u_sum[k][l as usize - 1] += (1.0 - p) * n;
                }
            }
        }
        let mut change: f64 = 0.0;
        // One pseudo-pair per level keeps a level never seen in one class from getting an
        // infinite weight; against thousands of pairs it moves nothing else.
        let normalize = |sums: &[f64]| {
            let t: f64 = sums.iter().sum::<f64>() + sums.len() as f64;
            sums.iter().map(|s| (s + 1.0) / t).collect::<Vec<f64>>()
        };
        for (k, c) in model.comparisons.iter_mut().enumerate() {
            if c.is_fixed() {
                continue;
            }
            let m = normalize(&m_sum[k]);
            change = m.iter().zip(&c.m).fold(change, |acc, (a, b)| acc.max((a - b).abs()));
            c.m = m;
            if !fix_u {
                let u = normalize(&u_sum[k]);
                change = u.iter().zip(&c.u).fold(change, |acc, (a, b)| acc.max((a - b).abs()));
                c.u = u;
            }
            c.refresh_weights();
        }
        if !fix_prior && total > 0.0 {
            let prior = (matched / total).clamp(FLOOR, 1.0 - FLOOR);
            change = change.max((prior - model.prior).abs());
            model.prior = prior;
        }
        if change < TOLERANCE {
            return (iteration, true);
        }
    }
    (max_iterations, false)
}

/// Sets each trained comparison's u (from random pairs) and recomputes its weights.
pub fn set_u(model: &mut Model, u: Vec<Vec<f64>>) {
    for (c, u) in model.comparisons.iter_mut().zip(u) {
        if !c.is_fixed() {
            c.u = u;
            c.refresh_weights();
        }
    }
}
