//! The clean stage on a small frame: cleaned values and extras, each on_invalid
//! policy, flags, rejects with input row numbers, and the summary's counts.

use polars::prelude::*;

use super::*;
use crate::stages::Stage;

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

fn config() -> CleanConfig {
    serde_saphyr::from_str(
        "input: raw\noutput: clean\ncolumns:\n  name: { normalize: company_name, keep_original: true }\n  phone: { normalize: phone, default_region: CN }\n  tax_id: { normalize: uscc, on_invalid: reject }\n  address: { normalize: cn_address }\nflag:\n  unreachable: \"phone IS NULL AND address IS NULL\"\n",
    )
    .unwrap()
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
    let t = &out.table;
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
    let empty = DataFrame::empty_with_schema(input().schema());
    let schema = config().plan(vec![empty.lazy()]).unwrap().collect_schema().unwrap();
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
    let doc_text = "input: a\noutput: b\ncolumns:\n  d: { normalize: date, on_invalid: keep }\n";
    let c: CleanConfig = serde_saphyr::from_str(doc_text).unwrap();
    let doc = crate::config::yaml::Doc::new(std::path::Path::new("p.yaml"), doc_text);
    let diags = Stage::validate(&c, &doc, &serde_saphyr::Location::UNKNOWN);
    assert_eq!(diags.len(), 1);
    assert!(diags[0].message.contains("on_invalid: keep"), "{}", diags[0]);
}
