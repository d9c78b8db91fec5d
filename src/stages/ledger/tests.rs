//! The ledger on a hand-made set of documents: one planted for every reject reason,
//! credit notes that add up past their invoice, receipts that name an invoice of
//! their own customer, of another, or none.

use polars::prelude::*;

use crate::stages::testing::{documents, stage, try_stage};

const INV: &str = "蓝字发票";
const RED: &str = "红字发票";
const PAY: &str = "收款单";

fn fixture() -> DataFrame {
    documents(&[
        ("FP1", INV, None, "C1", "2024-01-10", "1000.00"),
        ("FP2", INV, None, "C2", "2024-01-05", "200.00"),
        ("HZ1", RED, Some("FP1"), "C1", "2024-01-20", "-300.00"),
        ("HZ9", RED, Some("FP1"), "C1b", "2024-01-25", "-100.00"), // C1b is C1's other record
        ("HZ2", RED, Some("FP1"), "C1", "2024-02-01", "-800.00"),  // 1,200 of 1,000 reversed
        ("HZ3", RED, Some("FP1"), "C1", "2024-03-01", "-100.00"),  // after the one that went past
        ("HZ4", RED, None, "C1", "2024-01-20", "-1.00"),
        ("HZ5", RED, Some("FP9"), "C1", "2024-01-20", "-1.00"),
        ("HZ6", RED, Some("FP2"), "C1", "2024-01-20", "-1.00"),
        ("HZ7", RED, Some("FP2"), "C2", "2024-01-01", "-1.00"),
        ("HZ8", RED, Some("FP2"), "C2", "2024-01-20", "50.00"),
        ("FP1", INV, None, "C2", "2024-01-11", "10.00"),
        ("FP3", INV, None, "C9", "2024-01-12", "70.00"),
        ("XS1", "销售订单", None, "C1", "2024-01-12", "5.00"),
        ("SK1", PAY, Some("FP1"), "C1", "2024-02-10", "500.00"),
        ("SK2", PAY, Some("FP2"), "C1", "2024-02-10", "100.00"),
        ("SK3", PAY, None, "C2", "2024-02-10", "30.00"),
        ("SK4", PAY, Some("FP2"), "C2", "2024-02-11", "-30.00"),
    ])
}

fn map() -> DataFrame {
    df! { "customer_id" => ["C1", "C1b", "C2"], "master_id" => ["M1", "M1", "M2"], "size" => [2u32, 2, 1] }.unwrap()
}

fn strings(table: &DataFrame, column: &str) -> Vec<Option<String>> {
    let c = table.column(column).unwrap().cast(&DataType::String).unwrap();
    c.str().unwrap().iter().map(|v| v.map(String::from)).collect()
}

fn run(documents: DataFrame, map: Option<DataFrame>) -> crate::stages::StageOutput {
    let body = match map {
        Some(_) => "input: docs\noutput: ledger\ncustomer_map: golden_map\n",
        None => "input: docs\noutput: ledger\n",
    };
    let inputs = std::iter::once(documents).chain(map).collect();
    stage("ledger", body).run(inputs).unwrap()
}

/// The reasons the rejects give for document `doc` (every doc_no here is 3 characters).
fn reasons(rejects: &DataFrame, doc: &str) -> Vec<String> {
    let records = strings(rejects, "record").into_iter().map(Option::unwrap);
    let of_doc = records.zip(strings(rejects, "reason")).filter(|(record, _)| &record[7..10] == doc);
    of_doc.map(|(_, reason)| reason.unwrap()).collect()
}

#[test]
fn every_reject_reason_and_what_each_accepted_document_applies_to() {
    let out = run(fixture(), Some(map()));
    let ledger = &out.tables[0];
    let rejects = out.rejects.as_ref().unwrap();
    let reason = |doc: &str| reasons(rejects, doc);
    assert_eq!(reason("HZ2"), ["reds_exceed_original"]);
    assert_eq!(reason("HZ3"), ["reds_exceed_original"]);
    assert_eq!(reason("HZ4"), ["red_without_original"]);
    assert_eq!(reason("HZ5"), ["red_original_missing"]);
    assert_eq!(reason("HZ6"), ["red_customer_differs"]);
    assert_eq!(reason("HZ7"), ["red_before_original"]);
    assert_eq!(reason("HZ8"), ["wrong_sign"]);
    assert_eq!(reason("SK4"), ["wrong_sign"]);
    assert_eq!(reason("FP1"), ["duplicate_document"], "the second FP1, not the first");
    assert_eq!(reason("FP3"), ["unknown_customer"]);
    assert_eq!(reason("XS1"), ["unknown_doc_type"]);
    assert_eq!(rejects.height(), 11);

    let accepted: Vec<_> = strings(ledger, "doc_no").into_iter().map(Option::unwrap).collect();
    assert_eq!(accepted, ["FP1", "FP2", "HZ1", "HZ9", "SK1", "SK2", "SK3"], "input order kept");
    let applies: Vec<_> = strings(ledger, "applies_to");
    let s = |v: &str| Some(v.to_string());
    assert_eq!(applies, [None, None, s("FP1"), s("FP1"), s("FP1"), None, None], "SK2 names C2's invoice");
    // Entries are the documents' rows in the input; FP1 is the first.
    let numbers = |c: &str| strings(ledger, c).into_iter().map(|v| v.map(|v| v.parse::<u32>().unwrap())).collect();
    let entries: Vec<Option<u32>> = numbers("entry");
    assert_eq!(entries, [1, 2, 3, 4, 15, 16, 17].map(Some));
    let applies: Vec<Option<u32>> = numbers("applies_to_entry");
    assert_eq!(applies, [None, None, Some(1), Some(1), Some(1), None, None]);
    assert_eq!(strings(ledger, "master_id"), [s("M1"), s("M2"), s("M1"), s("M1"), s("M1"), s("M1"), s("M2")]);
    assert_eq!(strings(ledger, "kind")[..3], [s("invoice"), s("invoice"), s("credit_note")]);

    // The reject names the column its reason is about and the value there.
    let hz5 = rejects.clone().lazy().filter(col("reason").eq(lit("red_original_missing"))).collect().unwrap();
    assert_eq!((strings(&hz5, "column"), strings(&hz5, "value")), (vec![s("original_no")], vec![s("FP9")]));
    assert_eq!(strings(&hz5, "row"), [s("8")], "its row in the input");
}

/// Without a repeated number the ledger joins numbers by hash (with a repeated one, as
/// text): the same documents are rejected for the same reasons, and the others apply
/// to the same invoices.
#[test]
fn numbers_joined_by_hash_link_as_numbers_joined_as_text() {
    let linked = |out: &crate::stages::StageOutput| {
        let rejects = out.rejects.as_ref().unwrap();
        let docs = ["HZ1", "HZ2", "HZ3", "HZ4", "HZ5", "HZ6", "HZ7", "HZ9", "SK1", "SK2"];
        let rejected: Vec<Vec<String>> = docs.iter().map(|d| reasons(rejects, d)).collect();
        let ledger = &out.tables[0];
        (rejected, strings(ledger, "doc_no"), strings(ledger, "applies_to"))
    };
    let as_text = linked(&run(fixture(), Some(map())));
    let unrepeated = fixture().lazy().filter(col("doc_no").is_first_distinct()).collect().unwrap();
    assert_eq!(linked(&run(unrepeated, Some(map()))), as_text);
}

#[test]
fn amounts_in_balance_accepted_and_rejected_to_the_cent() {
    let out = run(fixture(), Some(map()));
    let report = out.report.unwrap();
    assert_eq!(report["balanced"], true);
    let invoices = &report["by_doc_type"][INV];
    assert_eq!(invoices["documents"], 4);
    assert_eq!(
        (&invoices["amount"], &invoices["amount_accepted"], &invoices["amount_rejected"]),
        (&"1280.00".into(), &"1200.00".into(), &"80.00".into())
    );
    let reds = &report["by_doc_type"][RED];
    assert_eq!((&reds["amount_accepted"], &reds["amount_rejected"]), (&"-400.00".into(), &"-854.00".into()));
    assert_eq!(report["rejected_by_reason"]["reds_exceed_original"], 2);
    assert_eq!(report["receipts_unreferenced"], 2);
    assert!(out.findings.is_empty());
}

#[test]
fn without_a_map_each_customer_id_is_a_customer() {
    let out = run(fixture(), None);
    let rejects = out.rejects.unwrap();
    // C1b is now a customer of its own, not FP1's; C9 is a customer too.
    assert_eq!(reasons(&rejects, "HZ9"), ["red_customer_differs"]);
    assert_eq!(reasons(&rejects, "FP3"), Vec::<String>::new());
}

#[test]
fn a_map_keyed_by_system_needs_the_documents_system() {
    let ledger = stage("ledger", "input: docs\noutput: ledger\ncustomer_map: golden_map\n");
    let docs = fixture().schema().as_ref().clone();
    let mut map = map().schema().as_ref().clone();
    map.insert("source_system".into(), DataType::String);
    let problems = ledger.0.schemas(&[docs.clone(), map]).unwrap_err();
    assert!(problems[0].message.contains("source_system"), "{:?}", problems[0]);

    let mut text = docs;
    text.insert("amount".into(), DataType::String);
    let problems = ledger.0.schemas(&[text]).unwrap_err();
    assert!(problems[0].message.contains("decimal"), "{:?}", problems[0]);
}

#[test]
fn doc_types_must_differ() {
    let err =
        try_stage("ledger", "input: d\noutput: l\ndoc_types: { invoice: 发票, credit_note: 发票, receipt: 收款 }\n")
            .err()
            .unwrap();
    assert!(crate::diag::render(&err).contains("three different"));
}

/// A credit note and a receipt in their invoice's currency are valued at its booked
/// rate: a full reversal dated when the dollar was dearer still reverses exactly what
/// the invoice booked, and is no excess.
#[test]
fn documents_in_their_invoices_currency_are_at_its_rate() {
    let docs = documents(&[
        ("FP1", INV, None, "C1", "2024-01-10", "100.00"),
        ("HZ1", RED, Some("FP1"), "C1", "2024-02-10", "-100.00"),
        ("FP2", INV, None, "C1", "2024-01-10", "100.00"),
        ("SK2", PAY, Some("FP2"), "C1", "2024-03-10", "33.33"),
        ("SK3", PAY, None, "C1", "2024-03-10", "10.00"),
    ]);
    let booked = ["700.00", "-712.00", "700.00", "238.00", "69.00"];
    let docs = docs
        .lazy()
        .with_columns([
            lit(Series::new("amount_cny".into(), booked)).cast(DataType::Decimal(18, 2)),
            lit("USD").alias("currency"),
        ])
        .collect()
        .unwrap();
    let body = "input: docs\noutput: ledger\namount: amount_cny\noriginal_amount: amount\n";
    let out = stage("ledger", body).run(vec![docs]).unwrap();
    assert!(out.rejects.is_none(), "{:?}", out.rejects);
    let s = |v: &str| Some(v.to_string());
    // 33.33 of 100.00 at 7.00 is 233.31; an unreferenced receipt keeps its own date's rate.
    assert_eq!(
        strings(&out.tables[0], "base_amount"),
        [s("700.00"), s("-700.00"), s("700.00"), s("233.31"), s("69.00")]
    );
    let report = out.report.unwrap();
    assert_eq!(report["by_doc_type"][RED]["exchange_difference"], "12.00");
    assert_eq!(report["by_doc_type"][PAY]["exchange_difference"], "-4.69");
}
