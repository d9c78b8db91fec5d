//! What the sample's ledger comes to as of the sample's date, worked out document by
//! document from what the generator made, apart from tally's stages, so that tests
//! can hold the stages to it: per customer (entity), purchases and their dates, and
//! what is open, overdue and unapplied after receipts are applied (those naming an
//! invoice to it, the rest to the oldest open invoices first); and the documents
//! planted to be rejected, with their reasons.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

use chrono::{Days, NaiveDate};

use super::records::Record;
use super::transactions::{CREDIT_NOTE, Document, FxRate, INVOICE};
use crate::error::{Error, Result};
use crate::values::cents_text;

/// An invoice without a due date is due this many days after it.
pub const DEFAULT_TERMS: u64 = 30;

#[derive(Default)]
struct Invoice {
    entity: usize,
    date: NaiveDate,
    due: NaiveDate,
    /// In its own currency, and in CNY.
    own: i64,
    cents: i64,
    reversed: i64,
    referenced: i64,
}

#[derive(Default)]
pub struct CustomerTruth {
    pub purchases: usize,
    pub purchase_days: std::collections::BTreeSet<NaiveDate>,
    pub open: i64,
    pub overdue: i64,
    pub unapplied: i64,
}

/// A foreign amount in CNY cents at the latest weekly rate on or before its date,
/// rounded half away from zero, as the example's clean stage books it.
fn in_cny(doc: &Document, rates: &[FxRate]) -> i64 {
    if doc.currency == "CNY" {
        return doc.cents;
    }
    let rate = rates.iter().rev().find(|r| r.currency == doc.currency && r.date <= doc.date);
    let per_10000: i64 =
        rate.expect("weekly rates from before the first document").rate.replace('.', "").parse().expect("a rate");
    let scaled = doc.cents as i128 * per_10000 as i128;
    ((scaled + scaled.signum() * 5_000) / 10_000) as i64
}

/// Each entity's truth, from the documents of the ERP `records` dated on or before `as_of`.
pub fn customers(
    docs: &[Document],
    rates: &[FxRate],
    records: &[&Record],
    as_of: NaiveDate,
) -> HashMap<usize, CustomerTruth> {
    let entity: HashMap<&str, usize> = records
        .iter()
        .filter(|r| r.planted.is_none())
        .filter_map(|r| Some((r.customer_id.as_deref()?, r.entity)))
        .collect();
    let kept = docs.iter().filter(|d| d.planted.is_none() && d.date <= as_of);
    let mut invoices: HashMap<&str, Invoice> = HashMap::new();
    for d in kept.clone().filter(|d| d.doc_type == INVOICE) {
        let due = d.due_date.unwrap_or(d.date + Days::new(DEFAULT_TERMS));
        let of = entity[d.customer_id.as_deref().expect("a kept document's customer")];
        let invoice =
            Invoice { entity: of, date: d.date, due, own: d.cents, cents: in_cny(d, rates), ..Default::default() };
        invoices.insert(&d.doc_no, invoice);
    }
    let mut truth: HashMap<usize, CustomerTruth> = HashMap::new();
    let mut pool: HashMap<usize, i64> = HashMap::new();
    // Credit notes and receipts naming an invoice are at its rate (all are in its
    // currency here); the rest at their own date's.
    let at_rate_of = |own: i64, i: &Invoice| {
        let p = i128::from(own) * i128::from(i.cents);
        let q = (p.abs() * 2 + i128::from(i.own)) / (2 * i128::from(i.own));
        (q * p.signum()) as i64
    };
    for d in kept.filter(|d| d.doc_type != INVOICE) {
        let cny = d
            .original_no
            .as_deref()
            .and_then(|n| invoices.get(n))
            .map_or_else(|| in_cny(d, rates), |i| at_rate_of(d.cents, i));
        let of = entity[d.customer_id.as_deref().expect("a kept document's customer")];
        truth.entry(of).or_default();
        match (d.doc_type == CREDIT_NOTE, d.original_no.as_deref().and_then(|n| invoices.get_mut(n))) {
            (true, Some(invoice)) => invoice.reversed += cny,
            (false, Some(invoice)) => invoice.referenced += cny,
            (false, None) => *pool.entry(of).or_default() += cny,
            (true, None) => unreachable!("a kept credit note's invoice is dated before it"),
        }
    }
    // A customer with receipts and no invoice has them all unapplied.
    for (of, received) in &pool {
        truth.entry(*of).or_default().unapplied = *received;
    }
    let mut by_entity: HashMap<usize, Vec<(&str, Invoice)>> = HashMap::new();
    for (no, invoice) in invoices {
        by_entity.entry(invoice.entity).or_default().push((no, invoice));
    }
    for (of, mut items) in by_entity {
        items.sort_by(|(a, x), (b, y)| (x.date, a).cmp(&(y.date, b)));
        let t = truth.entry(of).or_default();
        let mut left = pool.get(&of).copied().unwrap_or(0);
        let mut remaining = Vec::with_capacity(items.len());
        for (_, i) in &items {
            let net = i.cents + i.reversed;
            if net > 0 {
                t.purchases += 1;
                t.purchase_days.insert(i.date);
            }
            let by_reference = i.referenced.min(net);
            left += i.referenced - by_reference;
            remaining.push(net - by_reference);
        }
        for ((_, i), remaining) in items.iter().zip(remaining) {
            let paid = left.clamp(0, remaining);
            left -= paid;
            let open = remaining - paid;
            t.open += open;
            if i.due < as_of {
                t.overdue += open;
            }
        }
        t.unapplied = left;
    }
    truth
}

/// `truth_ledger.csv`: per entity, its purchases and balances; amounts in CNY.
pub fn write_customers(truth: &HashMap<usize, CustomerTruth>, path: &Path) -> Result<usize> {
    let mut out =
        String::from("entity_id,purchases,purchase_days,first_purchase,last_purchase,open,overdue,unapplied\n");
    let mut entities: Vec<_> = truth.keys().copied().collect();
    entities.sort();
    for e in &entities {
        let t = &truth[e];
        let day = |d: Option<&NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let _ = writeln!(
            out,
            "E{e:06},{},{},{},{},{},{},{}",
            t.purchases,
            t.purchase_days.len(),
            day(t.purchase_days.first()),
            day(t.purchase_days.last()),
            cents_text(t.open.into()),
            cents_text(t.overdue.into()),
            cents_text(t.unapplied.into())
        );
    }
    std::fs::write(path, out).map_err(|e| Error::io(path, e))?;
    Ok(entities.len())
}

/// `truth_rejects.csv`: each document planted to be rejected, and why.
pub fn write_rejects(docs: &[Document], path: &Path) -> Result<usize> {
    let mut out = String::from("doc_no,reason\n");
    let planted: Vec<_> = docs.iter().filter_map(|d| Some((&d.doc_no, d.planted?))).collect();
    for (no, reason) in &planted {
        let _ = writeln!(out, "{no},{reason}");
    }
    std::fs::write(path, out).map_err(|e| Error::io(path, e))?;
    Ok(planted.len())
}
