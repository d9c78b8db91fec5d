//! Each stage run on a small frame, asserting on the rows it produces.

use polars::prelude::*;

use super::testing::{stage, try_stage};

fn customers() -> DataFrame {
    df! {
        "customer_id" => ["C1", "C2", "C3", "C4", "C5"],
        "category" => ["成单客户", "潜在客户", "合作伙伴", "成单客户", "成单客户"],
        "region" => ["华东", "华东", "华北", "华北", "华东"],
        "status" => ["正常", "正常", "正常", "停用", "正常"],
    }
    .unwrap()
}

fn run(kind: &str, body: &str, inputs: Vec<DataFrame>) -> DataFrame {
    stage(kind, body).run(inputs).unwrap().tables.remove(0)
}

#[test]
fn filter_keeps_rows_where_the_sql_predicate_holds() {
    let out = run(
        "filter",
        "input: c\noutput: o\nwhere: \"category IN ('成单客户','潜在客户') AND status <> '停用'\"",
        vec![customers()],
    );
    let ids: Vec<_> = out.column("customer_id").unwrap().str().unwrap().no_null_iter().collect();
    assert_eq!(ids, ["C1", "C2", "C5"]);
}

#[test]
fn select_derives_keeps_and_renames() {
    let body = "input: c\noutput: o\nderive:\n  invalid: \"status = '停用'\"\ncolumns: [customer_id, invalid]\nrename:\n  customer_id: id\n";
    let out = run("select", body, vec![customers()]);
    assert_eq!(out.get_column_names(), ["id", "invalid"]);
    assert_eq!(out.column("invalid").unwrap().bool().unwrap().sum(), Some(1));
}

#[test]
fn count_groups_sorts_and_appends_total() {
    let out = run("count", "input: c\noutput: o\nby: [region, category]\ntotal: 合计\n", vec![customers()]);
    let region: Vec<_> = out.column("region").unwrap().str().unwrap().iter().collect();
    let counts: Vec<_> = out.column("customers").unwrap().u64().unwrap().no_null_iter().collect();
    // Sorted by code point: 华东 (东 U+4E1C) before 华北 (北 U+5317).
    assert_eq!(region, [Some("华东"), Some("华东"), Some("华北"), Some("华北"), Some("合计")]);
    assert_eq!(counts, [2, 1, 1, 1, 5]);
}

#[test]
fn count_distinct_ignores_nulls_and_repeats() {
    let df = df! { "g" => ["a", "a", "a", "b"], "id" => [Some("x"), Some("x"), None, Some("y")] }.unwrap();
    let out = run("count", "input: c\noutput: o\nby: [g]\ndistinct: id\n", vec![df]);
    let counts: Vec<_> = out.column("customers").unwrap().u64().unwrap().no_null_iter().collect();
    assert_eq!(counts, [1, 1, 2]);
}

#[test]
fn union_aligns_columns_by_name() {
    let a = df! { "id" => ["1"], "x" => ["a"] }.unwrap();
    let b = df! { "id" => ["2"], "y" => ["b"] }.unwrap();
    let out = run("union", "inputs: [a, b]\noutput: o\n", vec![a, b]);
    assert_eq!(out.shape(), (2, 3));
    assert_eq!(out.column("y").unwrap().null_count(), 1);
}

#[test]
fn declared_schemas_are_what_runs_produce() {
    let c = customers();
    for (kind, body) in [
        ("filter", "input: c\noutput: o\nwhere: \"status = '正常'\""),
        ("select", "input: c\noutput: o\nderive:\n  n: \"LENGTH(region)\"\ncolumns: [n, customer_id]\n"),
        ("count", "input: c\noutput: o\nby: [region]\nprevious: true\n"),
    ] {
        let built = stage(kind, body);
        let declared = built.schema(&[c.schema().as_ref().clone()]);
        let produced = built.run(vec![c.clone()]).unwrap().tables.remove(0);
        assert_eq!(produced.schema().as_ref(), &declared, "{kind}");
    }
}

#[test]
fn table_names_that_would_be_paths_are_refused_at_their_position() {
    for name in ["../x", "a/b", "/tmp/x", ".", ""] {
        let body = format!("input: c\noutput: \"{name}\"\nwhere: \"true\"\n");
        let err = try_stage("filter", &body).err().unwrap_or_else(|| panic!("'{name}' was accepted"));
        assert!(err[0].message.contains("is not an identifier"), "{name}: {:?}", err);
        assert_eq!((err[0].line, err[0].column), (3, 11), "{name}");
    }
}

#[test]
fn a_where_on_a_missing_column_points_at_the_predicate_with_a_suggestion() {
    let built = stage("filter", "input: c\noutput: o\nwhere: \"categroy = 'x'\"\n");
    let problems = built.0.schemas(&[customers().schema().as_ref().clone()]).unwrap_err();
    assert_eq!(problems[0].message, "column 'categroy' not found");
    assert_eq!(problems[0].help.as_deref(), Some("did you mean 'category'?"));
    assert_eq!(problems[0].at.map(|l| (l.line(), l.column())), Some((4, 10)));
}
