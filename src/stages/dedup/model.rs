//! The Fellegi–Sunter model: for each comparison level, m = P(level | match) and
//! u = P(level | non-match); a pair's match weight is log2 of the prior odds plus
//! log2(m/u) per comparison, and its match probability follows from the weight.
//!
//! No labels are needed. u is first estimated from random record pairs, which are
//! almost all non-matches. Then m, u and one prior per blocking rule are estimated by
//! expectation–maximisation over the candidate pairs, each pair counted under the
//! first rule that found it:
//! - A comparison on a column the pair's rule blocks on always agrees within that
//!   rule's pairs and says nothing there, so it is left out for those pairs, in
//!   training and scoring alike; the rule's prior carries that evidence. (Splink trains
//!   per blocking rule for the same reason.)
//! - u is re-estimated among candidates rather than kept at its random-pair value: a
//!   block makes its non-matches agree on more than the blocked column (a shared name
//!   prefix raises name similarity, a shared city raises address overlap). With
//!   random-pair u, EM took nearly every candidate for a match (hard sample: precision
//!   0.68). The random-pair u starts EM and serves the term-frequency adjustment, which
//!   is defined against random pairs.
//! - m and u are shared by all rules, so a rule whose pairs are nearly all matches (a
//!   shared tax id) still has non-matches elsewhere to learn u from. (u per rule was
//!   tried: EM then explains a whole rule by one class; recall fell on the hard sample.)
//!
//! EM runs over distinct (rule, comparison levels) patterns with their counts, not over
//! pairs: a few hundred patterns stand for millions of pairs, so training takes
//! milliseconds.

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
    pub comparisons: Vec<ComparisonModel>,
    /// One prior per blocking rule (exact keys first), in the stage's order.
    pub rules: Vec<RuleModel>,
    pub training: Training,
}

/// A comparison's parameters, one entry per level from the closest to `else`; the null
/// level is not listed: a missing value has weight 0.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonModel {
    pub name: String,
    pub method: Method,
    pub thresholds: Vec<f64>,
    pub levels: Vec<String>,
    pub m: Vec<f64>,
    pub u: Vec<f64>,
    /// u among random record pairs, before EM.
    pub u_random: Vec<f64>,
    /// Weights fixed by configuration instead of trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_weights: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleModel {
    pub rule: String,
    /// Share of the pairs this rule found first that are matches.
    pub prior: f64,
    /// Comparisons left out for this rule's pairs: their column is one it blocks on.
    pub left_out: Vec<String>,
    pub pairs: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    pub random_pairs: usize,
    pub patterns: usize,
    pub iterations: usize,
    pub converged: bool,
}

/// Probabilities are kept off 0 and 1 so every weight is finite.
const FLOOR: f64 = 1e-9;

impl ComparisonModel {
    /// A comparison before EM: u from random pairs, m falling off level by level.
    pub fn new(c: &Comparison, u_random: Vec<f64>, fixed_weights: Option<Vec<f64>>) -> ComparisonModel {
        let start: Vec<f64> = (0..u_random.len()).map(|t| 0.25f64.powi(t as i32)).collect();
        let total: f64 = start.iter().sum();
        ComparisonModel {
            name: c.name.clone(),
            method: c.method,
            thresholds: c.thresholds.clone(),
            levels: c.method.labels(&c.thresholds)[1..].to_vec(),
            m: start.iter().map(|s| s / total).collect(),
            u: u_random.clone(),
            u_random,
            fixed_weights,
        }
    }

    /// The weight of a level: 0 for null.
    pub fn weight(&self, level: u8) -> f64 {
        if level == 0 {
            return 0.0;
        }
        let l = level as usize - 1;
        match &self.fixed_weights {
            Some(w) => w[l],
            None => (self.m[l].max(FLOOR) / self.u[l].max(FLOOR)).log2(),
        }
    }

    /// The random-pair u of a level, when the weights are trained.
    pub fn u_random_of(&self, level: u8) -> Option<f64> {
        (level > 0 && self.fixed_weights.is_none()).then(|| self.u_random[level as usize - 1])
    }
}

impl RuleModel {
    /// log2 of the prior odds, the weight every pair of this rule starts from.
    pub fn prior_weight(&self) -> f64 {
        let p = self.prior.clamp(FLOOR, 1.0 - FLOOR);
        (p / (1.0 - p)).log2()
    }

    pub fn leaves_out(&self, comparison: &str) -> bool {
        self.left_out.iter().any(|c| c == comparison)
    }
}

impl Model {
    /// The weight comparison `k` adds at `level` to a pair of `rule`.
    pub fn weight(&self, rule: usize, k: usize, level: u8) -> f64 {
        let c = &self.comparisons[k];
        if self.rules[rule].leaves_out(&c.name) { 0.0 } else { c.weight(level) }
    }

    /// Whether this model was made for these comparisons and rules.
    pub fn mismatch(&self, comparisons: &[Comparison], rules: &[String]) -> Option<String> {
        if self.comparisons.len() != comparisons.len() {
            return Some(format!(
                "the model has {} comparisons, the stage {}",
                self.comparisons.len(),
                comparisons.len()
            ));
        }
        let differs = self.comparisons.iter().zip(comparisons).find(|(m, c)| {
            m.name != c.name || m.method != c.method || m.thresholds != c.thresholds || m.u.len() + 1 != c.level_count()
        });
        if let Some((m, _)) = differs {
            return Some(format!("comparison '{}' differs between the model and the stage", m.name));
        }
        let model_rules: Vec<&str> = self.rules.iter().map(|r| r.rule.as_str()).collect();
        (model_rules != rules.iter().map(String::as_str).collect::<Vec<_>>())
            .then(|| format!("the model's blocking rules [{}] differ from the stage's", model_rules.join("; ")))
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
) -> Vec<Vec<f64>> {
    let mut rng = crate::sample::rng(seed);
    let (a_range, b_range) = match link_split {
        Some(s) => (0..s as usize, s as usize..records),
        None => (0..records, 0..records),
    };
    let usable = !a_range.is_empty() && !b_range.is_empty() && records >= 2;
    let pairs: Vec<(usize, usize)> = (0..if usable { samples } else { 0 })
        .map(|_| {
            loop {
                let (a, b) = (rng.random_range(a_range.clone()), rng.random_range(b_range.clone()));
                if a != b {
                    break (a, b);
                }
            }
        })
        .collect();
    comparisons
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
        .collect()
}

/// Distinct comparison patterns per rule, with how many pairs show each, in a fixed order.
pub fn patterns(levels: &[u8], rules: &[u8], width: usize) -> Vec<(u8, Vec<u8>, u64)> {
    let counts = levels
        .par_chunks(width * 4096)
        .zip(rules.par_chunks(4096))
        .map(|(chunk, rules)| {
            let mut map: FxHashMap<(u8, &[u8]), u64> = FxHashMap::default();
            for (p, &r) in chunk.chunks(width).zip(rules) {
                *map.entry((r, p)).or_default() += 1;
            }
            map
        })
        .reduce(FxHashMap::default, |mut a, b| {
            for (k, v) in b {
                *a.entry(k).or_default() += v;
            }
            a
        });
    let mut out: Vec<(u8, Vec<u8>, u64)> = counts.into_iter().map(|((r, p), n)| (r, p.to_vec(), n)).collect();
    out.sort_unstable();
    out
}

/// Probabilities from expected counts, plus one pseudo-pair per level: a level never
/// seen in a class gets a finite weight, and against thousands of pairs nothing else moves.
fn with_pseudo_counts(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum::<f64>() + counts.len() as f64;
    counts.iter().map(|c| (c + 1.0) / total).collect()
}

/// Expectation–maximisation of every trained comparison's m and u and every rule's
/// prior over the (rule, levels) patterns.
pub fn expectation_maximisation(model: &mut Model, patterns: &[(u8, Vec<u8>, u64)], max_iterations: usize) {
    const TOLERANCE: f64 = 1e-7;
    model.training.patterns = patterns.len();
    for iteration in 1..=max_iterations {
        let mut m_sum: Vec<Vec<f64>> = model.comparisons.iter().map(|c| vec![0.0; c.levels.len()]).collect();
        let mut u_sum = m_sum.clone();
        let mut matched = vec![(0.0, 0.0); model.rules.len()];
        for (rule, pattern, count) in patterns {
            let r = *rule as usize;
            let weight = model.rules[r].prior_weight()
                + pattern.iter().enumerate().map(|(k, &l)| model.weight(r, k, l)).sum::<f64>();
            let n = *count as f64;
            let p = probability(weight) * n;
            matched[r].0 += p;
            matched[r].1 += n;
            for (k, &l) in pattern.iter().enumerate() {
                if l > 0 && !model.rules[r].leaves_out(&model.comparisons[k].name) {
                    m_sum[k][l as usize - 1] += p;
                    u_sum[k][l as usize - 1] += n - p;
                }
            }
        }
        let mut change: f64 = 0.0;
        let mut update = |old: &mut Vec<f64>, new: Vec<f64>| {
            change = old.iter().zip(&new).fold(change, |acc, (a, b)| acc.max((a - b).abs()));
            *old = new;
        };
        for (k, c) in model.comparisons.iter_mut().enumerate() {
            if c.fixed_weights.is_some() {
                continue;
            }
            update(&mut c.m, with_pseudo_counts(&m_sum[k]));
            update(&mut c.u, with_pseudo_counts(&u_sum[k]));
        }
        for (rule, (p, n)) in model.rules.iter_mut().zip(matched) {
            if n > 0.0 {
                let prior = (p / n).clamp(FLOOR, 1.0 - FLOOR);
                change = change.max((prior - rule.prior).abs());
                rule.prior = prior;
            }
        }
        model.training.iterations = iteration;
        if change < TOLERANCE {
            model.training.converged = true;
            return;
        }
    }
}
