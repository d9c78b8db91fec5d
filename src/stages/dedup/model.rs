//! The Fellegi–Sunter model: for each comparison level, m = P(level | match) and
//! u = P(level | non-match); a pair's match weight is log2 of the prior odds plus
//! log2(m/u) per comparison, and its match probability follows from the weight.
//!
//! No labels are needed. u is first estimated from random record pairs, which are
//! almost all non-matches. Then m, each blocking rule's prior and each rule's u are
//! estimated by expectation–maximisation over the candidate pairs, each pair counted
//! under the first rule that found it:
//! - A comparison on a column the pair's rule blocks on always agrees within that
//!   rule's pairs and says nothing there, so it is left out for those pairs, in
//!   training and scoring alike; the rule's prior carries that evidence. (Splink trains
//!   per blocking rule for the same reason.)
//! - A comparison equal in all but 0.1% of a rule's pairs (at least 1,000 of them) is
//!   one its keys determine, like an address's city under an address rule: it weighs
//!   nothing there. Counted as evidence, it made EM call every pair at one address a
//!   match (precision 0.75 at 100,000 records with exact name and address comparisons).
//! - A comparison on the column of an earlier single-column rule cannot be equal in
//!   this rule's pairs: the earlier rule took those. Its m is taken among the other
//!   levels, so a phone that differs costs nothing where phones never agree.
//! - u is per rule: a block makes its non-matches agree on more than random pairs do
//!   (a shared city raises the odds of a shared street), and less on some things (two
//!   companies with one name are rarely in one city). Each rule's u starts from the
//!   random-pair u and moves as far as its non-matches say. The random-pair u also
//!   serves the term-frequency adjustment, which is defined against random pairs.
//! - m is shared by all rules, and is fitted first with one u for all rules: fitting m
//!   and per-rule u together let the biggest rule redefine a match (at a million
//!   records, "same name, same city" won over "same company": precision 0.79).
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
    /// u among random record pairs, where each rule's u starts.
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
    /// Comparisons equal in all but a few of this rule's pairs, because its keys
    /// determine them (an address's city under an address rule): they weigh nothing in
    /// its pairs, but its matches still count toward their m.
    pub implied: Vec<String>,
    /// Comparisons that cannot be equal in this rule's pairs: an earlier rule blocks on
    /// their column alone and took every such pair first.
    pub unequal: Vec<String>,
    /// u of every comparison among this rule's non-matches, closest level first.
    pub u: Vec<Vec<f64>>,
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
            levels: c.labels()[1..].to_vec(),
            m: start.iter().map(|s| s / total).collect(),
            u_random,
            fixed_weights,
        }
    }

    /// The weight of a level against `u`, 0 for null; `unequal`: the pair cannot be
    /// equal here, so m is taken among the other levels.
    fn weight(&self, level: u8, u: &[f64], unequal: bool) -> f64 {
        if level == 0 {
            return 0.0;
        }
        let l = level as usize - 1;
        if let Some(w) = &self.fixed_weights {
            return w[l];
        }
        let mut m = self.m[l];
        match self.method.equality_index(&self.thresholds) {
            Some(e) if unequal && e != l => m /= 1.0 - self.m[e],
            _ => {}
        }
        (m.max(FLOOR) / u[l].max(FLOOR)).log2()
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

    pub fn implies(&self, comparison: &str) -> bool {
        self.implied.iter().any(|c| c == comparison)
    }

    pub fn is_unequal(&self, comparison: &str) -> bool {
        self.unequal.iter().any(|c| c == comparison)
    }
}

impl Model {
    /// The weight comparison `k` adds at `level` to a pair of `rule`.
    pub fn weight(&self, rule: usize, k: usize, level: u8) -> f64 {
        let (c, r) = (&self.comparisons[k], &self.rules[rule]);
        if r.leaves_out(&c.name) || r.implies(&c.name) { 0.0 } else { c.weight(level, &r.u[k], r.is_unequal(&c.name)) }
    }

    /// Every weight, looked up per pair instead of worked out again.
    pub fn weight_table(&self) -> WeightTable {
        let levels = self.comparisons.iter().map(|c| c.m.len() + 1).max().unwrap_or(1);
        let mut weights = vec![0.0; self.rules.len() * self.comparisons.len() * levels];
        for r in 0..self.rules.len() {
            for (k, c) in self.comparisons.iter().enumerate() {
                for l in 0..=c.m.len() {
                    weights[(r * self.comparisons.len() + k) * levels + l] = self.weight(r, k, l as u8);
                }
            }
        }
        let equal_u_random = self
            .comparisons
            .iter()
            .map(|c| match (&c.fixed_weights, c.method.equality_index(&c.thresholds)) {
                (None, Some(e)) => Some(c.u_random[e]),
                _ => None,
            })
            .collect();
        let left_out =
            self.rules.iter().map(|r| self.comparisons.iter().map(|c| r.leaves_out(&c.name)).collect()).collect();
        WeightTable {
            comparisons: self.comparisons.len(),
            levels,
            weights,
            equal_u_random,
            left_out,
            tf_center: vec![vec![None; self.comparisons.len()]; self.rules.len()],
        }
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
            let levels = c.level_count() - 1;
            m.name != c.name
                || m.method != c.method
                || m.thresholds != c.thresholds
                || m.levels != c.labels()[1..]
                || m.m.len() != levels
                || m.u_random.len() != levels
                || m.fixed_weights.as_ref().is_some_and(|w| w.len() != levels)
        });
        if let Some((m, _)) = differs {
            return Some(format!("comparison '{}' differs between the model and the stage", m.name));
        }
        let misshapen = self.rules.iter().find(|r| {
            r.u.len() != comparisons.len() || r.u.iter().zip(&self.comparisons).any(|(u, c)| u.len() != c.m.len())
        });
        if let Some(r) = misshapen {
            return Some(format!("rule '{}' has no u for every level of every comparison", r.rule));
        }
        let model_rules: Vec<&str> = self.rules.iter().map(|r| r.rule.as_str()).collect();
        (model_rules != rules.iter().map(String::as_str).collect::<Vec<_>>())
            .then(|| format!("the model's blocking rules [{}] differ from the stage's", model_rules.join("; ")))
    }
}

/// `Model::weight` for every rule, comparison and level.
pub struct WeightTable {
    comparisons: usize,
    levels: usize,
    weights: Vec<f64>,
    /// Per comparison, the random-pair u of its equality level when trained: the
    /// term-frequency adjustment replaces it by the value's own frequency.
    equal_u_random: Vec<Option<f64>>,
    /// Per rule and comparison, whether the rule blocks on the comparison's column.
    left_out: Vec<Vec<bool>>,
    /// Per rule and comparison left out, the mean log2 term frequency of the shared
    /// value among the rule's pairs (see [`WeightTable::center_term_frequencies`]).
    tf_center: Vec<Vec<Option<f64>>>,
}

impl WeightTable {
    /// A rule that blocks on a column leaves its comparison out: every pair agrees
    /// there, and the rule's prior is the share of its pairs that match. That share
    /// is an average over values: two records sharing a rare name are likelier one
    /// customer than two sharing a common one. So a pair's shared value adds
    /// `mean − log2(tf)`, centred on the rule's pairs so that the prior stays their
    /// average. `shared_tf(pair, k)` is the pair's term frequency on comparison k.
    pub fn center_term_frequencies(&mut self, pair_rules: &[u8], shared_tf: impl Fn(usize, usize) -> Option<f64>) {
        // One pass over the pairs: (sum of log2 tf, count) per rule and comparison.
        let mut sums = vec![vec![(0.0, 0usize); self.comparisons]; self.tf_center.len()];
        for (i, &r) in pair_rules.iter().enumerate() {
            let r = r as usize;
            for k in (0..self.comparisons).filter(|&k| self.left_out[r][k]) {
                if let Some(tf) = shared_tf(i, k) {
                    sums[r][k].0 += tf.log2();
                    sums[r][k].1 += 1;
                }
            }
        }
        for (centers, sums) in self.tf_center.iter_mut().zip(sums) {
            for (center, (sum, n)) in centers.iter_mut().zip(sums) {
                *center = (n > 0).then(|| sum / n as f64);
            }
        }
    }

    /// The centred term-frequency weight of a shared value of term frequency `tf`, for
    /// a comparison its rule leaves out.
    pub fn left_out_tf_weight(&self, rule: usize, k: usize, tf: f64) -> f64 {
        self.tf_center[rule][k].map_or(0.0, |center| center - tf.log2())
    }

    pub fn get(&self, rule: usize, k: usize, level: u8) -> f64 {
        self.weights[(rule * self.comparisons + k) * self.levels + level as usize]
    }

    pub fn equal_u_random(&self, k: usize) -> Option<f64> {
        self.equal_u_random[k]
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
    // ChaCha is stable across platforms and rand versions, so a seed gives one model.
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
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

/// Whether comparison `k` is at its equality level in all but a few of rule `r`'s pairs
/// that have both values, over enough pairs to tell: then the rule's keys determine it,
/// and it says no more about a pair than the keys do. A column equal in 90% of pairs
/// shows 100 equal pairs in a row once in 38,000; at 1,000 pairs, an address rule on
/// 20,000 customers (431 pairs) counted the city its address implies twice.
pub fn always_equal(patterns: &[(u8, Vec<u8>, u64)], r: usize, k: usize, equality: Option<u8>) -> bool {
    const ENOUGH_PAIRS: u64 = 100;
    let Some(equality) = equality else { return false };
    let (mut present, mut equal) = (0, 0);
    for (_, pattern, n) in patterns.iter().filter(|(rule, p, _)| *rule as usize == r && p[k] != 0) {
        present += n;
        equal += if pattern[k] == equality { *n } else { 0 };
    }
    present >= ENOUGH_PAIRS && equal as f64 >= 0.999 * present as f64
}

/// Probabilities from expected counts, plus one pseudo-pair per level: a level never
/// seen in a class gets a finite weight, and against thousands of pairs nothing else moves.
fn with_pseudo_counts(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum::<f64>() + counts.len() as f64;
    counts.iter().map(|c| (c + 1.0) / total).collect()
}

/// Pseudo-pairs drawn from the random-pair u into each rule's u: a rule with few
/// non-matches keeps the random-pair values, one with many thousands learns its own.
/// At 100, a rule of mostly matches (a shared phone) fitted its own u to the few
/// matches EM scored low (names with a typo), and then refused them: on 20,000
/// customers of `--noise hard`, recall 0.958–0.965 at 100 and 0.985–0.987 at 1,000.
const U_SHRINK: f64 = 1000.0;

/// Trains m, the rules' priors and their u: first with one u for all rules, then per rule.
///
/// m (what a match looks like) is learned from the rules that find no more pairs than
/// there are records, since only those can be mostly matches. A rule of many times
/// more pairs (names one typo apart in a city) is overwhelmingly non-matches, and its
/// most common kind of non-match would otherwise pass for the match profile: at
/// 1,000,000 customers such a rule found 23 million pairs and EM took "similar name,
/// same city" for a match. Every rule's prior and u are then fitted with m held.
pub fn fit(model: &mut Model, patterns: &[(u8, Vec<u8>, u64)], records: usize, max_iterations: usize) {
    model.training.patterns = patterns.len();
    let narrow: Vec<bool> = model.rules.iter().map(|r| r.pairs <= records.max(1)).collect();
    let shared: Vec<(u8, Vec<u8>, u64)> = if narrow.contains(&true) {
        patterns.iter().filter(|(r, _, _)| narrow[*r as usize]).cloned().collect()
    } else {
        patterns.to_vec()
    };
    expectation_maximisation(model, &shared, Fit::Shared, max_iterations);
    expectation_maximisation(model, patterns, Fit::PerRule, max_iterations);
}

/// What an EM pass estimates besides the rules' priors.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fit {
    /// m, and one u shared by all rules.
    Shared,
    /// Each rule's own u, m kept as it is.
    PerRule,
}

/// Expectation–maximisation over the (rule, levels) patterns: `Shared` settles what a
/// match looks like across all rules, `PerRule` then lets each rule learn how its
/// non-matches differ from random pairs.
fn expectation_maximisation(model: &mut Model, patterns: &[(u8, Vec<u8>, u64)], fit: Fit, max_iterations: usize) {
    const TOLERANCE: f64 = 1e-7;
    let zeros: Vec<Vec<f64>> = model.comparisons.iter().map(|c| vec![0.0; c.levels.len()]).collect();
    let mut converged = false;
    for _ in 0..max_iterations {
        let mut m_sum = zeros.clone();
        let mut u_sum = vec![zeros.clone(); model.rules.len()];
        let mut matched = vec![(0.0, 0.0); model.rules.len()];
        for (rule, pattern, count) in patterns {
            let r = *rule as usize;
            let weight = model.rules[r].prior_weight()
                + pattern.iter().enumerate().map(|(k, &l)| model.weight(r, k, l)).sum::<f64>();
            let n = *count as f64;
            let p = probability(weight) * n;
            matched[r].0 += p;
            matched[r].1 += n;
            let rule = &model.rules[r];
            for (k, &l) in pattern.iter().enumerate() {
                let name = &model.comparisons[k].name;
                if l == 0 || rule.leaves_out(name) {
                    continue;
                }
                // A rule that cannot show equality would bias m away from it.
                if !rule.is_unequal(name) {
                    m_sum[k][l as usize - 1] += p;
                }
                if !rule.implies(name) {
                    u_sum[r][k][l as usize - 1] += n - p;
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
            match fit {
                Fit::Shared => {
                    update(&mut c.m, with_pseudo_counts(&m_sum[k]));
                    let mut pooled = vec![0.0; c.levels.len()];
                    for sums in &u_sum {
                        pooled.iter_mut().zip(&sums[k]).for_each(|(p, s)| *p += s);
                    }
                    let pooled = with_pseudo_counts(&pooled);
                    for rule in model.rules.iter_mut() {
                        update(&mut rule.u[k], pooled.clone());
                    }
                }
                Fit::PerRule => {
                    for (rule, sums) in model.rules.iter_mut().zip(&u_sum) {
                        let total: f64 = sums[k].iter().sum::<f64>() + U_SHRINK;
                        let u = sums[k].iter().zip(&c.u_random).map(|(s, r)| (s + U_SHRINK * r) / total).collect();
                        update(&mut rule.u[k], u);
                    }
                }
            }
        }
        for (rule, (p, n)) in model.rules.iter_mut().zip(matched) {
            if n > 0.0 {
                let prior = (p / n).clamp(FLOOR, 1.0 - FLOOR);
                change = change.max((prior - rule.prior).abs());
                rule.prior = prior;
            }
        }
        model.training.iterations += 1;
        if change < TOLERANCE {
            converged = true;
            break;
        }
    }
    model.training.converged = converged && (fit == Fit::Shared || model.training.converged);
}
