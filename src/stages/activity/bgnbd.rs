//! BG/NBD (Fader, Hardie & Lee 2005; DOMAIN §7): while alive, a customer buys as a
//! Poisson process whose rate is gamma(r, α) across customers, and after each repeat
//! purchase drops out for good with a probability that is beta(a, b) across customers.
//!
//! The fit maximises the likelihood of the repeat-purchase summary (x repeat purchases,
//! the last at t_x, first purchase T ago), as lifetimes' `BetaGeoFitter` does: the same
//! log-likelihood, summed in log space; log-parameters started at 0.1; time rescaled so
//! that the oldest customer's age is 1; BFGS. The gradient is exact: x is a whole
//! number, so the gamma-function ratios are finite sums.

use argmin::core::{CostFunction, Error, Executor, Gradient, State, TerminationReason};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::neldermead::NelderMead;
use argmin::solver::quasinewton::BFGS;
use rayon::prelude::*;

/// Customers who share a summary, counted once: x repeat purchases, the last at `t_x`,
/// the first `t` ago.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pattern {
    pub x: u32,
    pub t_x: f64,
    pub t: f64,
    pub customers: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

#[derive(Debug)]
pub struct Fit {
    pub params: Params,
    /// Summed over customers, in the data's own time unit.
    pub log_likelihood: f64,
    pub iterations: u64,
    pub converged: bool,
}

const MAX_ITERATIONS: u64 = 500;

/// The maximum-likelihood parameters, or why the optimizer failed.
pub fn fit(patterns: &[Pattern]) -> Result<Fit, String> {
    let oldest = patterns.iter().map(|p| p.t).fold(0.0, f64::max);
    if oldest <= 0.0 {
        return Err("every customer bought for the first time today".into());
    }
    let scale = 1.0 / oldest;
    let scaled: Vec<Pattern> = patterns.iter().map(|p| Pattern { t_x: p.t_x * scale, t: p.t * scale, ..*p }).collect();
    let likelihood = Likelihood { patterns: &scaled, customers: patterns.iter().map(|p| p.customers).sum() };
    // Where BFGS fails (its curvature estimate can stop pointing downhill on a flat
    // likelihood, at the edge of the parameter space), Nelder–Mead, which needs no
    // gradient, is tried from the same start.
    let (best, iterations, converged) = match quasi_newton(likelihood) {
        Ok(found) if found.2 => found,
        bfgs => match (simplex(likelihood), bfgs) {
            (Ok(found), _) => found,
            (Err(_), Ok(found)) => found,
            (Err(e), Err(_)) => return Err(e),
        },
    };
    let [r, alpha, a, b] = [0, 1, 2, 3].map(|i| best[i].exp());
    let params = Params { r, alpha: alpha / scale, a, b };
    let converged = converged && [params.r, params.alpha, params.a, params.b].iter().all(|v| v.is_finite() && *v > 0.0);
    Ok(Fit { params, log_likelihood: log_likelihood(&params, patterns), iterations, converged })
}

/// The best log-parameters, the iterations and whether the solver converged.
type Found = (Vec<f64>, u64, bool);

const START: f64 = 0.1;

fn quasi_newton(likelihood: Likelihood) -> Result<Found, String> {
    let solver = BFGS::new(MoreThuenteLineSearch::new()).with_tolerance_cost(1e-12).map_err(|e| e.to_string())?;
    let identity = (0..4).map(|i| (0..4).map(|j| f64::from(u8::from(i == j))).collect()).collect::<Vec<Vec<f64>>>();
    let result = Executor::new(likelihood, solver)
        .configure(|state| state.param(vec![START; 4]).inv_hessian(identity).max_iters(MAX_ITERATIONS))
        .run()
        .map_err(|e| e.to_string())?;
    found(result.state())
}

fn simplex(likelihood: Likelihood) -> Result<Found, String> {
    let corners = (0..5).map(|k| (0..4).map(|i| START + if i + 1 == k { 1.0 } else { 0.0 }).collect()).collect();
    let solver = NelderMead::new(corners).with_sd_tolerance(1e-12).map_err(|e| e.to_string())?;
    let result = Executor::new(likelihood, solver)
        .configure(|state| state.max_iters(20 * MAX_ITERATIONS))
        .run()
        .map_err(|e| e.to_string())?;
    found(result.state())
}

fn found<S: State<Param = Vec<f64>>>(state: &S) -> Result<Found, String> {
    let best = state.get_best_param().ok_or("the optimizer returned no parameters")?.clone();
    let converged = state.get_termination_reason() == Some(&TerminationReason::SolverConverged);
    Ok((best, state.get_iter(), converged))
}

/// The log-likelihood of the patterns under the parameters, summed over customers.
pub fn log_likelihood(p: &Params, patterns: &[Pattern]) -> f64 {
    let by_x = ByX::new(p, max_x(patterns));
    patterns.iter().map(|c| c.customers * term(p, &by_x, c).0).sum()
}

/// The probability that a customer with this summary has not dropped out.
pub fn p_alive(p: &Params, x: u32, t_x: f64, t: f64) -> f64 {
    if x == 0 {
        return 1.0;
    }
    let x = f64::from(x);
    let log_odds = (p.a / (p.b + x - 1.0)).ln() + (p.r + x) * ((p.alpha + t) / (p.alpha + t_x)).ln();
    1.0 / (1.0 + log_odds.exp())
}

/// Expected repeat purchases in the next `horizon` (FHL 2005, equation 10).
pub fn expected_purchases(p: &Params, x: u32, t_x: f64, t: f64, horizon: f64) -> f64 {
    let xf = f64::from(x);
    let (ha, hb, hc) = (p.r + xf, p.b + xf, p.a + p.b + xf - 1.0);
    let z = horizon / (p.alpha + t + horizon);
    // Euler's transformation keeps the series' terms small when x is large.
    let log_hyp = (hc - ha - hb) * (1.0 - z).ln() + hyp2f1(hc - ha, hc - hb, hc, z).ln();
    let gone = (log_hyp + ha * ((p.alpha + t) / (p.alpha + t + horizon)).ln()).exp();
    hc / (p.a - 1.0) * (1.0 - gone) * p_alive(p, x, t_x, t)
}

/// The Gauss hypergeometric series ₂F₁(a, b; c; z), 0 ≤ z < 1; NaN where it has not
/// converged after many terms.
fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let (mut term, mut sum) = (1.0, 1.0);
    for n in 0..200_000 {
        let n = f64::from(n);
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() <= 1e-16 * sum.abs() {
            return sum;
        }
    }
    f64::NAN
}

fn max_x(patterns: &[Pattern]) -> u32 {
    patterns.iter().map(|c| c.x).max().unwrap_or(0)
}

/// The parts of the log-likelihood that depend on x alone, and their derivatives:
/// ln Γ(r+x)/Γ(r) + r ln α + ln [Γ(a+b) Γ(b+x)] / [Γ(b) Γ(a+b+x)], which, x being whole,
/// are sums of logarithms, and their derivatives sums of reciprocals.
struct ByX {
    value: Vec<f64>,
    /// By r, a and b.
    slope: Vec<[f64; 3]>,
}

impl ByX {
    fn new(p: &Params, max_x: u32) -> ByX {
        let (mut value, mut slope) = (Vec::new(), Vec::new());
        let (mut v, mut s) = (p.r * p.alpha.ln(), [p.alpha.ln(), 0.0, 0.0]);
        for k in 0..=max_x {
            value.push(v);
            slope.push(s);
            let k = f64::from(k);
            v += (p.r + k).ln() + (p.b + k).ln() - (p.a + p.b + k).ln();
            s[0] += 1.0 / (p.r + k);
            s[1] -= 1.0 / (p.a + p.b + k);
            s[2] += 1.0 / (p.b + k) - 1.0 / (p.a + p.b + k);
        }
        ByX { value, slope }
    }
}

/// One pattern's log-likelihood and its gradient by the log-parameters.
fn term(p: &Params, by_x: &ByX, c: &Pattern) -> (f64, [f64; 4]) {
    let x = f64::from(c.x);
    let (log_t, log_tx) = ((p.alpha + c.t).ln(), (p.alpha + c.t_x).ln());
    // Alive at T, or dropped out right after the last purchase.
    let stays = -(p.r + x) * log_t;
    let drops = if c.x > 0 { (p.a / (p.b + x - 1.0)).ln() - (p.r + x) * log_tx } else { f64::NEG_INFINITY };
    let top = stays.max(drops);
    let total = top + ((stays - top).exp() + (drops - top).exp()).ln();
    let (w_stays, w_drops) = ((stays - total).exp(), (drops - total).exp());
    let [sr, sa, sb] = by_x.slope[c.x as usize];
    let by_r = sr - w_stays * log_t - w_drops * log_tx;
    let by_alpha = p.r / p.alpha - (p.r + x) * (w_stays / (p.alpha + c.t) + w_drops / (p.alpha + c.t_x));
    let by_a = sa + w_drops / p.a;
    let by_b = sb - if c.x > 0 { w_drops / (p.b + x - 1.0) } else { 0.0 };
    (by_x.value[c.x as usize] + total, [p.r * by_r, p.alpha * by_alpha, p.a * by_a, p.b * by_b])
}

/// The mean negative log-likelihood, as a function of the log-parameters.
#[derive(Clone, Copy)]
struct Likelihood<'a> {
    patterns: &'a [Pattern],
    customers: f64,
}

impl Likelihood<'_> {
    fn evaluate(&self, log_params: &[f64]) -> (f64, Vec<f64>) {
        let [r, alpha, a, b] = [0, 1, 2, 3].map(|i| log_params[i].exp());
        let p = Params { r, alpha, a, b };
        let by_x = ByX::new(&p, max_x(self.patterns));
        let add = |(v1, g1): (f64, [f64; 4]), (v2, g2): (f64, [f64; 4])| (v1 + v2, [0, 1, 2, 3].map(|i| g1[i] + g2[i]));
        // Summed in fixed chunks, then in order, so that a fit does not depend on how
        // threads were scheduled.
        let chunks: Vec<(f64, [f64; 4])> = self
            .patterns
            .par_chunks(4096)
            .map(|chunk| {
                chunk.iter().fold((0.0, [0.0; 4]), |sum, c| {
                    let (v, g) = term(&p, &by_x, c);
                    add(sum, (c.customers * v, g.map(|g| c.customers * g)))
                })
            })
            .collect();
        let (value, slope) = chunks.into_iter().fold((0.0, [0.0; 4]), add);
        (-value / self.customers, slope.iter().map(|g| -g / self.customers).collect())
    }
}

impl CostFunction for Likelihood<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, log_params: &Self::Param) -> Result<f64, Error> {
        // Infinite where it cannot be computed, so that no solver steps there.
        Ok(Some(self.evaluate(log_params).0).filter(|v| v.is_finite()).unwrap_or(f64::INFINITY))
    }
}

impl Gradient for Likelihood<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, log_params: &Self::Param) -> Result<Vec<f64>, Error> {
        Ok(self.evaluate(log_params).1)
    }
}
