//! The clean stage on a small frame: cleaned values and extras, each on_invalid
//! policy, flags, rejects with input row numbers, and the summary's counts.

use polars::prelude::*;

use crate::stages::testing::{Built, stage, try_stage};

fn input() -> DataFrame {
    df! {
        "id" => ["1", "2", "3", "4"],
        "name" => [Some("字节跳动（北京）科技有限公司 "), Some("ＡＣＭＥ Co., Ltd."), Some("---"), None],
        "phone" => [Some("+86 138 0013 8000"), Some("(010) 1234 5678"), Some("not a phone"), Some("13800138000")],
        "tax_id" => [Some("91110000600037341L"), Some("91110000600037341N"), None, Some("91310115ma1k3btp2b")],
        "address" => [Some("广东深圳 南山区科技路1号"), None, Some("北京朝阳区建国路88号"), Some("新华路1号")],
    }
    .unwrap()
}

fn config() -> Built {
    stage(
        "clean",
        "input: raw\noutput: clean\ncolumns:\n  name: { normalize: company_name, keep_original: true }\n  phone: { normalize: phone, default_region: CN }\n  tax_id: { normalize: uscc, on_invalid: reject }\n  address: { normalize: cn_address }\nflag:\n  unreachable: \"phone IS NULL AND address IS NULL\"\n",
    )
}

fn strings(df: &DataFrame, c: &str) -> Vec<Option<String>> {
    df.column(c).unwrap().str().unwrap().iter().map(|v| v.map(String::from)).collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn cleans_flags_and_rejects() {
    let out = config().run(vec![input()]).unwrap();
    let t = &out.tables[0];
    assert_eq!(strings(t, "id"), [s("1"), s("3"), s("4")], "row 2 has a corrupted tax id and is rejected");
    assert_eq!(strings(t, "name"), [s("字节跳动(北京)科技有限公司"), None, None]);
    assert_eq!(strings(t, "name_key"), [s("字节跳动科技"), None, None]);
    assert_eq!(strings(t, "name_original"), [s("字节跳动（北京）科技有限公司 "), s("---"), None]);
    let invalid: Vec<Option<bool>> = t.column("name_invalid").unwrap().bool().unwrap().iter().collect();
    assert_eq!(invalid, [Some(false), Some(true), Some(false)], "null in, null out, not invalid");
    assert_eq!(strings(t, "phone"), [s("+8613800138000"), None, s("+8613800138000")]);
    assert_eq!(strings(t, "phone_type"), [s("mobile"), None, s("mobile")]);
    assert_eq!(strings(t, "tax_id"), [s("91110000600037341L"), None, s("91310115MA1K3BTP2B")]);
    assert_eq!(strings(t, "address_province"), [s("广东省"), s("北京市"), None]);
    let unreachable: Vec<Option<bool>> = t.column("unreachable").unwrap().bool().unwrap().iter().collect();
    assert_eq!(unreachable, [Some(false), Some(false), Some(false)]);
    assert!(t.get_column_names().iter().all(|c| !c.starts_with("__")), "no working columns leak");

    let rejects = out.rejects.unwrap();
    assert_eq!(rejects.height(), 1);
    assert_eq!(rejects.column("row").unwrap().u64().unwrap().get(0), Some(2));
    assert_eq!(strings(&rejects, "reason"), [s("invalid_bad_check_character")]);
    assert_eq!(strings(&rejects, "value"), [s("91110000600037341N")]);

    let summary = &out.sheets[0].1;
    let failed: Vec<u64> = summary.column("failed").unwrap().u64().unwrap().iter().flatten().collect();
    assert_eq!(failed, [1, 1, 1, 0], "name ---, phone 'not a phone', tax id N, no address");
    let changed: Vec<u64> = summary.column("changed").unwrap().u64().unwrap().iter().flatten().collect();
    assert_eq!(changed, [2, 3, 1, 2]);
    assert!(strings(summary, "top_failures")[1].as_deref().unwrap().contains("letters 1 (e.g. not a phone)"));
}

#[test]
fn plan_declares_the_output_schema_without_data() {
    let schema = config().schema(&[input().schema().as_ref().clone()]);
    for c in [
        "name",
        "name_key",
        "name_branch",
        "name_original",
        "name_invalid",
        "phone_type",
        "phone_ext",
        "tax_id_kind",
        "address_division",
        "unreachable",
    ] {
        assert!(schema.contains(c), "{c}");
    }
}

#[test]
fn keep_is_refused_for_typed_columns() {
    let body = "input: a\noutput: b\ncolumns:\n  d: { normalize: date, on_invalid: keep }\n";
    let diags = try_stage("clean", body).err().unwrap();
    assert_eq!(diags.len(), 1);
    assert!(diags[0].message.contains("on_invalid: keep"), "{}", diags[0]);
}

#[test]
fn converts_at_the_rate_of_the_date_or_the_latest_earlier_one() {
    let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let rows = df! {
        "doc" => ["cny", "jan15", "feb1", "round", "too_early", "no_rates", "no_date", "after_last", "jpy"],
        "amount" => ["100.00", "10", "10", "1.25", "10", "5", "3", "10", "1000"],
        "currency" => ["CNY", "USD", "USD", "USD", "USD", "EUR", "USD", "USD", "JPY"],
        "doc_date" => [Some(date("2023-12-01")), Some(date("2024-01-15")), Some(date("2024-02-01")), Some(date("2024-01-31")), Some(date("2023-12-31")), Some(date("2024-01-15")), None, Some(date("2024-03-05")), Some(date("2024-02-10"))],
    }
    .unwrap();
    let rates = df! {
        "rate_date" => [date("2024-01-01"), date("2024-02-01"), date("2024-01-01")],
        "from_currency" => ["USD", "USD", "JPY"],
        "to_currency" => ["CNY", "CNY", "CNY"],
        "rate" => ["7.1", "7.2", "0.05"],
    }
    .unwrap()
    .lazy()
    .with_column(col("rate").cast(DataType::Decimal(18, 6)))
    .collect()
    .unwrap();
    let config = stage(
        "clean",
        "input: docs\noutput: docs_cny\ncolumns:\n  amount:\n    normalize: money\n    convert_currency: { to: CNY, rates: fx, on: doc_date }\n",
    );
    let inputs: Vec<_> = config.0.inputs().iter().map(|i| (i.table.as_str(), i.role)).collect();
    assert_eq!(inputs, [("docs", crate::stages::Role::Rows), ("fx", crate::stages::Role::Lookup)]);
    let out = config.run(vec![rows, rates]).unwrap();
    let t = &out.tables[0];
    let text = |c: &str| {
        t.column(c)
            .unwrap()
            .cast(&DataType::String)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(String::from))
            .collect::<Vec<_>>()
    };
    let docs = ["cny", "jan15", "feb1", "round", "after_last", "jpy"];
    assert_eq!(text("doc"), docs.map(s), "rows keep their order");
    // 1.25 × 7.1 = 8.875 → 8.88 (half away from zero); after the last rate, the last.
    assert_eq!(text("amount_cny"), ["100.00", "71.00", "72.00", "8.88", "72.00", "50.00"].map(s));
    let rates = ["1.000000", "7.100000", "7.200000", "7.100000", "7.200000", "0.050000"];
    assert_eq!(text("amount_fx_rate"), rates.map(s));
    let dates = ["2023-12-01", "2024-01-01", "2024-02-01", "2024-01-01", "2024-02-01", "2024-01-01"];
    assert_eq!(text("amount_fx_date"), dates.map(s));

    let rejects = out.rejects.unwrap();
    let reasons: Vec<(u64, String)> = (0..rejects.height())
        .map(|i| {
            (
                rejects.column("row").unwrap().u64().unwrap().get(i).unwrap(),
                strings(&rejects, "reason")[i].clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(reasons, [(5, "no_fx_rate".to_string()), (6, "no_fx_rate".to_string()), (7, "no_date".to_string())]);
}

/// A rate table with no rate to the base currency converts nothing but that currency.
#[test]
fn without_rates_only_the_base_currency_converts() {
    let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
    let rows = df! { "amount" => ["1", "2"], "currency" => ["CNY", "USD"], "doc_date" => [date, date] }.unwrap();
    let rates = df! { "rate_date" => [date], "from_currency" => ["USD"], "to_currency" => ["EUR"], "rate" => ["0.9"] };
    let yaml = "input: docs\noutput: docs_cny\ncolumns:\n  amount:\n    normalize: money\n    convert_currency: { to: CNY, rates: fx, on: doc_date }\n";
    let out = stage("clean", yaml).run(vec![rows, rates.unwrap()]).unwrap();
    assert_eq!(out.tables[0].height(), 1);
    assert_eq!(strings(&out.rejects.unwrap(), "reason"), [s("no_fx_rate")]);
}

#[test]
fn a_contact_written_in_the_phone_cell_fills_an_empty_contact() {
    let input = df! {
        "phone" => ["18804792943（张会计）", "13800138000（李会计）", "0755-26543210"],
        "contact" => [None, Some("王伟"), None],
    }
    .unwrap();
    let yaml = "input: raw\noutput: clean\ncolumns:\n  phone: { normalize: phone }\n  contact: { normalize: person_name, fill_from: phone_contact }\n";
    let out = stage("clean", yaml).run(vec![input]).unwrap();
    let t = &out.tables[0];
    assert_eq!(strings(t, "contact"), [s("张会计"), s("王伟"), None], "a written contact stays");
    assert_eq!(strings(t, "phone"), [s("+8618804792943"), s("+8613800138000"), s("+8675526543210")]);
    let wrong = try_stage("clean", &yaml.replace("fill_from: phone_contact", "fill_from: mobile"));
    let err = format!("{:?}", wrong.err().expect("an unknown column is refused"));
    assert!(err.contains("fill_from names 'mobile'") && err.contains("phone_contact"), "{err}");
}

/// An amount that is already a decimal is cast, not reparsed, and held to the same
/// rules as text: no more decimals than the scale, no more digits than money holds.
#[test]
fn decimal_amounts_are_money_as_they_stand() {
    let amounts = df! { "amount" => [Some("1234.5000"), Some("-0.0100"), Some("1.2345"), None] }
        .unwrap()
        .lazy()
        .with_column(col("amount").cast(DataType::Decimal(38, 4)))
        .collect()
        .unwrap();
    let typed = stage("clean", "input: docs\noutput: out\ncolumns:\n  amount: { normalize: money }\n");
    let text = |t: &DataFrame, c: &str| -> Vec<Option<String>> {
        let c = t.column(c).unwrap().cast(&DataType::String).unwrap();
        c.str().unwrap().iter().map(|v| v.map(String::from)).collect()
    };
    let out = typed.run(vec![amounts.clone()]).unwrap();
    assert_eq!(out.tables[0].column("amount").unwrap().dtype(), &DataType::Decimal(18, 2));
    assert_eq!(text(&out.tables[0], "amount"), [s("1234.50"), s("-0.01"), None, None]);
    // The same values as text give the same result.
    let as_text = amounts.lazy().with_column(col("amount").cast(DataType::String)).collect().unwrap();
    let out_text = typed.run(vec![as_text]).unwrap();
    assert_eq!(text(&out_text.tables[0], "amount"), text(&out.tables[0], "amount"));
    assert_eq!(text(&out_text.tables[0], "amount_invalid"), text(&out.tables[0], "amount_invalid"));
    assert_eq!(text(&out.tables[0], "amount_invalid"), [s("false"), s("false"), s("true"), s("false")]);
}

/// A decimal whose every value fits money (no more decimals than its scale, no more
/// whole digits than it holds) is taken as it is; one that could overflow is checked
/// value by value: 10^17 has 18 whole digits, two too many beside the 2 decimals.
#[test]
fn decimals_that_always_fit_are_taken_as_they_are() {
    let typed = stage("clean", "input: docs\noutput: out\ncolumns:\n  amount: { normalize: money }\n");
    let run = |values: &[Option<&str>], dtype: DataType| {
        let input = df! { "amount" => values }.unwrap().lazy().with_column(col("amount").cast(dtype)).collect();
        let out = typed.run(vec![input.unwrap()]).unwrap().tables.remove(0);
        let text = |c: &str| strings(&out.clone().lazy().select([col(c).cast(DataType::String)]).collect().unwrap(), c);
        (text("amount"), text("amount_invalid"))
    };
    let (amounts, invalid) = run(&[Some("1234.50"), None, Some("-0.01")], DataType::Decimal(18, 2));
    assert_eq!(amounts, [s("1234.50"), None, s("-0.01")]);
    assert_eq!(invalid, [s("false"), s("false"), s("false")]);
    let (amounts, invalid) = run(&[Some("100000000000000000"), Some("7")], DataType::Decimal(18, 0));
    assert_eq!(amounts, [None, s("7.00")]);
    assert_eq!(invalid, [s("true"), s("false")]);
}
