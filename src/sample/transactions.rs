//! Transactions of the sample, from the finance system (ERP): invoices (蓝字发票),
//! red-letter credit notes (红字发票) that partly or fully reverse their originals, and
//! receipts (收款单) from customers who pay on time, late or in part, naming the
//! invoice they pay or not; plus weekly FX rates for the foreign-currency ones.
//! A few documents are planted for each reason a load or a ledger must reject.

use chrono::{Days, NaiveDate};
use rand::seq::IndexedRandom;
use rand::{Rng, RngCore};

use super::records::Record;

pub const INVOICE: &str = "蓝字发票";
pub const CREDIT_NOTE: &str = "红字发票";
pub const RECEIPT: &str = "收款单";

pub struct Document {
    pub doc_no: String,
    pub doc_type: &'static str,
    pub original_no: Option<String>,
    pub customer_id: Option<String>,
    pub date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    /// Signed, in the document's currency: credit notes are negative.
    pub cents: i64,
    pub currency: &'static str,
    /// The reason a load or a ledger must reject it, if it was made to be rejected.
    pub planted: Option<&'static str>,
}

impl Document {
    pub fn amount(&self) -> String {
        crate::values::cents_text(self.cents.into())
    }
}

pub struct FxRate {
    pub date: NaiveDate,
    pub currency: &'static str,
    pub rate: String,
}

pub const FIRST_DAY: (i32, u32, u32) = (2023, 1, 1);
const DAYS: u64 = 731;

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).expect("a date")
}

/// How a customer pays: most on time, some late, some only half.
#[derive(Clone, Copy)]
enum Habit {
    OnTime,
    Late,
    Partial,
}

impl Habit {
    fn of(buyer: usize) -> Habit {
        match buyer % 20 {
            0..=11 => Habit::OnTime,
            12..=16 => Habit::Late,
            _ => Habit::Partial,
        }
    }
}

/// `count` invoices spread (unevenly, as real sales are) over the ERP's customers
/// who buy, with their credit notes and receipts.
pub fn documents(rng: &mut impl RngCore, records: &[&Record], count: usize) -> Vec<Document> {
    let buyers: Vec<&Record> = records
        .iter()
        .copied()
        .filter(|r| r.category == "成单客户" && r.planted.is_none() && r.customer_id.is_some())
        .collect();
    if buyers.is_empty() {
        return Vec::new();
    }
    let mut docs = Vec::with_capacity(count * 2);
    for n in 0..count {
        // Squaring a uniform draw skews volume towards the first buyers.
        let pick = ((rng.random::<f64>().powi(2) * buyers.len() as f64) as usize).min(buyers.len() - 1);
        let customer = buyers[pick].customer_id.clone();
        let date = start() + Days::new(rng.random_range(0..DAYS));
        let cents: i64 = (10f64.powf(rng.random_range(5.0..7.7))) as i64;
        let currency = *["CNY"; 18].iter().chain(&["USD", "EUR"]).collect::<Vec<_>>().choose(rng).unwrap();
        let terms = *[30, 60, 90].choose(rng).unwrap();
        let invoice_no = format!("FP{:08}", n + 1);
        let document = |doc_no: String, doc_type, original_no, date, cents| Document {
            doc_no,
            doc_type,
            original_no,
            customer_id: customer.clone(),
            date,
            due_date: None,
            cents,
            currency,
            planted: None,
        };
        let mut invoice = document(invoice_no.clone(), INVOICE, None, date, cents);
        // Some exports leave the due date out.
        invoice.due_date = (!rng.random_bool(0.03)).then(|| date + Days::new(terms));
        let due = date + Days::new(terms);
        docs.push(invoice);
        let mut net = cents;
        if rng.random_bool(0.05) {
            let reversed = if rng.random_bool(0.5) { cents } else { cents / rng.random_range(2..5) };
            net -= reversed;
            let red_date = date + Days::new(rng.random_range(1..60));
            docs.push(document(format!("HZ{:08}", n + 1), CREDIT_NOTE, Some(invoice_no.clone()), red_date, -reversed));
        }
        if net > 0 && !rng.random_bool(0.08) {
            let (paid, on) = match Habit::of(pick) {
                Habit::OnTime => (net, date + Days::new(rng.random_range(1..=terms))),
                Habit::Late => (net, due + Days::new(rng.random_range(1..120))),
                Habit::Partial => (net / 2, date + Days::new(rng.random_range(1..=terms))),
            };
            let named = rng.random_bool(0.85).then(|| invoice_no.clone());
            docs.push(document(format!("SK{:08}", n + 1), RECEIPT, named, on, paid));
        }
    }
    // A few documents a load must reject: a repeated number, a missing customer. Never
    // an invoice, so that nothing else loses the invoice it names.
    for i in (1..docs.len()).step_by(997) {
        if docs[i].doc_type == INVOICE {
            continue;
        }
        if i % 2 == 1 {
            docs[i].doc_no = docs[i - 1].doc_no.clone();
            docs[i].planted = Some("duplicate");
        } else {
            docs[i].customer_id = None;
            docs[i].planted = Some("missing_required");
        }
    }
    plant_ledger_rejects(&mut docs, &buyers);
    docs
}

/// One document for each reason a ledger rejects, against CNY invoices that no other
/// document reverses (so that each reason is the only one that holds).
fn plant_ledger_rejects(docs: &mut Vec<Document>, buyers: &[&Record]) {
    let reversed: std::collections::HashSet<&str> =
        docs.iter().filter(|d| d.doc_type == CREDIT_NOTE).filter_map(|d| d.original_no.as_deref()).collect();
    let last = start() + Days::new(DAYS - 2);
    let clean: Vec<usize> = (0..docs.len())
        .filter(|&i| {
            let d = &docs[i];
            d.doc_type == INVOICE
                && d.currency == "CNY"
                && !reversed.contains(d.doc_no.as_str())
                && d.date > start()
                && d.date < last
        })
        .take(3)
        .collect();
    let [a, b, c] = clean[..] else { return };
    let entity_of = |id: &Option<String>| buyers.iter().find(|r| &r.customer_id == id).map(|r| r.entity);
    let other =
        buyers.iter().find(|r| entity_of(&docs[b].customer_id) != Some(r.entity)).map(|r| r.customer_id.clone());
    let red = |n: usize, of: usize, original: Option<&str>, date: NaiveDate, cents: i64, reason| Document {
        doc_no: format!("HZP{n:07}"),
        doc_type: CREDIT_NOTE,
        original_no: original.map(String::from),
        customer_id: docs[of].customer_id.clone(),
        date,
        due_date: None,
        cents,
        currency: "CNY",
        planted: Some(reason),
    };
    let day_after = |i: usize| docs[i].date + Days::new(1);
    let mut planted = vec![
        red(1, a, None, day_after(a), -100, "red_without_original"),
        red(2, a, Some("FP99999999"), day_after(a), -100, "red_original_missing"),
        red(3, a, Some(&docs[a].doc_no), day_after(a), -(docs[a].cents + 100), "reds_exceed_original"),
        red(4, b, Some(&docs[b].doc_no), day_after(b), -100, "red_customer_differs"),
        red(5, c, Some(&docs[c].doc_no), docs[c].date - Days::new(1), -100, "red_before_original"),
        red(6, c, Some(&docs[c].doc_no), day_after(c), 100, "wrong_sign"),
    ];
    planted[3].customer_id = other.flatten();
    let mut stranger = red(7, a, None, day_after(a), 100_000, "unknown_customer");
    (stranger.doc_no, stranger.doc_type, stranger.customer_id) =
        ("FPP0000001".into(), INVOICE, Some("C9999999".into()));
    stranger.due_date = Some(day_after(a) + Days::new(30));
    planted.push(stranger);
    docs.extend(planted);
}

/// Weekly rates to CNY, a bounded random walk per currency.
pub fn fx_rates(rng: &mut impl RngCore) -> Vec<FxRate> {
    let start = NaiveDate::from_ymd_opt(2022, 12, 26).unwrap();
    let mut rates = Vec::new();
    for (currency, mut rate) in [("USD", 6.95f64), ("EUR", 7.45f64)] {
        for week in 0..106u64 {
            rate = (rate + rng.random_range(-0.04..0.04)).clamp(6.7, 8.1);
            rates.push(FxRate { date: start + Days::new(week * 7), currency, rate: format!("{rate:.4}") });
        }
    }
    rates.sort_by_key(|r| (r.date, r.currency));
    rates
}
