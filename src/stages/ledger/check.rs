//! The ledger's checks. Each document is checked on its own first (its type, its
//! customer, its number, its sign); then each credit note against the invoice it
//! names, and the credit notes of one invoice together, in date order.

use polars::prelude::*;
use rayon::prelude::*;
use serde_json::{Value, json};
use xxhash_rust::xxh3::xxh3_64;

use super::columns::*;
use super::{APPLIES_TO, APPLIES_TO_ENTRY, BASE_AMOUNT, CREDIT_NOTE, ENTRY, INVOICE, KIND, Ledger, MASTER, RECEIPT};
use crate::rejects::{self, Origin};
use crate::stages::{Finding, Severity, Stage, StageOutput};
use crate::values::{cents, cents_text, from_cents, scaled};

const CENTS: &str = "__cents";
const REASON: &str = "__reason";
/// Whether the invoice a document names was found, and is its own customer's.
const FOUND: &str = "__found";
const OWN_INVOICE: &str = "__own_invoice";
/// A document's amount in its own currency, and the currency, where converted.
const OWN: &str = "__own_cents";
const OWN_CURRENCY: &str = "__own_currency";

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

fn null_text() -> Expr {
    lit(NULL).cast(DataType::String)
}

/// A reason as its place in [`REASONS`]: 4 bytes a document, where text would take 16.
fn reason_code(name: &str) -> Expr {
    let code = REASONS.iter().position(|(r, ..)| *r == name).expect("a reason in REASONS");
    lit(code as u32).cast(DataType::UInt32)
}

fn no_reason() -> Expr {
    lit(NULL).cast(DataType::UInt32)
}

pub fn run(ledger: &Ledger, documents: DataFrame, map: Option<DataFrame>) -> PolarsResult<StageOutput> {
    let config = &ledger.config;
    let input_columns: Vec<String> = documents.get_column_names().iter().map(|c| c.to_string()).collect();
    let amount = config.amount.as_str();
    let input_totals = totals(documents.clone().lazy(), &[col(amount)])?;
    let numbers = Numbers::of(&documents)?;
    let documents = own_checks(config, documents, map, &numbers)?.collect()?;
    let linked = link(documents, &numbers)?.collect()?;
    let exceeding = exceeding(&linked)?;
    let over = col(REASON).is_null().and(col(ENTRY).is_in(lit(exceeding).implode(false), false));
    // A receipt naming no invoice of its customer's is applied as unreferenced.
    let refers = col(REASON).is_null().and(is(CREDIT_NOTE).or(is(RECEIPT)));
    let applies = || refers.clone().and(col(OWN_INVOICE));
    let checked = linked
        .lazy()
        .with_column(when(over).then(reason_code("reds_exceed_original")).otherwise(col(REASON)).alias(REASON))
        .with_columns([
            when(applies()).then(col(ORIGINAL_NO).cast(DataType::String)).otherwise(null_text()).alias(APPLIES_TO),
            when(applies()).then(col("__invoice_entry")).otherwise(lit(NULL).cast(IDX_DTYPE)).alias(APPLIES_TO_ENTRY),
        ])
        .collect()?;

    let rejected = checked.clone().lazy().filter(col(REASON).is_not_null()).collect()?;
    let accepted = accepted(checked, &input_columns)?;
    let report = report(input_totals, &accepted, &rejected, config)?;
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

/// The accepted documents, the input's columns and then the ledger's, filtered a
/// column at a time and each freed as it goes: a filter of the whole table held tens of
/// millions of documents twice (the run hands the ledger its input when it is the last
/// to read it, so nothing else holds them).
fn accepted(mut checked: DataFrame, input_columns: &[String]) -> PolarsResult<DataFrame> {
    let base = checked.clone().lazy().select([from_cents(col(CENTS)).alias(BASE_AMOUNT)]).collect()?;
    let keep = checked.column(REASON)?.is_null();
    let added = [ENTRY, MASTER, KIND, APPLIES_TO, APPLIES_TO_ENTRY];
    let mut columns = Vec::with_capacity(input_columns.len() + added.len() + 1);
    for name in input_columns.iter().map(String::as_str).chain(added) {
        columns.push(checked.drop_in_place(name)?.filter(&keep)?);
    }
    drop(checked);
    columns.push(base.column(BASE_AMOUNT)?.filter(&keep)?);
    DataFrame::new(keep.sum().unwrap_or(0) as usize, columns)
}

fn is(kind: &str) -> Expr {
    col(KIND).eq(text(kind))
}

/// Each document with its kind, its customer's golden id, its amount in cents, and
/// the reason it fails a check of its own, if it does.
fn own_checks(
    config: &super::LedgerConfig,
    documents: DataFrame,
    map: Option<DataFrame>,
    numbers: &Numbers,
) -> PolarsResult<LazyFrame> {
    let repeated = if numbers.distinct { lit(false) } else { col(DOC_NO).is_first_distinct().not() };
    let t = &config.doc_types;
    let kind = when(col(DOC_TYPE).eq(text(&t.invoice)))
        .then(text(INVOICE))
        .when(col(DOC_TYPE).eq(text(&t.credit_note)))
        .then(text(CREDIT_NOTE))
        .when(col(DOC_TYPE).eq(text(&t.receipt)))
        .then(text(RECEIPT))
        .otherwise(null_text());
    let amount = col(config.amount.as_str());
    let documents =
        documents.lazy().with_row_index(ENTRY, Some(1)).with_columns([kind.alias(KIND), cents(amount).alias(CENTS)]);
    let (own, own_currency) = match &config.original_amount {
        Some(original) => (cents(col(original.as_str())), col(CURRENCY).cast(DataType::String)),
        None => (lit(NULL).cast(DataType::Int64), lit(NULL).cast(DataType::String)),
    };
    let documents = documents.with_columns([own.alias(OWN), own_currency.alias(OWN_CURRENCY)]);
    let wrong_sign =
        (is(INVOICE).or(is(RECEIPT)).and(col(CENTS).lt(lit(0)))).or(is(CREDIT_NOTE).and(col(CENTS).gt_eq(lit(0))));
    let reason = when(col(KIND).is_null())
        .then(reason_code("unknown_doc_type"))
        .when(col(MASTER).is_null())
        .then(reason_code("unknown_customer"))
        .when(repeated)
        .then(reason_code("duplicate_document"))
        .when(col(CENTS).is_null())
        .then(reason_code("missing_amount"))
        .when(wrong_sign)
        .then(reason_code("wrong_sign"))
        .otherwise(no_reason());
    Ok(with_master(documents, map)?.with_column(reason.alias(REASON)))
}

/// How document numbers are compared: counted and joined as 64-bit hashes, several
/// times faster than as text at tens of millions of rows. Equal numbers hash alike, so
/// when no two documents' hashes are equal their numbers are all distinct, and a number
/// matched by hash is checked against the text; when two are equal (a repeated number,
/// or rarely two numbers of one hash) the numbers are compared as text.
struct Numbers {
    distinct: bool,
}

impl Numbers {
    fn of(documents: &DataFrame) -> PolarsResult<Numbers> {
        let numbers = documents.column(DOC_NO)?;
        let distinct = numbers.null_count() == 0 && hashed(numbers)?.n_unique()? == documents.height();
        Ok(Numbers { distinct })
    }

    /// The key a column of document numbers is joined on.
    fn key(&self, column: &str) -> Expr {
        let text = col(column).cast(DataType::String);
        match self.distinct {
            true => text.map(|c| hashed(&c), |_, f| Ok(Field::new(f.name().clone(), DataType::UInt64))),
            false => text,
        }
    }
}

/// Each value's 64-bit xxh3 hash (null where null), in parallel slices.
fn hashed(column: &Column) -> PolarsResult<Column> {
    let text = column.cast(&DataType::String)?;
    let text = text.str()?;
    let step = text.len().div_ceil(4 * rayon::current_num_threads()).max(1);
    let starts: Vec<usize> = (0..text.len()).step_by(step).collect();
    let pieces: Vec<UInt64Chunked> = starts
        .into_par_iter()
        .map(|start| {
            let piece = text.slice(start as i64, step);
            piece.apply_nonnull_values_generic(DataType::UInt64, |v: &str| xxh3_64(v.as_bytes()))
        })
        .collect();
    let mut out = UInt64Chunked::full_null(column.name().clone(), 0);
    for piece in pieces {
        out.append_owned(piece)?;
    }
    Ok(out.rechunk().into_owned().into_column())
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

/// Each document with the invoice it names, where it is a credit note or receipt that
/// passed its own checks and the invoice passed its: a credit note's reason when it
/// cannot reverse that invoice, and its amount at the invoice's booked rate when in the
/// invoice's currency. A left join on a unique key, in the documents' order, so the
/// documents are not copied.
fn link(documents: DataFrame, numbers: &Numbers) -> PolarsResult<LazyFrame> {
    let passed = || col(REASON).is_null();
    let invoices = documents.clone().lazy().filter(passed().and(is(INVOICE))).select([
        numbers.key(DOC_NO).alias("__invoice"),
        col(DOC_NO).cast(DataType::String).alias("__invoice_no"),
        col(ENTRY).alias("__invoice_entry"),
        col(MASTER).alias("__invoice_master"),
        col(DOC_DATE).alias("__invoice_date"),
        col(CENTS).alias("__invoice_cents"),
        col(OWN).alias("__invoice_own"),
        col(OWN_CURRENCY).alias("__invoice_currency"),
    ]);
    let refers = passed().and(is(CREDIT_NOTE).or(is(RECEIPT)));
    let key = when(refers).then(numbers.key(ORIGINAL_NO)).otherwise(lit(NULL)).alias("__refers");
    let mut args = JoinArgs::new(JoinType::Left);
    args.maintain_order = MaintainOrderJoin::Left;
    // Matched by hash, the invoice is the one named only where the numbers agree.
    let found = col("__invoice_no").eq(col(ORIGINAL_NO).cast(DataType::String)).fill_null(false);
    let linked = documents
        .lazy()
        .with_column(key)
        .join(invoices, [col("__refers")], [col("__invoice")], args)
        .with_column(found.alias(FOUND))
        .with_column(col(FOUND).and(col("__invoice_master").eq(col(MASTER))).fill_null(false).alias(OWN_INVOICE));

    let red = passed().and(is(CREDIT_NOTE));
    let reason = when(red.clone().and(col(ORIGINAL_NO).is_null()))
        .then(reason_code("red_without_original"))
        .when(red.clone().and(col(FOUND).not()))
        .then(reason_code("red_original_missing"))
        .when(red.clone().and(col(OWN_INVOICE).not()))
        .then(reason_code("red_customer_differs"))
        .when(red.and(col(DOC_DATE).lt(col("__invoice_date"))))
        .then(reason_code("red_before_original"))
        .otherwise(col(REASON));
    let same_currency = col(OWN_CURRENCY).eq(col("__invoice_currency")).and(col(OWN_INVOICE));
    let rebased = when(same_currency)
        .then(scaled(col(OWN), col("__invoice_cents"), col("__invoice_own")))
        .otherwise(lit(NULL).cast(DataType::Int64));
    Ok(linked.with_columns([reason.alias(REASON), coalesce(&[rebased, col(CENTS)]).alias(CENTS)]))
}

/// The rows of the credit notes that, with their invoice's earlier ones (in date then
/// number order), reverse more than the invoice: from the first that takes the running
/// total past it, every one.
fn exceeding(linked: &DataFrame) -> PolarsResult<Series> {
    let reversed = -col(CENTS);
    let over = reversed.cum_sum(false).gt(col("__invoice_cents")).cast(DataType::Int32).cum_max(false);
    let rows = linked
        .clone()
        .lazy()
        .filter(col(REASON).is_null().and(is(CREDIT_NOTE)))
        .select([
            col(ENTRY),
            col(ORIGINAL_NO).cast(DataType::String),
            col(DOC_DATE),
            col(DOC_NO),
            col(CENTS),
            col("__invoice_cents"),
        ])
        .sort([ORIGINAL_NO, DOC_DATE, DOC_NO], SortMultipleOptions::default())
        .filter(over.over([col(ORIGINAL_NO)])?.eq(lit(1)))
        .select([col(ENTRY)])
        .collect()?;
    Ok(rows.column(ENTRY)?.as_materialized_series().clone())
}

/// One document type's count, and its sum of each expression a [`totals`] was asked for.
struct Totals {
    group: Option<String>,
    documents: u64,
    sums: Vec<i64>,
}

/// Per document type: the documents, and the sum of each of `sums`, money (decimal,
/// taken in cents) or flags. Decimals are summed as they are, which keeps Polars' fast
/// path and makes no new column the length of the table.
fn totals(documents: LazyFrame, sums: &[Expr]) -> PolarsResult<Vec<Totals>> {
    let names: Vec<String> = (0..sums.len()).map(|i| format!("__sum{i}")).collect();
    let mut aggs = vec![len().cast(DataType::UInt64).alias("documents")];
    aggs.extend(sums.iter().zip(&names).map(|(e, n)| e.clone().sum().alias(n.as_str())));
    let table = documents.group_by([col(DOC_TYPE).cast(DataType::String).alias("group")]).agg(aggs).collect()?;
    let whole = |n: &str| match table.schema().get(n) {
        Some(DataType::Decimal(..)) => cents(col(n)).alias(n),
        _ => col(n).cast(DataType::Int64),
    };
    let table = table.clone().lazy().with_columns(names.iter().map(|n| whole(n)).collect::<Vec<_>>()).collect()?;
    let groups = table.column("group")?.str()?;
    let documents = table.column("documents")?.u64()?;
    let sums: Vec<&Int64Chunked> =
        names.iter().map(|n| table.column(n).and_then(|c| c.i64())).collect::<PolarsResult<_>>()?;
    Ok((0..table.height())
        .map(|i| Totals {
            group: groups.get(i).map(String::from),
            documents: documents.get(i).unwrap_or(0),
            sums: sums.iter().map(|s| s.get(i).unwrap_or(0)).collect(),
        })
        .collect())
}

/// Counts and amounts per document type: in, accepted and rejected, and whether they
/// balance; each total summed from its own table, so a document lost or repeated
/// between them shows.
fn report(
    input: Vec<Totals>,
    accepted: &DataFrame,
    rejected: &DataFrame,
    config: &super::LedgerConfig,
) -> PolarsResult<Value> {
    let (types, amount) = (&config.doc_types, config.amount.as_str());
    // What the accepted documents are booked at (credit notes and receipts at their
    // invoice's rate), and the receipts that name none of their customer's invoices.
    let unreferenced = is(RECEIPT).and(col(APPLIES_TO).is_null());
    let accepted_totals = totals(accepted.clone().lazy(), &[col(amount), col(BASE_AMOUNT), unreferenced])?;
    let rejected_totals = totals(rejected.clone().lazy(), &[col(amount)])?;
    let mut by_type = serde_json::Map::new();
    let mut balanced = true;
    for Totals { group, documents, sums } in &input {
        let find = |rows: &[Totals]| rows.iter().find(|t| &t.group == group).map(|t| (t.documents, t.sums.clone()));
        let (kept, accepted_sums) = find(&accepted_totals).unwrap_or((0, vec![0; 3]));
        let (lost, rejected_sums) = find(&rejected_totals).unwrap_or((0, vec![0]));
        let (kept_cents, booked, lost_cents) = (accepted_sums[0], accepted_sums[1], rejected_sums[0]);
        let holds = *documents == kept + lost && sums[0] == kept_cents + lost_cents;
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
                "amount": cents_text(sums[0].into()),
                "amount_accepted": cents_text(kept_cents.into()), "amount_rejected": cents_text(lost_cents.into()),
                "base_amount": cents_text(booked.into()), "exchange_difference": cents_text((booked - kept_cents).into()),
                "balanced": holds,
            }),
        );
    }
    let reasons = rejected.clone().lazy().group_by([col(REASON)]).agg([len().cast(DataType::UInt64).alias("n")]);
    let reasons = reasons.collect()?;
    let codes = reasons.column(REASON)?.u32()?.iter();
    let counts = codes.zip(reasons.column("n")?.u64()?.iter());
    let mut by_reason: Vec<(&str, u64)> =
        counts.filter_map(|(code, n)| Some((REASONS[code? as usize].0, n.unwrap_or(0)))).collect();
    by_reason.sort();
    let by_reason: serde_json::Map<String, Value> = by_reason.into_iter().map(|(r, n)| (r.into(), json!(n))).collect();
    let unreferenced: i64 = accepted_totals.iter().map(|t| t.sums[2]).sum();
    Ok(json!({
        "by_doc_type": by_type,
        "balanced": balanced,
        "rejected_by_reason": by_reason,
        "receipts_unreferenced": unreferenced,
    }))
}

/// The rejected documents as reject entries, each naming the column its reason is
/// about, the document's value there, and what the reason means.
fn reject_entries(ledger: &Ledger, rejected: DataFrame, input_columns: &[String]) -> PolarsResult<DataFrame> {
    let stage = format!("ledger:{}", ledger.output());
    let schema = rejected.schema().clone();
    let rejected = rejected.lazy();
    let origin = Origin::carried(stage, &schema, &ledger.config.input, ENTRY);
    let record =
        rejects::record(input_columns.iter().filter(|c| !c.starts_with("__")).map(|c| (c.as_str(), col(c.as_str()))));
    let parts: Vec<LazyFrame> = REASONS
        .iter()
        .map(|(reason, column, detail)| {
            let column = if *column == AMOUNT { ledger.config.amount.as_str() } else { column };
            rejected.clone().filter(col(REASON).eq(reason_code(reason))).select(rejects::entry(
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
