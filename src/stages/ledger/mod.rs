//! `ledger`: sales documents checked as a ledger before anything is counted or aged
//! from them (DOMAIN §5). Each document is given its customer (the golden record its
//! customer id was merged into), its kind, and the invoice it applies to; a red-letter
//! invoice (红字发票) that cannot reverse its original is rejected with its own reason,
//! and the amounts in, accepted and rejected are shown to balance to the cent.
//!
//! One stage checks the ledger so that activity and aging read the same accepted
//! documents, and a bad document is rejected once, not by every stage that reads it.

mod applied;
mod check;
#[cfg(test)]
mod tests;

pub use applied::{applied_cents, by_entry};
use polars::prelude::*;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{BuildContext, Diagnostics, Input, Io, Problem, Stage, StageOutput, require};
use crate::diag::Diagnostic;
use crate::run::RunContext;

/// The columns a ledger reads, as the transactions schema names them.
pub mod columns {
    pub const DOC_NO: &str = "doc_no";
    pub const DOC_TYPE: &str = "doc_type";
    pub const ORIGINAL_NO: &str = "original_no";
    pub const CUSTOMER_ID: &str = "customer_id";
    pub const DOC_DATE: &str = "doc_date";
    pub const DUE_DATE: &str = "due_date";
    pub const AMOUNT: &str = "amount";
    pub const CURRENCY: &str = "currency";
    /// The system a document's customer id belongs to (a source's `system:`).
    pub const SYSTEM: &str = "source_system";
}

/// The columns the ledger adds.
pub const MASTER: &str = "master_id";
pub const KIND: &str = "kind";
/// The invoice a credit note reverses or a receipt pays, when it is one of the
/// customer's accepted invoices; null for an invoice and an unreferenced receipt.
pub const APPLIES_TO: &str = "applies_to";
/// A document's number in the ledger (its row in the ledger's input, from 1), and the
/// entry of the invoice it applies to: the keys activity and aging join on, as whole
/// numbers join several times faster than document numbers.
pub const ENTRY: &str = "entry";
pub const APPLIES_TO_ENTRY: &str = "applies_to_entry";
/// The amount in the base currency, `Decimal(18, 2)`: what activity and aging count.
pub const BASE_AMOUNT: &str = "base_amount";

/// What a document is, whatever its system calls it.
pub const INVOICE: &str = "invoice";
pub const CREDIT_NOTE: &str = "credit_note";
pub const RECEIPT: &str = "receipt";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    pub input: String,
    pub output: Spanned<String>,
    /// A dedup stage's map, `customer_id` (and `source_system`) → `master_id`: a
    /// customer's documents in every system it was entered in count as one customer's.
    /// Without one, each customer id is a customer.
    #[serde(default)]
    pub customer_map: Option<String>,
    /// The amount in the base currency: after a clean's `convert_currency`, its
    /// `amount_cny`. Signed: credit notes negative.
    #[serde(default = "default_amount")]
    pub amount: String,
    /// The amount in the document's own currency, where `amount` was converted. A
    /// credit note or receipt naming an invoice in its own currency is then valued at
    /// the invoice's booked rate: it reverses or settles what the invoice booked, and
    /// the difference in rates is an exchange gain or loss, not a balance left open.
    #[serde(default)]
    pub original_amount: Option<String>,
    /// The `doc_type` values of each kind of document.
    #[serde(default)]
    pub doc_types: DocTypes,
}

fn default_amount() -> String {
    columns::AMOUNT.to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocTypes {
    pub invoice: String,
    pub credit_note: String,
    pub receipt: String,
}

impl Default for DocTypes {
    fn default() -> Self {
        DocTypes { invoice: "蓝字发票".into(), credit_note: "红字发票".into(), receipt: "收款单".into() }
    }
}

pub struct Ledger {
    io: Io,
    config: LedgerConfig,
}

impl LedgerConfig {
    pub fn build(self, cx: &BuildContext) -> Result<Ledger, Vec<Diagnostic>> {
        let mut d = Diagnostics::default();
        let output = d.take(cx.table_name(&self.output));
        let t = &self.doc_types;
        if t.invoice == t.credit_note || t.invoice == t.receipt || t.credit_note == t.receipt {
            d.push(cx.error(None, "ledger: doc_types must name three different document types"));
        }
        let mut inputs = vec![Input::rows(&self.input)];
        inputs.extend(self.customer_map.as_deref().map(Input::lookup));
        d.finish(|| Ledger { io: Io { inputs, output: output.expect("checked") }, config: self })
    }
}

impl Ledger {
    /// Whether documents are keyed to the map by system as well as customer id: when the
    /// map has a system column, the same id in two systems is two records.
    fn keyed_by_system(map: &Schema) -> bool {
        map.contains(columns::SYSTEM)
    }
}

impl Stage for Ledger {
    fn kind(&self) -> &'static str {
        "ledger"
    }

    fn io(&self) -> &Io {
        &self.io
    }

    fn schemas(&self, inputs: &[Schema]) -> Result<Vec<Schema>, Vec<Problem>> {
        use columns::*;
        let amount = self.config.amount.as_str();
        let needed = [DOC_NO, DOC_TYPE, ORIGINAL_NO, CUSTOMER_ID, DOC_DATE, amount];
        let mut problems = require(&inputs[0], needed.map(|c| (c, None)));
        if let Some(original) = &self.config.original_amount {
            problems.extend(require(&inputs[0], [(original.as_str(), None), (CURRENCY, None)]));
        }
        if let Some(map) = inputs.get(1) {
            problems.extend(require(map, [(CUSTOMER_ID, None), (MASTER, None)]));
            if Ledger::keyed_by_system(map) && !inputs[0].contains(SYSTEM) {
                let mut p =
                    Problem::new(None, format!("the customer map is keyed by {SYSTEM}; the documents have none"));
                p.help =
                    Some("set `system:` on the transactions source to the system its customer ids are from".into());
                problems.push(p);
            }
        }
        match inputs[0].get(amount) {
            Some(DataType::Decimal(_, scale)) if *scale <= 2 => {}
            Some(other) => problems.push(Problem::new(
                None,
                format!("'{amount}' is {other}; a ledger needs money as a decimal of at most 2 places"),
            )),
            None => {}
        }
        for date in [DOC_DATE, DUE_DATE] {
            if let Some(t) = inputs[0].get(date).filter(|t| **t != DataType::Date) {
                problems.push(Problem::new(None, format!("'{date}' is {t}; a ledger needs a date")));
            }
        }
        for added in [ENTRY, APPLIES_TO_ENTRY, MASTER, KIND, APPLIES_TO, BASE_AMOUNT] {
            if inputs[0].contains(added) {
                let mut p = Problem::new(None, format!("the documents have a column '{added}', which the ledger adds"));
                p.help = Some("rename it in a select stage before the ledger".into());
                problems.push(p);
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut schema = inputs[0].clone();
        let added = [
            (ENTRY, IDX_DTYPE),
            (MASTER, DataType::String),
            (KIND, DataType::String),
            (APPLIES_TO, DataType::String),
            (APPLIES_TO_ENTRY, IDX_DTYPE),
        ];
        for (name, dtype) in added {
            schema.insert(name.into(), dtype);
        }
        schema.insert(BASE_AMOUNT.into(), DataType::Decimal(crate::values::MONEY_PRECISION, 2));
        Ok(vec![schema])
    }

    fn run(&self, mut inputs: Vec<DataFrame>, _: &RunContext) -> PolarsResult<StageOutput> {
        let map = (inputs.len() > 1).then(|| inputs.remove(1));
        let documents = inputs.remove(0);
        check::run(self, documents, map)
    }
}
