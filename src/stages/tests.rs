//! Each stage run on a small frame, asserting on the rows it produces.

use polars::prelude::*;

use super::*;

fn customers() -> DataFrame {
    df! {
        "customer_id" => ["C1", "C2", "C3", "C4", "C5"],
        "category" => ["成单客户", "潜在客户", "合作伙伴", "成单客户", "成单客户"],
        "region" => ["华东", "华东", "华北", "华北", "华东"],
        "status" => ["正常", "正常", "正常", "停用", "正常"],
    }
    .unwrap()
}

fn yaml<T: serde::de::DeserializeOwned>(text: &str) -> T {
    serde_saphyr::from_str(text).unwrap()
}

fn run(stage: &dyn Stage, inputs: Vec<DataFrame>) -> DataFrame {
    stage.plan(inputs.into_iter().map(DataFrame::lazy).collect()).unwrap().collect().unwrap()
}

#[test]
fn filter_keeps_rows_where_the_sql_predicate_holds() {
    let f: FilterConfig =
        yaml("input: c\noutput: o\nwhere: \"category IN ('成单客户','潜在客户') AND status <> '停用'\"");
    let out = run(&f, vec![customers()]);
    let ids: Vec<_> = out.column("customer_id").unwrap().str().unwrap().no_null_iter().collect();
    assert_eq!(ids, ["C1", "C2", "C5"]);
}

#[test]
fn select_derives_keeps_and_renames() {
    let s: SelectConfig = yaml(
        "input: c\noutput: o\nderive:\n  invalid: \"status = '停用'\"\ncolumns: [customer_id, invalid]\nrename:\n  customer_id: id\n",
    );
    let out = run(&s, vec![customers()]);
    assert_eq!(out.get_column_names(), ["id", "invalid"]);
    assert_eq!(out.column("invalid").unwrap().bool().unwrap().sum(), Some(1));
}

#[test]
fn count_groups_sorts_and_appends_total() {
    let c: CountConfig = yaml("input: c\noutput: o\nby: [region, category]\ntotal: 合计\n");
    let out = run(&c, vec![customers()]);
    let region: Vec<_> = out.column("region").unwrap().str().unwrap().iter().collect();
    let counts: Vec<_> = out.column("customers").unwrap().u64().unwrap().no_null_iter().collect();
    // Sorted by code point: 华东 (东 U+4E1C) before 华北 (北 U+5317).
    assert_eq!(region, [Some("华东"), Some("华东"), Some("华北"), Some("华北"), Some("合计")]);
    assert_eq!(counts, [2, 1, 1, 1, 5]);
}

#[test]
fn count_distinct_ignores_nulls_and_repeats() {
    let df = df! { "g" => ["a", "a", "a", "b"], "id" => [Some("x"), Some("x"), None, Some("y")] }.unwrap();
    let c: CountConfig = yaml("input: c\noutput: o\nby: [g]\ndistinct: id\n");
    let out = run(&c, vec![df]);
    let counts: Vec<_> = out.column("customers").unwrap().u64().unwrap().no_null_iter().collect();
    assert_eq!(counts, [1, 1, 2]);
}

#[test]
fn union_aligns_columns_by_name() {
    let a = df! { "id" => ["1"], "x" => ["a"] }.unwrap();
    let b = df! { "id" => ["2"], "y" => ["b"] }.unwrap();
    let u: UnionConfig = yaml("inputs: [a, b]\noutput: o\n");
    let out = run(&u, vec![a, b]);
    assert_eq!(out.shape(), (2, 3));
    assert_eq!(out.column("y").unwrap().null_count(), 1);
}
