use polars::prelude::*;
use rand::Rng;

use super::cluster::{LinkFate, cluster};
use super::compare::{Comparison, Method, jaccard, tokens};
use super::golden::Rule;
use super::model::{ComparisonModel, Model, RuleModel, Training, fit, patterns};
use super::*;

fn config(yaml: &str) -> crate::stages::testing::Built {
    crate::stages::testing::stage("dedup", yaml.trim_start_matches('\n'))
}

/// Company records as the clean stage leaves them: name key and branch, phone, address.
fn companies() -> DataFrame {
    df! {
        "customer_id" => ["1", "2", "3", "4", "5", "6"],
        "source_system" => ["erp", "crm", "erp", "crm", "erp", "crm"],
        // The branch's key is its parent's: only `name_branch` tells them apart.
        "name_key" => ["华信科技", "华信科技", "华新科技", "华信科技", "鼎盛贸易", "鼎盛贸易"],
        "name_branch" => [None, None, None, Some("北京分公司"), None, None],
        "tax_id" => [Some("91110105MA00000001"), None, None, None, Some("91310115MA00000002"), Some("91440300MA00000003")],
        "phone" => [Some("+8613800000001"), Some("+8613800000001"), Some("+8613800000001"), Some("+8613800000001"), Some("+8613900000002"), Some("+8613900000002")],
        "address" => ["北京市朝阳区建国路1号", "北京市朝阳区建国路1号", "北京市朝阳区建国路1号", "北京市朝阳区建国路1号", "上海市浦东新区世纪大道8号", "上海市浦东新区世纪大道8号"],
        "updated_at" => [1, 5, 3, 2, 4, 6],
    }
    .unwrap()
}

const COMPANY_STAGE: &str = "
input: customers
output: golden
id: customer_id
source: source_system
blocking: [[phone], [name_key]]
# Fixed weights: six records are too few to train on.
compare:
  name_key: { method: levenshtein, levels: [0, 1], weights: [5, 3, -6] }
  phone: { method: exact, weights: [4, -2] }
  address: { method: token_jaccard, levels: [1.0, 0.8], weights: [3, 1, -2] }
  tax_id: { method: exact, weights: [10, -1] }
cannot_link: ['tax_id_l IS NOT NULL AND tax_id_r IS NOT NULL AND tax_id_l <> tax_id_r']
threshold: { match: 0.9, review: 0.5 }
survivorship:
  default: most_recent(updated_at)
  name_key: source_priority([crm, erp])
";

/// A port's table: `map`, `pairs`, `review` or `lineage`.
fn table<'a>(out: &'a StageOutput, port: &str) -> &'a DataFrame {
    &out.tables[1 + PORTS.iter().position(|p| *p == port).unwrap()]
}

fn texts(df: &DataFrame, column: &str) -> Vec<String> {
    df.column(column).unwrap().str().unwrap().iter().map(|v| v.unwrap_or_default().to_string()).collect()
}

fn master_of(map: &DataFrame) -> std::collections::HashMap<String, String> {
    master_of_column(map, "customer_id")
}

fn master_of_column(map: &DataFrame, id: &str) -> std::collections::HashMap<String, String> {
    let ids = map.column(id).unwrap().str().unwrap().clone();
    let masters = map.column("master_id").unwrap().str().unwrap().clone();
    ids.iter().zip(masters.iter()).map(|(i, m)| (i.unwrap().to_string(), m.unwrap().to_string())).collect()
}

#[test]
fn levels_count_unicode_characters() {
    let names = Column::new("n".into(), ["华信科技", "华新科技", "华信贸易公司"]);
    let c = Comparison::new("n", &names, Method::Levenshtein, vec![0.0, 1.0, 2.0], false).unwrap();
    // One character apart is one edit, not three bytes.
    assert_eq!(c.level(0, 1), 2);
    assert_eq!(c.level(0, 0), 1);
    assert_eq!(c.level(0, 2), 4, "four edits is past every level");
    let missing = Column::new("n".into(), [Some("华信"), None]);
    let c = Comparison::new("n", &missing, Method::Exact, vec![], false).unwrap();
    assert_eq!(c.level(0, 1), 0, "a missing value is the null level");
}

#[test]
fn an_abbreviation_contained_in_a_full_name_has_a_level_of_its_own() {
    let names = Column::new("n".into(), ["中新网络科技", "中新", "中兴", "新", "中新网络科技"]);
    let mut c = Comparison::new("n", &names, Method::Levenshtein, vec![0.0, 1.0], false).unwrap();
    c.contains = true;
    assert_eq!(c.labels(), ["null", "exact", "edits<=1", "contained", "else"]);
    assert_eq!(c.level(0, 4), 1);
    assert_eq!(c.level(0, 1), 3, "中新 lies within 中新网络科技");
    assert_eq!(c.level(1, 0), 3, "either way round");
    assert_eq!(c.level(0, 2), 4, "中兴 does not");
    assert_eq!(c.level(0, 3), 4, "one character is too short to tell");
    assert_eq!(c.level(1, 2), 2, "a closer level wins");
}

#[test]
fn swapped_given_name_and_surname_agree_when_compared_both_ways() {
    let given = Column::new("given_name".into(), ["danny", "stephenson", "danny", "smith"]);
    let surname = Column::new("surname".into(), ["stephenson", "danny", "smith", "danny"]);
    let compare = |own: &Column, other: &Column| {
        let mut c = Comparison::new("c", own, Method::JaroWinkler, vec![1.0, 0.9], false).unwrap();
        c.swap = Some(Comparison::new("c", other, Method::JaroWinkler, vec![1.0, 0.9], false).unwrap().values);
        c
    };
    let (g, s) = (compare(&given, &surname), compare(&surname, &given));
    assert_eq!((g.level(0, 1), s.level(0, 1)), (1, 1), "danny stephenson = stephenson danny");
    // Crossing one column alone is no swap: danny/stephenson and smith/danny share only
    // danny, on the given name of one and the surname of the other.
    assert_eq!((g.level(0, 3), s.level(0, 3)), (3, 3));
    assert_eq!((g.level(0, 2), s.level(0, 2)), (1, 3), "straight, the given names agree");
}

#[test]
fn cjk_text_is_tokenized_into_character_pairs() {
    let a = tokens("北京市朝阳区建国路1号");
    let b = tokens("北京市 朝阳区建国路2号");
    assert!(jaccard(&a, &b) > 0.6 && jaccard(&a, &b) < 1.0, "{}", jaccard(&a, &b));
    assert_eq!(jaccard(&tokens("Acme Trading Co"), &tokens("acme  trading co")), 1.0);
}

#[test]
fn em_recovers_known_m_u_and_prior() {
    // Two classes with known parameters over three comparisons of 3, 2 and 4 levels.
    let m = [vec![0.85, 0.1, 0.05], vec![0.9, 0.1], vec![0.6, 0.25, 0.1, 0.05]];
    let u = [vec![0.05, 0.15, 0.8], vec![0.1, 0.9], vec![0.02, 0.08, 0.2, 0.7]];
    let prior = 0.3;
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
    let pairs = 200_000;
    let mut levels = Vec::with_capacity(pairs * 3);
    for _ in 0..pairs {
        let probabilities = if rng.random_bool(prior) { &m } else { &u };
        for p in probabilities {
            let x: f64 = rng.random();
            let mut acc = 0.0;
            let level = p.iter().position(|q| {
                acc += q;
                x < acc
            });
            levels.push(level.unwrap_or(p.len() - 1) as u8 + 1);
        }
    }
    let comparisons: Vec<ComparisonModel> = m
        .iter()
        .enumerate()
        .map(|(k, truth)| {
            let n = truth.len();
            // EM starts from m falling off and u flat, far from the truth.
            let start: Vec<f64> = (0..n).map(|t| 0.25f64.powi(t as i32)).collect();
            let total: f64 = start.iter().sum();
            ComparisonModel {
                name: format!("c{k}"),
                method: Method::Exact,
                thresholds: vec![],
                levels: (0..n).map(|l| l.to_string()).collect(),
                m: start.iter().map(|s| s / total).collect(),
                u_random: vec![1.0 / n as f64; n],
                fixed_weights: None,
            }
        })
        .collect();
    let u_start = comparisons.iter().map(|c| c.u_random.clone()).collect();
    let rules = vec![RuleModel {
        rule: "all".into(),
        prior: 0.5,
        left_out: vec![],
        implied: vec![],
        unequal: vec![],
        u: u_start,
        pairs,
    }];
    let mut model = Model { comparisons, rules, training: Training::default() };
    let rule_of_each = vec![0u8; pairs];
    fit(&mut model, &patterns(&levels, &rule_of_each, 3), pairs, 500);
    assert!(model.training.converged);
    assert!((model.rules[0].prior - prior).abs() < 0.01, "prior {}", model.rules[0].prior);
    for (k, c) in model.comparisons.iter().enumerate() {
        for l in 0..c.levels.len() {
            assert!((c.m[l] - m[k][l]).abs() < 0.02, "m[{k}][{l}] = {} vs {}", c.m[l], m[k][l]);
            let learned = model.rules[0].u[k][l];
            assert!((learned - u[k][l]).abs() < 0.02, "u[{k}][{l}] = {learned} vs {}", u[k][l]);
        }
    }
}

#[test]
fn cannot_link_splits_a_chain_at_its_weakest_link() {
    // 0–1 strong, 1–2 weak, 2–3 strong; 0 and 3 must stay apart.
    let links = [(0, 1, 12.0), (1, 2, 3.0), (2, 3, 11.0)];
    let out = cluster(4, &links, |a, b| Ok(a.iter().zip(b).map(|p| p == (&0, &3)).collect())).unwrap();
    assert_eq!(out.labels, vec![0, 0, 2, 2]);
    assert_eq!(out.fates, vec![LinkFate::Kept, LinkFate::Split, LinkFate::Kept]);
    // Without the rule the chain is one cluster.
    let whole = cluster(4, &links, |a, _| Ok(vec![false; a.len()])).unwrap();
    assert_eq!(whole.labels, vec![0, 0, 0, 0]);
}

#[test]
fn merges_duplicates_keeps_branches_and_distinct_tax_ids_apart() {
    let out = config(COMPANY_STAGE).run(vec![companies()]).unwrap();
    let master = master_of(table(&out, "map"));
    assert_eq!(master["1"], master["2"], "same name, phone and address");
    assert_eq!(master["1"], master["3"], "one character off, same phone and address");
    assert_ne!(master["1"], master["4"], "a branch never merges with its parent");
    let without = config(&format!("{COMPANY_STAGE}keep_apart: []\n")).run(vec![companies()]).unwrap();
    assert_eq!(master_of(table(&without, "map"))["4"], master["1"], "only keep_apart kept the branch out");
    assert_ne!(master["5"], master["6"], "two different tax ids are two companies");
    let pairs = table(&out, "pairs");
    let decisions = texts(pairs, "decision");
    assert!(decisions.iter().any(|d| d == "cannot_link"), "{decisions:?}");
    // Golden records: one per cluster, name from the preferred source, the rest from the latest.
    let golden = &out.tables[0];
    assert_eq!(golden.height(), 4);
    let merged = golden.clone().lazy().filter(col("cluster_size").eq(lit(3u32))).collect().unwrap();
    assert_eq!(merged.column("customer_id").unwrap().str().unwrap().get(0), Some("2"), "most recent record");
    assert_eq!(merged.column("systems").unwrap().str().unwrap().get(0), Some("crm,erp"));
    let lineage = table(&out, "lineage");
    assert_eq!(lineage.height(), merged.height() * companies().width());
}

#[test]
fn same_input_same_clusters_and_ids_stay_when_records_are_added() {
    let stage = config(COMPANY_STAGE);
    let first = stage.run(vec![companies()]).unwrap();
    let again = stage.run(vec![companies()]).unwrap();
    assert!(table(&first, "map").equals_missing(table(&again, "map")));

    let extra = df! {
        "customer_id" => ["7", "8"],
        "source_system" => ["erp", "crm"],
        "name_key" => ["远大物流", "远大物流"],
        "name_branch" => [None::<&str>, None],
        "tax_id" => [None::<&str>, None],
        "phone" => ["+8613700000009", "+8613700000009"],
        "address" => ["天津市和平区1号", "天津市和平区1号"],
        "updated_at" => [7, 8],
    }
    .unwrap();
    let grown = stage.run(vec![companies().vstack(&extra).unwrap()]).unwrap();
    let (before, after) = (master_of(table(&first, "map")), master_of(table(&grown, "map")));
    for (id, m) in &before {
        assert_eq!(&after[id], m, "record {id} kept its master id");
    }
    assert_eq!(after["7"], after["8"]);
}

#[test]
fn every_record_appears_once_in_the_map_or_in_the_rejects() {
    let mut input = companies();
    let repeated = input.slice(0, 1);
    input.vstack_mut(&repeated).unwrap();
    let out = config(COMPANY_STAGE).run(vec![input.clone()]).unwrap();
    let map = table(&out, "map");
    let rejects = out.rejects.as_ref().unwrap();
    assert_eq!(map.height() + rejects.height(), input.height());
    assert_eq!(rejects.column("reason").unwrap().str().unwrap().get(0), Some("duplicate_id"));
    let distinct = map.clone().lazy().select([as_struct(vec![col("source_system"), col("customer_id")]).n_unique()]);
    assert_eq!(distinct.collect().unwrap().column("source_system").unwrap().u32().unwrap().get(0), Some(6));
}

#[test]
fn person_records_link_on_any_declared_columns() {
    let people = df! {
        "person_id" => ["a", "b", "c", "d"],
        "surname" => ["Smith", "Smith", "Smyth", "Jones"],
        "given_name" => ["Anna", "Ana", "Anna", "Anna"],
        "dob" => ["1980-02-01", "1980-02-01", "1980-02-01", "1975-07-30"],
        "postcode" => ["AB1 2CD", "AB1 2CD", "AB1 2CD", "ZZ9 9ZZ"],
    }
    .unwrap()
    .lazy()
    .with_column(col("dob").str().to_date(StrptimeOptions::default()))
    .collect()
    .unwrap();
    let stage = config(
        "
left: crm
right: erp
output: people
id: person_id
blocking: [[postcode]]
compare:
  surname: { method: jaro_winkler, levels: [0.85], weights: [6, -6] }
  given_name: { method: levenshtein, levels: [1], weights: [3, -3] }
  dob: { method: date, levels: [0, 31], weights: [8, 2, -8] }
threshold: { match: 0.9, review: 0.5 }
",
    );
    let (left, right) = (people.slice(0, 2), people.slice(2, 2));
    let out = stage.run(vec![left, right]).unwrap();
    let pairs = table(&out, "pairs");
    // Link mode compares across the tables only: a–c and b–c, never a–b.
    assert!(texts(pairs, "table_l").iter().all(|t| t == "crm"));
    assert!(texts(pairs, "table_r").iter().all(|t| t == "erp"));
    let master = table(&out, "map").column("master_id").unwrap().str().unwrap().clone();
    assert_eq!(master.get(0), master.get(2), "Anna Smith and Anna Smyth, same birthday and postcode");
}

#[test]
fn survivorship_rules_parse_and_explain_mistakes() {
    assert_eq!("most_recent(updated_at)".parse(), Ok(Rule::MostRecent("updated_at".into())));
    assert_eq!("source_priority([erp, crm])".parse(), Ok(Rule::SourcePriority(vec!["erp".into(), "crm".into()])));
    assert_eq!(" longest ".parse(), Ok(Rule::Longest));
    assert!("most_recent".parse::<Rule>().unwrap_err().contains("one column"));
    assert!("newest(x)".parse::<Rule>().unwrap_err().contains("unknown survivorship rule"));
}

#[test]
fn exact_keys_link_outright_and_oversized_blocks_are_skipped() {
    let records = df! {
        "id" => ["1", "2", "3", "4", "5"],
        "tax_id" => [Some("91110105MA00000001"), Some("91110105MA00000001"), None, None, None],
        "name" => ["甲公司", "乙公司", "丙公司", "丙公司", "丙公司"],
    }
    .unwrap();
    let stage = config(
        "
input: customers
output: golden
id: id
exact_keys: [tax_id]
blocking: [[name]]
max_block_size: 2
compare:
  name: { method: exact, weights: [8, -8] }
threshold: { match: 0.9, review: 0.5 }
",
    );
    let out = stage.run(vec![records]).unwrap();
    let master = master_of_column(table(&out, "map"), "id");
    assert_eq!(master["1"], master["2"], "an equal tax id links whatever the names say");
    assert_eq!(texts(table(&out, "pairs"), "decision"), ["exact_key"]);
    let report = out.report.unwrap();
    assert_eq!(report["blocks_skipped"][0]["value"], "丙公司");
    assert_eq!(report["blocks_skipped"][0]["records"], 3);
    assert_ne!(master["3"], master["4"], "the skipped block's records are not compared");
}

#[test]
fn agreeing_on_a_rare_value_weighs_more_than_on_a_common_one() {
    // 王伟 is common, 欧阳修远 rare; both pairs agree exactly on the name.
    let mut names = vec!["王伟"; 40];
    names.extend(["欧阳修远", "欧阳修远"]);
    let n = names.len();
    let records = df! {
        "id" => (0..n).map(|i| i.to_string()).collect::<Vec<_>>(),
        "name" => names,
        "city" => (0..n).map(|i| if i < 2 || i >= n - 2 { "北京" } else { "上海" }).collect::<Vec<_>>(),
    }
    .unwrap();
    let stage = config(
        "
input: people
output: golden
id: id
blocking: [[city]]
compare:
  name: { method: exact, tf_adjust: true }
threshold: { match: 0.99, review: 1e-12 }   # every pair is kept in the pairs table
training: { u_pairs: 2000 }
",
    );
    let out = stage.run(vec![records]).unwrap();
    let pairs = table(&out, "pairs");
    let weight_of = |name: &str| {
        let both = col("name_l").eq(lit(name)).and(col("name_r").eq(lit(name)));
        let rows = pairs.clone().lazy().filter(both).collect().unwrap();
        rows.column("name_weight").unwrap().f64().unwrap().get(0).unwrap()
    };
    // The adjustment is log2 of the ratio of the two names' frequencies: 40 / 2.
    let gap = weight_of("欧阳修远") - weight_of("王伟");
    assert!((gap - 20f64.log2()).abs() < 1e-6, "gap {gap}");
}

#[test]
fn a_column_the_keys_determine_weighs_nothing() {
    // Seven records at each of 150 addresses; the city follows from the address, so
    // pairs at one address always share a city, matches or not.
    let n = 1050;
    let records = df! {
        "id" => (0..n).map(|i| i.to_string()).collect::<Vec<_>>(),
        "name" => (0..n).map(|i| format!("公司{}", i % 300)).collect::<Vec<_>>(),
        "address" => (0..n).map(|i| format!("地址{}", i % 150)).collect::<Vec<_>>(),
        "city" => (0..n).map(|i| format!("城市{}", i % 150 % 10)).collect::<Vec<_>>(),
    }
    .unwrap();
    let stage = config(
        "
input: companies
output: golden
id: id
blocking: [[address]]
compare:
  name: { method: exact }
  city: { method: exact }
threshold: { match: 0.95, review: 1e-12 }
training: { u_pairs: 20000 }
",
    );
    let out = stage.run(vec![records]).unwrap();
    let rule = &out.report.as_ref().unwrap()["model"]["rules"][0];
    assert_eq!(rule["implied"], serde_json::json!(["city"]), "{rule}");
    let weights = table(&out, "pairs").column("city_weight").unwrap().f64().unwrap().clone();
    assert!(weights.into_no_null_iter().all(|w| w == 0.0));
}

#[test]
fn every_port_is_declared_with_the_schema_a_run_produces() {
    let stage = config(COMPANY_STAGE);
    let names = stage.0.outputs();
    assert_eq!(names, ["golden", "golden_map", "golden_pairs", "golden_review", "golden_lineage"]);
    let declared = stage.0.schemas(&[companies().schema().as_ref().clone()]).unwrap();
    let out = stage.run(vec![companies()]).unwrap();
    assert_eq!(out.tables.len(), declared.len());
    for ((name, table), schema) in names.iter().zip(&out.tables).zip(&declared) {
        assert_eq!(table.schema().as_ref(), schema, "{name}");
    }
}

#[test]
fn deletion_and_list_keys_block_values_one_typo_or_one_number_apart() {
    let records = df! {
        "id" => ["1", "2", "3", "4", "5", "6"],
        // 美智实业 and 远智实业 share 智实业; short keys block only on themselves.
        "name_key" => ["美智实业", "远智实业", "华信贸易", "华信", "华达", "鼎盛"],
    }
    .unwrap();
    let phones = Series::new(
        "phones".into(),
        [
            Some(Series::new("".into(), ["+8613800000001", "+8613900000002"])),
            None,
            None,
            None,
            None,
            Some(Series::new("".into(), ["+8613900000002"])),
        ],
    );
    let records = records.hstack(&[phones.into_column()]).unwrap();
    let stage = config(
        "
input: customers
output: golden
id: id
blocking: [['DELETIONS(name_key)'], [phones], ['DELETIONS(name_key)', phones]]   # two lists in one rule: every combination
compare:
  name_key: { method: exact, weights: [8, 8] }
threshold: { match: 0.9, review: 0.5 }
",
    );
    let out = stage.run(vec![records]).unwrap();
    let pairs = table(&out, "pairs");
    let ids: Vec<(String, String)> = texts(pairs, "id_l").into_iter().zip(texts(pairs, "id_r")).collect();
    let mut ids: Vec<(&str, &str)> =
        ids.iter().map(|(a, b)| (a.as_str().min(b.as_str()), a.as_str().max(b.as_str()))).collect();
    ids.sort();
    assert_eq!(ids, [("1", "2"), ("1", "6")], "华信/华达 are too short to block on a deletion");
}

#[test]
fn em_that_stops_before_converging_is_a_warning() {
    let stage = |iterations: usize| {
        config(&format!(
            "
input: customers
output: golden
id: customer_id
source: source_system
blocking: [[phone], [name_key]]
compare:
  name_key: {{ method: levenshtein, levels: [0, 1] }}
  address: {{ method: token_jaccard, levels: [1.0, 0.8] }}
threshold: {{ match: 0.9, review: 0.5 }}
training: {{ u_pairs: 100, max_iterations: {iterations} }}
"
        ))
    };
    let codes = |iterations| {
        let out = stage(iterations).run(vec![companies()]).unwrap();
        out.findings.iter().map(|f| f.code.clone()).collect::<Vec<_>>()
    };
    assert_eq!(codes(1), ["em_not_converged"]);
    assert!(codes(500).is_empty());
}

/// A rule on a fixed set of keys (200 cities) makes pairs in large blocks, which grow
/// with the square of the records, and is reported; a rule on keys each customer
/// brings (tax ids, each held by two records) is not.
#[test]
fn a_rule_whose_pairs_grow_quadratically_is_a_warning() {
    let n = 6_000;
    let records = df! {
        "customer_id" => (0..n).map(|i| i.to_string()).collect::<Vec<_>>(),
        "city" => (0..n).map(|i| format!("city{}", i % 200)).collect::<Vec<_>>(),
        "tax_id" => (0..n).map(|i| format!("T{}", i / 2)).collect::<Vec<_>>(),
    }
    .unwrap();
    let stage = config(
        "
input: customers
output: golden
id: customer_id
blocking: [[tax_id], [city]]
compare:
  tax_id: { method: exact, weights: [10, -1] }
threshold: { match: 0.9, review: 0.5 }
",
    );
    let out = stage.run(vec![records]).unwrap();
    let rules = &out.report.as_ref().unwrap()["pairs"]["by_rule"];
    assert_eq!(rules[0]["growth"], 2.0, "{rules}");
    assert_eq!((&rules[1]["pairs"], &rules[1]["growth"]), (&(200 * 30 * 29 / 2).into(), &4.0.into()));
    let warnings: Vec<&str> = out.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let expected = "blocking rule city makes 87000 pairs from 6000 records, 100% of them in blocks of more than 8";
    assert!(warnings[0].starts_with(expected), "{}", warnings[0]);
}

/// A block over `split_over` pairs only the records of one split value, and each record
/// without one with the whole block; a block within it keeps every pair.
#[test]
fn a_large_block_is_split_and_a_record_without_a_value_meets_all() {
    let records = df! {
        "id" => ["1", "2", "3", "4", "5", "6", "7", "8", "9"],
        "name_key" => ["华信科技", "华信科技", "华信科技", "华信科技", "华信科技", "华信科技", "鼎盛贸易", "鼎盛贸易", "鼎盛贸易"],
        "city" => [Some("北京"), Some("北京"), Some("上海"), None, Some("上海"), Some("深圳"), Some("北京"), Some("上海"), Some("深圳")],
        "tag" => ["x"; 9],
    }
    .unwrap();
    let stage = |rule: &str| {
        config(&format!(
            "
input: customers
output: golden
id: id
blocking: [{rule}]
compare:
  tag: {{ method: exact, weights: [8, 8] }}   # every candidate pair matches, so the pairs table lists them all
threshold: {{ match: 0.9, review: 0.5 }}
"
        ))
    };
    let pairs_of = |out: &StageOutput| {
        let pairs = table(out, "pairs");
        let sides = texts(pairs, "id_l").into_iter().zip(texts(pairs, "id_r"));
        let mut ids: Vec<String> =
            sides.map(|(a, b)| if a < b { format!("{a}-{b}") } else { format!("{b}-{a}") }).collect();
        ids.sort();
        ids
    };
    let split = stage("{ keys: [name_key], split_by: city, split_over: 4 }").run(vec![records.clone()]).unwrap();
    // 华信科技 (six records): 北京 1-2, 上海 3-5, and 4 (no city) with the other five;
    // 鼎盛贸易 (three records, within 4): all three pairs, whatever their cities.
    let expected = ["1-2", "1-4", "2-4", "3-4", "3-5", "4-5", "4-6", "7-8", "7-9", "8-9"];
    assert_eq!(pairs_of(&split), expected);
    let rule = &split.report.as_ref().unwrap()["pairs"]["by_rule"][0];
    assert_eq!((&rule["records"], &rule["pairs"]), (&9.into(), &10.into()), "{rule}");
    assert_eq!(rule["rule"], "name_key (over 4: by city)");
    let whole = stage("[name_key]").run(vec![records]).unwrap();
    assert_eq!(pairs_of(&whole).len(), 15 + 3);
}

#[test]
fn split_over_below_two_is_refused() {
    let built = crate::stages::testing::try_stage(
        "dedup",
        "
input: customers
output: golden
id: id
blocking: [{ keys: [name_key], split_by: city, split_over: 1 }]
compare:
  name_key: { method: exact }
threshold: { match: 0.9, review: 0.5 }
",
    );
    let message = crate::diag::render(&built.err().expect("refused"));
    assert!(message.contains("split_over must be at least 2"), "{message}");
}
