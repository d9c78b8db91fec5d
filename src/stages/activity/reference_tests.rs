//! Activity against lifetimes 0.11.3, the reference customer-lifetime library: values
//! it computed, committed with the script that made them (`tests/reference/clv/`).

use polars::prelude::*;
use serde_json::Value;

use super::bgnbd::{self, Params, Pattern};
use crate::stages::testing::{Doc, documents, stage};

const HERE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/clv/");

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{HERE}{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A CSV's rows, split into fields, without its header.
fn rows(name: &str) -> Vec<Vec<String>> {
    read(name).lines().skip(1).map(|l| l.split(',').map(String::from).collect()).collect()
}

fn fits() -> Value {
    serde_json::from_str(&read("fits.json")).unwrap()
}

fn params(v: &Value) -> Params {
    let f = |k: &str| v[k].as_f64().unwrap();
    Params { r: f("r"), alpha: f("alpha"), a: f("a"), b: f("b") }
}

fn patterns(name: &str) -> Vec<Pattern> {
    let number = |s: &str| s.parse::<f64>().unwrap();
    rows(name)
        .iter()
        .map(|r| Pattern { x: number(&r[0]) as u32, t_x: number(&r[1]), t: number(&r[2]), customers: 1.0 })
        .collect()
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

fn assert_params(got: &Params, want: &Params, tolerance: f64, what: &str) {
    let pairs = [("r", got.r, want.r), ("alpha", got.alpha, want.alpha), ("a", got.a, want.a), ("b", got.b, want.b)];
    for (name, g, w) in pairs {
        assert!(relative(g, w) <= tolerance, "{what}: {name} is {g}, expected {w} within {tolerance} relative");
    }
}

/// Activity's inputs: the customers, and a ledger of their invoices, each
/// `(customer, date, amount)` and numbered in order.
fn inputs(ids: &[String], invoices: &[(String, String, String)]) -> Vec<DataFrame> {
    let numbers: Vec<String> = (0..invoices.len()).map(|i| format!("FP{i:06}")).collect();
    let docs: Vec<Doc> = invoices
        .iter()
        .zip(&numbers)
        .map(|((who, day, amount), no)| (no.as_str(), "蓝字发票", None, who.as_str(), day.as_str(), amount.as_str()))
        .collect();
    let ledger = stage("ledger", "input: docs\noutput: ledger\n").run(vec![documents(&docs)]).unwrap().tables.remove(0);
    vec![df! { "master_id" => ids }.unwrap(), ledger]
}

/// Made-up purchases, several on some days and some after the as-of date, summarised
/// by activity as lifetimes' `summary_data_from_transaction_data` does with daily
/// periods: row for row, to the cent.
#[test]
fn repeat_purchase_summary_equals_lifetimes() {
    let transactions: Vec<_> =
        rows("transactions.csv").into_iter().map(|t| (t[0].clone(), t[1].clone(), t[2].clone())).collect();
    let ids: Vec<String> = (0..300).map(|c| format!("C{c:03}")).collect();
    let body = "customers: customers\nledger: ledger\noutput: activity\n";
    let table = stage("activity", body).run(inputs(&ids, &transactions)).unwrap().tables.remove(0);

    let expected = rows("summary.csv");
    let ours = |column: &str| -> Vec<Option<f64>> {
        table.column(column).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().iter().collect()
    };
    let [frequency, recency, age, monetary] = ["frequency", "recency", "T", "monetary_value"].map(ours);
    let mut seen = vec![false; ids.len()];
    for want in &expected {
        let i = ids.iter().position(|id| *id == want[0]).unwrap();
        seen[i] = true;
        let want: Vec<f64> = want[1..].iter().map(|v| v.parse().unwrap()).collect();
        let got =
            [frequency[i], recency[i], age[i], monetary[i]].map(|v| v.unwrap_or_else(|| panic!("{} has none", ids[i])));
        assert_eq!(got[..3], want[..3], "{}: frequency, recency, T", ids[i]);
        assert!((got[3] - want[3]).abs() < 5e-6, "{}: monetary value {} against {}", ids[i], got[3], want[3]);
    }
    assert!(expected.len() > 250, "the reference summarises most customers");
    // Those whose purchases all came after the as-of date have no summary in either.
    for (i, seen) in seen.iter().enumerate() {
        assert!(*seen || frequency[i].is_none(), "{} has a summary lifetimes has not", ids[i]);
    }
}

/// The data of Fader, Hardie & Lee (2005): the paper's estimates, to its 3 decimals,
/// and lifetimes' to 1e-3 relative.
#[test]
fn bgnbd_fit_on_cdnow_agrees_with_the_paper_and_lifetimes() {
    let fit = bgnbd::fit(&patterns("cdnow.csv")).unwrap();
    assert!(fit.converged);
    let paper = Params { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    let got = fit.params;
    for (g, w) in [(got.r, paper.r), (got.alpha, paper.alpha), (got.a, paper.a), (got.b, paper.b)] {
        assert!((g - w).abs() <= 0.0005 + 1e-9, "{got:?} against the paper's {paper:?}");
    }
    assert!((fit.log_likelihood - -9582.4).abs() < 0.05, "log-likelihood {}", fit.log_likelihood);
    let lifetimes = &fits()["cdnow"];
    assert_params(&got, &params(lifetimes), 1e-3, "cdnow against lifetimes");
}

/// Customers simulated from known parameters: the fit finds them within 10%, agrees
/// with lifetimes' fit of the same data to 1e-3 relative, and so do P(alive) and the
/// expected purchases in 90 days, customer by customer.
#[test]
fn bgnbd_recovers_simulated_parameters_and_agrees_with_lifetimes() {
    let data = patterns("simulated.csv");
    let fit = bgnbd::fit(&data).unwrap();
    assert!(fit.converged);
    let reference = fits();
    assert_params(&fit.params, &params(&reference["true"]), 0.10, "simulated against the true parameters");
    let lifetimes = params(&reference["simulated"]);
    assert_params(&fit.params, &lifetimes, 1e-3, "simulated against lifetimes");
    let ll = reference["simulated"]["log_likelihood"].as_f64().unwrap();
    assert!(relative(fit.log_likelihood, ll) < 1e-6, "log-likelihood {} against {ll}", fit.log_likelihood);
    // Under the same parameters, the predictions match to rounding.
    for (c, row) in data.iter().zip(rows("simulated.csv")) {
        let want_alive: f64 = row[3].parse().unwrap();
        let want_expected: f64 = row[4].parse().unwrap();
        let alive = bgnbd::p_alive(&lifetimes, c.x, c.t_x, c.t);
        let expected = bgnbd::expected_purchases(&lifetimes, c.x, c.t_x, c.t, 90.0);
        assert!(relative(alive, want_alive) < 1e-9, "{c:?}: p_alive {alive} against {want_alive}");
        assert!(relative(expected, want_expected) < 1e-9, "{c:?}: expected {expected} against {want_expected}");
    }
}

/// The stage adds P(alive) and expected purchases to every buyer and leaves prospects
/// empty; with too few repeat customers it says so instead of fitting.
#[test]
fn bgnbd_in_the_stage() {
    let data = patterns("simulated.csv");
    // Each simulated customer as a ledger: a first invoice, then x more on distinct days.
    let mut docs = Vec::new();
    for (i, c) in data.iter().enumerate().take(2000) {
        let first = 1000 - c.t.round() as i64;
        let last = first + c.t_x.round() as i64;
        let days: Vec<i64> = match c.x {
            0 => vec![first],
            x => (0..=x as i64).map(|k| first + (last - first) * k / x as i64).collect(),
        };
        docs.extend(days.iter().map(|day| (format!("M{i}"), date(*day), "10.00".to_string())));
    }
    let ids: Vec<String> = (0..2001).map(|i| format!("M{i}")).collect();
    let both = inputs(&ids, &docs);
    let body = "customers: customers\nledger: ledger\noutput: activity\nbgnbd: { horizon: 30d }\n";
    let out = stage("activity", body).run(both.clone()).unwrap();
    let report = out.report.unwrap();
    assert_eq!(report["bgnbd"]["converged"], true, "{report}");
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    assert_eq!(report["bgnbd"]["customers"], 2000);
    let table = &out.tables[0];
    let alive = table.column("p_alive").unwrap().f64().unwrap();
    let expected = table.column("expected_purchases_30d").unwrap().f64().unwrap();
    assert_eq!((alive.null_count(), expected.null_count()), (1, 1), "only the prospect M2000 has none");
    assert!(alive.iter().flatten().all(|p| (0.0..=1.0).contains(&p)));
    assert!(expected.iter().flatten().all(|e| e >= 0.0));

    let strict = "customers: customers\nledger: ledger\noutput: activity\nbgnbd: { min_repeat_customers: 100000 }\n";
    let out = stage("activity", strict).run(both).unwrap();
    assert!(out.findings.iter().any(|f| f.code == "bgnbd_not_fitted"));
    assert_eq!(out.tables[0].column("p_alive").unwrap().null_count(), 2001);
}

/// Customers who all keep buying every month to the end show no drop-out: the fit
/// runs to the edge of the parameter space, and the stage says so.
#[test]
fn bgnbd_warns_when_no_one_drops_out() {
    let mut docs = Vec::new();
    for c in 0..200 {
        for k in 0..(5 + c % 20) {
            docs.push((format!("M{c}"), date(1000 - 30 * k as i64 - c as i64 % 7), "10.00".to_string()));
        }
    }
    let ids: Vec<String> = (0..200).map(|i| format!("M{i}")).collect();
    let body = "customers: customers\nledger: ledger\noutput: activity\nbgnbd: {}\n";
    let out = stage("activity", body).run(inputs(&ids, &docs)).unwrap();
    let codes: Vec<&str> = out.findings.iter().map(|f| f.code.as_str()).filter(|c| c.starts_with("bgnbd")).collect();
    assert_eq!(codes, ["bgnbd_degenerate"], "{:?}", out.findings);
}

/// Day `n` counted back from the as-of date's 1000th day: 1000 is 2024-12-31.
fn date(n: i64) -> String {
    let as_of = chrono::NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
    (as_of - chrono::Duration::days(1000 - n)).to_string()
}
