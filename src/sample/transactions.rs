//! Transactions of the sample: invoices (蓝字发票), red-letter credit notes (红字发票)
//! that reference and partly or fully reverse their originals, and payments (收款单);
//! plus weekly FX rates for the foreign-currency ones.

use chrono::{Days, NaiveDate};
use rand::seq::IndexedRandom;
use rand::{Rng, RngCore};

use super::records::Record;

pub struct Document {
    pub doc_no: String,
    pub doc_type: &'static str,
    pub original_no: Option<String>,
    pub customer_id: Option<String>,
    pub date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    /// Signed amount as decimal text: credit notes are negative.
    pub amount: String,
    pub currency: &'static str,
}

pub struct FxRate {
    pub date: NaiveDate,
    pub currency: &'static str,
    pub rate: String,
}

pub const FIRST_DAY: (i32, u32, u32) = (2023, 1, 1);
const DAYS: u64 = 731;

fn cents_text(cents: i64) -> String {
    crate::values::cents_text(cents.into())
}

/// `count` invoices spread (unevenly, as real sales are) over customers who buy.
pub fn documents(rng: &mut impl RngCore, records: &[&Record], count: usize) -> Vec<Document> {
    let buyers: Vec<&str> = records
        .iter()
        .filter(|r| r.category == "成单客户" && r.planted.is_none())
        .filter_map(|r| r.customer_id.as_deref())
        .collect();
    if buyers.is_empty() {
        return Vec::new();
    }
    let start = NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).unwrap();
    let mut docs = Vec::with_capacity(count * 2);
    for n in 0..count {
        // Squaring a uniform draw skews volume towards the first buyers.
        let pick = (rng.random::<f64>().powi(2) * buyers.len() as f64) as usize;
        let customer = buyers[pick.min(buyers.len() - 1)].to_string();
        let date = start + Days::new(rng.random_range(0..DAYS));
        let cents: i64 = (10f64.powf(rng.random_range(5.0..7.7))) as i64;
        let currency = *["CNY"; 18].iter().chain(&["USD", "EUR"]).collect::<Vec<_>>().choose(rng).unwrap();
        let invoice_no = format!("FP{:08}", n + 1);
        docs.push(Document {
            doc_no: invoice_no.clone(),
            doc_type: "蓝字发票",
            original_no: None,
            customer_id: Some(customer.clone()),
            date,
            due_date: Some(date + Days::new(*[30, 60, 90].choose(rng).unwrap())),
            amount: cents_text(cents),
            currency,
        });
        if rng.random_bool(0.05) {
            let reversed = if rng.random_bool(0.5) { cents } else { cents / rng.random_range(2..5) };
            docs.push(Document {
                doc_no: format!("HZ{:08}", n + 1),
                doc_type: "红字发票",
                original_no: Some(invoice_no.clone()),
                customer_id: Some(customer.clone()),
                date: date + Days::new(rng.random_range(1..60)),
                due_date: None,
                amount: cents_text(-reversed),
                currency,
            });
        }
        if rng.random_bool(0.7) {
            let paid = if rng.random_bool(0.8) { cents } else { cents / 2 };
            docs.push(Document {
                doc_no: format!("SK{:08}", n + 1),
                doc_type: "收款单",
                original_no: Some(invoice_no),
                customer_id: Some(customer),
                date: date + Days::new(rng.random_range(5..120)),
                due_date: None,
                amount: cents_text(paid),
                currency,
            });
        }
    }
    // A few documents a schema must reject: a repeated number, a missing customer.
    for i in (1..docs.len()).step_by(997) {
        if i % 2 == 1 {
            docs[i].doc_no = docs[i - 1].doc_no.clone();
        } else {
            docs[i].customer_id = None;
        }
    }
    docs
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
