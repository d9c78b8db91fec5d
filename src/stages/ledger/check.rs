//! The ledger's checks. Each document is checked on its own first (its type, its
//! customer, its number, its sign); then each credit note against the invoice it
//! names, and the credit notes of one invoice together, in date order.

use polars::prelude::*;
use serde_json::{Value, json};

use super::columns::*;
use super::{APPLIES_TO, BASE_AMOUNT, CREDIT_NOTE, INVOICE, KIND, Ledger, MASTER, RECEIPT};
use crate::rejects::{self, Origin};
use crate::stages::{Finding, Severity, Stage, StageOutput};
use crate::values::{cents, cents_text, from_cents, scaled};

const ROW: &str = "__ledger_row";
const CENTS: &str = "__cents";
const REASON: &str = "__reason";
/// A document's amount in its own currency, and the currency, where converted.
const OWN: &str = "__own_cents";
const OWN_CURRENCY: &str = "__own_currency";
/// The base amount a referring document is valued at.
const BASE: &str = "__base";

/// Why a document is rejected, in the order the checks run (a document is rejected
/// for the first that holds), with the column the reject names and what it means.
pub const REASONS: [(&str, &str, &str); 10] = [
    ("unknown_doc_type", DOC_TYPE, "not one of the ledger's invoice, credit note and receipt types"),
    ("unknown_customer", CUSTOMER_ID, "the customer is not in the customer map"),
    ("duplicate_document", DOC_NO, "an earlier document has this number"),
    ("missing_amount", AMOUNT, "a document needs an amount"),
    ("wrong_sign", AMOUNT, "invoices and receipts are positive, credit notes negative"),
    ("red_without_original", ORIGINAL_NO, "a credit note must name the invoice it reverses"),
    ("red_original_missing", ORIGINAL_NO, "no accepted invoice has this number"),
    ("red_customer_differs", CUSTOMER_ID, "the invoice it reverses is another customer's"),
    ("red_before_original", DOC_DATE, "dated before the invoice it reverses"),
    (
        "reds_exceed_original",
        AMOUNT,
        "with the invoice's earlier credit notes (in date, then number, order) it reverses more than the invoice; \
         this and the invoice's later credit notes are rejected",
    ),
];

fn text(s: &str) -> Expr {
    lit(s.to_string())
}

fn no_reason() -> Expr {
    lit(NULL).cast(DataType::String)
}

pub fn run(ledger: &Ledger, documents: DataFrame, map: Option<DataFrame>) -> PolarsResult<StageOutput> {
    let config = &ledger.config;
    let input_columns: Vec<String> = documents.get_column_names().iter().map(|c| c.to_string()).collect();
    let amount = config.amount.as_str();
    let input_totals = totals(documents.clone().lazy(), amount)?;
    let t = &config.doc_types;
    let kind = when(col(DOC_TYPE).eq(text(&t.invoice)))
        .then(text(INVOICE))
        .when(col(DOC_TYPE).eq(text(&t.credit_note)))
        .then(text(CREDIT_NOTE))
        .when(col(DOC_TYPE).eq(text(&t.receipt)))
        .then(text(RECEIPT))
        .otherwise(no_reason());
    let documents =
        documents.lazy().with_row_index(ROW, Some(1)).with_columns([kind.alias(KIND), cents(col(amount)).alias(CENTS)]);
    let (own, own_currency) = match &config.original_amount {
        Some(original) => (cents(col(original.as_str())), col(CURRENCY).cast(DataType::String)),
        None => (lit(NULL).cast(DataType::Int64), lit(NULL).cast(DataType::String)),
    };
    let documents = documents.with_columns([own.alias(OWN), own_currency.alias(OWN_CURRENCY)]);
    let documents = with_master(documents, map)?;

    let is = |k: &str| col(KIND).eq(text(k));
    let wrong_sign =
        (is(INVOICE).or(is(RECEIPT)).and(col(CENTS).lt(lit(0)))).or(is(CREDIT_NOTE).and(col(CENTS).gt_eq(lit(0))));
    let own = when(col(KIND).is_null())
        .then(text("unknown_doc_type"))
        .when(col(MASTER).is_null())
        .then(text("unknown_customer"))
        .when(col(DOC_NO).is_first_distinct().not())
        .then(text("duplicate_document"))
        .when(col(CENTS).is_null())
        .then(text("missing_amount"))
        .when(wrong_sign)
        .then(text("wrong_sign"))
        .otherwise(no_reason());
    let documents = documents.with_column(own.alias(REASON)).collect()?;

    let references = references(documents.clone().lazy())?.collect()?;
    let mut args = JoinArgs::new(JoinType::Left);
    args.maintain_order = MaintainOrderJoin::Left;
    let checked = documents
        .lazy()
        .join(references.lazy(), [col(ROW)], [col(ROW)], args)
        .with_columns([
            coalesce(&[col(REASON), col("__reference_reason")]).alias(REASON),
            coalesce(&[col(BASE), col(CENTS)]).alias(CENTS),
        ])
        .collect()?;

    let accepted = checked.clone().lazy().filter(col(REASON).is_null());
    let mut kept: Vec<Expr> = input_columns.iter().map(|c| col(c.as_str())).collect();
    kept.extend([col(MASTER), col(KIND), col(APPLIES_TO), from_cents(col(CENTS)).alias(BASE_AMOUNT)]);
    let accepted = accepted.select(kept).collect()?;
    let rejected = checked.lazy().filter(col(REASON).is_not_null());
    let report = report(input_totals, &accepted, rejected.clone(), config)?;
    let rejects = reject_entries(ledger, rejected, &input_columns)?;

    let mut findings = Vec::new();
    if report["balanced"] != Value::Bool(true) {
        let message = "the documents in do not add up to those accepted and rejected, by count or to the cent";
        findings.push(Finding::new(Severity::Error, "ledger_unbalanced", message));
    }
    Ok(StageOutput {
        tables: vec![accepted],
        rejects: (rejects.height() > 0).then_some(rejects),
        report: Some(report),
        findings,
        ..Default::default()
    })
}

/// The documents with their customer's golden id: through the map, or the customer id
/// itself without one.
fn with_master(documents: LazyFrame, map: Option<DataFrame>) -> PolarsResult<LazyFrame> {
    let Some(map) = map else {
        return Ok(documents.with_column(col(CUSTOMER_ID).cast(DataType::String).alias(MASTER)));
    };
    let mut keys = vec![col(CUSTOMER_ID).cast(DataType::String)];
    if Ledger::keyed_by_system(map.schema()) {
        keys.push(col(SYSTEM).cast(DataType::String));
    }
    let names: Vec<String> = (0..keys.len()).map(|i| format!("__key{i}")).collect();
    let aliased = |keys: &[Expr]| -> Vec<Expr> { keys.iter().zip(&names).map(|(k, n)| k.clone().alias(n)).collect() };
    let mut select = aliased(&keys);
    select.push(col(MASTER).cast(DataType::String));
    // One master per record: a map that repeated a key must not repeat a document.
    let map = map.lazy().select(select).unique_stable(Some(cols(names.clone())), UniqueKeepStrategy::First);
    let mut args = JoinArgs::new(JoinType::Left);
    args.maintain_order = MaintainOrderJoin::Left;
    let on: Vec<Expr> = names.iter().map(|n| col(n.as_str())).collect();
    Ok(documents.with_columns(aliased(&keys)).join(map, on.clone(), on, args).drop(cols(names)))
}

/// Credit notes and receipts that passed their own checks, against the invoices that
/// did: each credit note's reason when it cannot reverse its invoice, and the invoice
/// each accepted credit note and each receipt applies to.
fn references(documents: LazyFrame) -> PolarsResult<LazyFrame> {
    let passed = documents.filter(col(REASON).is_null());
    let invoices = passed.clone().filter(col(KIND).eq(text(INVOICE))).select([
        col(DOC_NO).cast(DataType::String).alias("__invoice"),
        col(MASTER).alias("__invoice_master"),
        col(DOC_DATE).alias("__invoice_date"),
        col(CENTS).alias("__invoice_cents"),
        col(OWN).alias("__invoice_own"),
        col(OWN_CURRENCY).alias("__invoice_currency"),
    ]);
    let referring = passed.filter(col(KIND).eq(text(CREDIT_NOTE)).or(col(KIND).eq(text(RECEIPT)))).select([
        col(ROW),
        col(KIND),
        col(DOC_NO),
        col(ORIGINAL_NO).cast(DataType::String),
        col(MASTER),
        col(DOC_DATE),
        col(CENTS),
        col(OWN),
        col(OWN_CURRENCY),
    ]);
    // Valued at its invoice's booked rate when in the invoice's currency.
    let same_currency = col(OWN_CURRENCY).eq(col("__invoice_currency")).and(col("__invoice_master").eq(col(MASTER)));
    let rebased = when(same_currency)
        .then(scaled(col(OWN), col("__invoice_cents"), col("__invoice_own")))
        .otherwise(lit(NULL).cast(DataType::Int64));
    let linked = referring
        .join(invoices, [col(ORIGINAL_NO)], [col("__invoice")], JoinArgs::new(JoinType::Left))
        .with_column(coalesce(&[rebased, col(CENTS)]).alias(CENTS));
    let red = col(KIND).eq(text(CREDIT_NOTE));
    let own = when(col(ORIGINAL_NO).is_null())
        .then(text("red_without_original"))
        .when(col("__invoice_master").is_null())
        .then(text("red_original_missing"))
        .when(col("__invoice_master").neq(col(MASTER)))
        .then(text("red_customer_differs"))
        .when(col(DOC_DATE).lt(col("__invoice_date")))
        .then(text("red_before_original"))
        .otherwise(no_reason());
    // An invoice's credit notes that passed, in date then number order; from the first
    // that takes their running total past the invoice, every one is rejected.
    let reversed = when(col("__own").is_null()).then(-col(CENTS)).otherwise(lit(0i64));
    let over = reversed.cum_sum(false).gt(col("__invoice_cents")).cast(DataType::Int32).cum_max(false);
    let exceeds = when(col("__own").is_null().and(over.over([col(ORIGINAL_NO)])?.eq(lit(1))))
        .then(text("reds_exceed_original"))
        .otherwise(col("__own"));
    let credit_notes = linked
        .clone()
        .filter(red.clone())
        .with_column(own.alias("__own"))
        .sort([ORIGINAL_NO, DOC_DATE, DOC_NO], SortMultipleOptions::default())
        .with_column(exceeds.alias("__reference_reason"))
        .select([
            col(ROW),
            col("__reference_reason"),
            when(col("__reference_reason").is_null()).then(col(ORIGINAL_NO)).otherwise(no_reason()).alias(APPLIES_TO),
            col(CENTS).alias(BASE),
        ]);
    // A receipt naming no invoice of its customer's is applied as unreferenced.
    let receipts = linked.filter(red.not()).select([
        col(ROW),
        no_reason().alias("__reference_reason"),
        when(col("__invoice_master").eq(col(MASTER))).then(col(ORIGINAL_NO)).otherwise(no_reason()).alias(APPLIES_TO),
        col(CENTS).alias(BASE),
    ]);
    concat([credit_notes, receipts], UnionArgs::default())
}

/// Document count and cents of `amount` per document type.
fn totals(documents: LazyFrame, amount: &str) -> PolarsResult<DataFrame> {
    documents
        .group_by([col(DOC_TYPE).cast(DataType::String).alias("group")])
        .agg([len().cast(DataType::UInt64).alias("documents"), cents(col(amount)).sum().alias("cents")])
        .collect()
}

/// Counts and amounts per document type: in, accepted and rejected, and whether they
/// balance; each total summed from its own table, so a document lost or repeated
/// between them shows.
fn report(
    input: DataFrame,
    accepted: &DataFrame,
    rejected: LazyFrame,
    config: &super::LedgerConfig,
) -> PolarsResult<Value> {
    let (types, amount) = (&config.doc_types, config.amount.as_str());
    let accepted_totals = totals(accepted.clone().lazy(), amount)?;
    let rejected_totals = totals(rejected.clone(), amount)?;
    // What the accepted documents are booked at: credit notes and receipts at their
    // invoice's rate.
    let booked_totals = totals(accepted.clone().lazy(), BASE_AMOUNT)?;
    let lookup = |table: &DataFrame| -> PolarsResult<Vec<(Option<String>, u64, i64)>> {
        let groups = table.column("group")?.str()?;
        let documents = table.column("documents")?.u64()?;
        let cents = table.column("cents")?.i64()?;
        Ok((0..table.height())
            .map(|i| (groups.get(i).map(String::from), documents.get(i).unwrap_or(0), cents.get(i).unwrap_or(0)))
            .collect())
    };
    let (input, accepted_totals, rejected_totals) =
        (lookup(&input)?, lookup(&accepted_totals)?, lookup(&rejected_totals)?);
    let booked_totals = lookup(&booked_totals)?;
    let mut by_type = serde_json::Map::new();
    let mut balanced = true;
    for (group, documents, cents) in &input {
        let find = |rows: &[(Option<String>, u64, i64)]| {
            rows.iter().find(|(g, ..)| g == group).map_or((0, 0), |(_, d, c)| (*d, *c))
        };
        let ((kept, kept_cents), (lost, lost_cents)) = (find(&accepted_totals), find(&rejected_totals));
        let (_, booked) = find(&booked_totals);
        let holds = *documents == kept + lost && *cents == kept_cents + lost_cents;
        balanced &= holds;
        let name = group.clone().unwrap_or_else(|| "(none)".into());
        let kind = [(&types.invoice, INVOICE), (&types.credit_note, CREDIT_NOTE), (&types.receipt, RECEIPT)]
            .into_iter()
            .find(|(t, _)| Some(t.as_str()) == group.as_deref())
            .map(|(_, k)| k);
        by_type.insert(
            name,
            json!({
                "kind": kind,
                "documents": documents, "accepted": kept, "rejected": lost,
                "amount": cents_text((*cents).into()),
                "amount_accepted": cents_text(kept_cents.into()), "amount_rejected": cents_text(lost_cents.into()),
                "base_amount": cents_text(booked.into()), "exchange_difference": cents_text((booked - kept_cents).into()),
                "balanced": holds,
            }),
        );
    }
    let reasons = rejected
        .group_by([col(REASON)])
        .agg([len().cast(DataType::UInt64).alias("n")])
        .sort([REASON], Default::default())
        .collect()?;
    let by_reason: serde_json::Map<String, Value> = reasons
        .column(REASON)?
        .str()?
        .iter()
        .zip(reasons.column("n")?.u64()?.iter())
        .map(|(r, n)| (r.unwrap_or_default().to_string(), json!(n.unwrap_or(0))))
        .collect();
    let receipts = accepted.clone().lazy().filter(col(KIND).eq(text(RECEIPT)));
    let unreferenced = receipts.filter(col(APPLIES_TO).is_null()).select([len()]).collect()?;
    Ok(json!({
        "by_doc_type": by_type,
        "balanced": balanced,
        "rejected_by_reason": by_reason,
        "receipts_unreferenced": unreferenced.column("len")?.idx()?.get(0).unwrap_or(0),
    }))
}

/// The rejected documents as reject entries, each naming the column its reason is
/// about, the document's value there, and what the reason means.
fn reject_entries(ledger: &Ledger, rejected: LazyFrame, input_columns: &[String]) -> PolarsResult<DataFrame> {
    let stage = format!("ledger:{}", ledger.output());
    let schema = rejected.clone().collect_schema()?;
    let origin = Origin::carried(stage, &schema, &ledger.config.input, ROW);
    let record =
        rejects::record(input_columns.iter().filter(|c| !c.starts_with("__")).map(|c| (c.as_str(), col(c.as_str()))));
    let parts: Vec<LazyFrame> = REASONS
        .iter()
        .map(|(reason, column, detail)| {
            let column = if *column == AMOUNT { ledger.config.amount.as_str() } else { column };
            rejected.clone().filter(col(REASON).eq(text(reason))).select(rejects::entry(
                &origin,
                Some(column),
                col(column),
                text(reason),
                text(detail),
                record.clone(),
            ))
        })
        .collect();
    concat(parts, UnionArgs::default())?.collect()
}
