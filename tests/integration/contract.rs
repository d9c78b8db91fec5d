//! The stage contract end to end: named outputs whose schemas `check` derives without
//! running, findings and gates, deferred effects, the previous run in the context,
//! and interrupted runs.

use std::path::Path;

use crate::util::*;

const HEADER: &str = "客户编码,客户名称,客户分类,联系电话\n";

/// Customers where C1/C2 and C3/C4 share a phone and a name, and C5 stands alone.
fn customers() -> String {
    format!(
        "{HEADER}C1,华信科技有限公司,成单客户,13800000001\nC2,华信科技有限公司,成单客户,13800000001\n\
         C3,鼎盛贸易有限公司,潜在客户,13900000002\nC4,鼎盛贸易有限公司,潜在客户,13900000002\n\
         C5,宏远实业有限公司,成单客户,13700000003\n"
    )
}

/// A dedup stage on phone and name with fixed weights (five records train nothing).
fn dedup(output: &str, input: &str, extra: &str) -> String {
    format!(
        "  - dedup:
      input: {input}
      output: {output}
      id: customer_id
      blocking: [[phone]]
      compare:
        name: {{ method: exact, weights: [6, -4] }}
      threshold: {{ match: 0.9, review: 0.5 }}
{extra}"
    )
}

fn check(p: &Project, file: &str) -> (Option<i32>, String) {
    let out = tally(&["check", p.path(file).to_str().unwrap()]);
    (out.status.code(), stderr(&out))
}

#[test]
fn check_derives_the_schemas_of_three_named_outputs_without_running() {
    let p = Project::new();
    p.write("data/c.csv", customers());
    let downstream = "  - select:
      input: golden_pairs
      output: pair_scores
      columns: [customer_id_l, customer_id_r, match_probability, name_level]
  - count:
      input: golden_lineage
      output: lineage_by_rule
      by: [rule, from_customer_id]
  - count:
      input: golden_map
      output: cluster_sizes
      by: [cluster_size]
";
    let stages = format!("{}{downstream}", dedup("golden", "customers", ""));
    p.write("pipelines/p.yaml", stages_pipeline(&stages, "pair_scores, lineage_by_rule, cluster_sizes"));
    let (code, err) = check(&p, "pipelines/p.yaml");
    assert_eq!(code, Some(0), "{err}");
    assert!(!p.path("runs").exists() && !p.path("pipelines/runs").exists(), "check writes nothing");

    // A column the pairs table does not have is found, with the nearest one it has.
    p.write(
        "pipelines/p.yaml",
        stages_pipeline(&stages.replace("match_probability", "match_probabilty"), "pair_scores"),
    );
    let (code, err) = check(&p, "pipelines/p.yaml");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("error: stage 'pair_scores': column 'match_probabilty' not found"), "{err}");
    assert!(err.contains("help: did you mean 'match_probability'?"), "{err}");

    // And the run produces exactly those tables.
    p.write("pipelines/p.yaml", stages_pipeline(&stages, "pair_scores, lineage_by_rule, cluster_sizes"));
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let m = p.manifest("p");
    let dedup = m["stages"].as_array().unwrap().iter().find(|s| s["kind"] == "dedup").unwrap();
    let tables: Vec<&str> = dedup["tables"].as_array().unwrap().iter().map(|t| t["table"].as_str().unwrap()).collect();
    assert_eq!(tables, ["golden", "golden_map", "golden_pairs", "golden_review", "golden_lineage"]);
    let rows = |t: &str| dedup["tables"].as_array().unwrap().iter().find(|x| x["table"] == t).unwrap()["rows"].clone();
    assert_eq!((rows("golden"), rows("golden_map")), (3.into(), 5.into()), "C1+C2, C3+C4, C5");
}

#[test]
fn check_does_not_train_read_models_or_read_data_rows() {
    let p = Project::new();
    // A header that maps, then rows that are not UTF-8 past the part `check` reads.
    let mut csv = customers().into_bytes();
    while csv.len() < 400_000 {
        csv.extend_from_slice("C9,填充有限公司,成单客户,13800000009\n".as_bytes());
    }
    csv.extend_from_slice(b"C10,\xFF\xFE,x,1\n");
    p.write("data/c.csv", csv);
    p.write("data/model.json", "this is not a model");
    let text = stages_pipeline(&dedup("golden", "customers", "      model: ../data/model.json\n"), "golden")
        .replace("schema: ../schemas/customers.yaml", "schema: ../schemas/customers.yaml\n    encoding: utf-8");
    p.write("pipelines/p.yaml", text);
    let (code, err) = check(&p, "pipelines/p.yaml");
    assert_eq!(code, Some(0), "{err}");
    // The same pipeline fails at once when its data or model is read.
    let out = p.run("pipelines/p.yaml");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn table_names_that_would_be_paths_are_refused_by_check() {
    let p = Project::new();
    p.write("data/c.csv", customers());
    for name in ["../x", "a/b"] {
        let stages = format!("  - filter:\n      input: customers\n      output: \"{name}\"\n      where: \"true\"\n");
        p.write("pipelines/p.yaml", stages_pipeline(&stages, "customers"));
        let (code, err) = check(&p, "pipelines/p.yaml");
        assert_eq!(code, Some(2), "{err}");
        assert_reported(&err, &format!("table name '{name}' is not an identifier"), &p.path("pipelines/p.yaml"), 9, 15);
    }
}

#[test]
fn a_warning_is_shown_and_kept_and_an_error_finding_stops_the_run() {
    let p = Project::new();
    p.write("data/c.csv", customers());
    // Blocks of more than one record are skipped: a warning, not a failure.
    let stages = dedup("golden", "customers", "      max_block_size: 2\n").replace("[[phone]]", "[[category]]");
    p.write("pipelines/p.yaml", stages_pipeline(&stages, "golden"));
    let out = tally(&["run", p.path("pipelines/p.yaml").to_str().unwrap(), "--out", p.path("runs").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("warning: golden: skipped 1 blocks over max_block_size (2)"), "{summary}");
    let findings = p.manifest("p")["findings"].clone();
    assert_eq!(
        (findings[0]["severity"].as_str(), findings[0]["code"].as_str()),
        (Some("warn"), Some("blocks_skipped"))
    );
    let good = p.latest("p");

    // More rejects than the gate allows: exit 3, the run kept as failed, latest unmoved.
    p.write("data/c.csv", format!("{}C6,坏行公司,不存在的分类,1\n", customers()));
    let gated =
        stages_pipeline(&stages, "golden").replace("customers.yaml\n", "customers.yaml\n    max_reject_rate: 0.1\n");
    p.write("pipelines/p.yaml", gated);
    let out = p.run("pipelines/p.yaml");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("error: customers: 1 of 6 rows rejected (16.7%), above max_reject_rate 10.0%"));
    assert_eq!(p.latest("p"), good);
    let failed: Vec<_> = std::fs::read_dir(p.path("runs/p"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| d.to_string_lossy().ends_with(".failed"))
        .collect();
    assert_eq!(failed.len(), 1, "the stopped run is kept");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(failed[0].join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "failed");
    assert_eq!(manifest["findings"][0]["code"], "max_reject_rate");
    assert!(failed[0].join("rejects.parquet").is_file(), "the evidence is there");
    assert!(manifest["stages"].as_array().unwrap().is_empty(), "no stage ran after the level that failed");
}

#[test]
fn an_effect_is_applied_only_when_the_run_commits() {
    let p = Project::new();
    p.write("data/c.csv", customers());
    p.write("data/wrong_model.json", "{}");
    std::fs::create_dir(p.path("models")).unwrap();
    let saving = dedup("golden", "customers", "      save_model: ../models/customers.json\n");
    // A later stage fails at run time (its model file is not a model).
    let failing = dedup("again", "golden", "      model: ../data/wrong_model.json\n");
    p.write("pipelines/p.yaml", stages_pipeline(&format!("{saving}{failing}"), "golden, again"));
    let out = p.run("pipelines/p.yaml");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("stage 'again'"), "{}", stderr(&out));
    assert!(std::fs::read_dir(p.path("models")).unwrap().next().is_none(), "the store is as it was");

    p.write("pipelines/p.yaml", stages_pipeline(&saving, "golden"));
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let saved = std::fs::read(p.path("models/customers.json")).unwrap();
    assert_eq!(saved, std::fs::read(p.latest("p").join("golden_model.json")).unwrap());
    let names: Vec<_> = std::fs::read_dir(p.path("models")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["customers.json"], "no temporary file is left");
    let effect = &p.manifest("p")["effects"][0];
    assert_eq!(effect["bytes"].as_u64(), Some(saved.len() as u64));
    assert_eq!(effect["sha256"].as_str().unwrap(), sha256(&saved));
}

#[test]
fn the_context_carries_the_previous_runs_table() {
    let p = Project::new();
    p.write("data/c.csv", customers());
    let stages =
        "  - count:\n      input: customers\n      output: by_category\n      by: [category]\n      previous: true\n";
    p.write("pipelines/p.yaml", stages_pipeline(stages, "by_category"));
    assert!(p.run("pipelines/p.yaml").status.success());
    let first = p.manifest("p");
    assert!(first["previous_run"].is_null());

    // C3 leaves; C6 and C7 arrive.
    let now = customers().replace("C3,鼎盛贸易有限公司,潜在客户,13900000002\n", "");
    p.write(
        "data/c.csv",
        format!("{now}C6,新客户有限公司,成单客户,13600000004\nC7,新星有限公司,成单客户,13600000005\n"),
    );
    std::thread::sleep(std::time::Duration::from_millis(1100)); // a new run id
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.manifest("p")["previous_run"]["run_id"], first["run_id"]);
    let counts = read_parquet(&p.latest("p").join("by_category.parquet"));
    let column = |c: &str| -> Vec<Option<String>> {
        let c = counts.column(c).unwrap().cast(&polars::prelude::DataType::String).unwrap();
        c.str().unwrap().iter().map(|v| v.map(String::from)).collect()
    };
    let s = |v: &str| Some(v.to_string());
    assert_eq!(column("category"), [s("成单客户"), s("潜在客户"), s("Total")]);
    assert_eq!(column("customers"), [s("5"), s("1"), s("6")]);
    assert_eq!(column("customers_previous"), [s("3"), s("2"), s("5")]);
    assert_eq!(column("customers_change"), [s("2"), s("-1"), s("1")]);
}

#[test]
fn check_reports_independent_problems_together_with_snippets() {
    let p = Project::new();
    p.write("data/c.csv", customers());
    std::fs::copy(repo().join("sample_data/crm_customers.xlsx"), p.path("data/crm.xlsx")).unwrap();
    p.write("schemas/typo.yaml", "name: typo\ncolumns:\n  - name: customer_id\n    type: strng\n");
    let text = "\
name: p
descripton: a typo at the top
sources:
  customers:
    path: ../data/c.csv
    schema: ../schemas/customers.yaml
  crm:
    path: ../data/crm.xlsx
    schema: ../schemas/customers.yaml
    sheet: 客户表
  orders:
    path: ../data/c.cvs
    schema: ../schemas/typo.yaml
stages:
  - filter:
      input: customers
      output: in_scope
      where: \"categroy = '成单客户'\"
outputs: [in_scope]
";
    let file = p.write("pipelines/p.yaml", text);
    let (code, err) = check(&p, "pipelines/p.yaml");
    assert_eq!(code, Some(2), "{err}");
    let at = |message: &str, file: &Path, line: u32, column: u32, shown: &str| {
        assert_reported(&err, message, file, line, column);
        let rest = &err[err.find(&format!("error: {message}")).unwrap()..];
        assert!(rest.contains(&format!("{line} | {shown}")), "snippet of {message}:\n{err}");
    };
    at("unknown key 'descripton'", &file, 2, 1, "descripton: a typo at the top");
    assert!(err.contains("help: did you mean 'description'?"), "{err}");
    at("source 'orders': file not found", &file, 12, 11, "    path: ../data/c.cvs");
    assert!(err.contains("help: did you mean 'c.csv'?"), "{err}");
    at("source 'crm'", &file, 8, 11, "    path: ../data/crm.xlsx");
    assert!(err.contains("sheet '客户表' not found") && err.contains("did you mean '客户'?"), "{err}");
    at("stage 'in_scope': column 'categroy' not found", &file, 18, 14, "      where: \"categroy = '成单客户'\"");
    assert!(err.contains("help: did you mean 'category'?"), "{err}");
    assert!(err.contains("strng") && err.contains(&format!("{}:4:", p.path("schemas/typo.yaml").display())), "{err}");
}

#[test]
fn an_interrupted_run_leaves_no_partial_directory() {
    let p = Project::new();
    let pipeline = repo().join("pipelines/quarterly_inventory.yaml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["run", pipeline.to_str().unwrap(), "--out", p.path("runs").to_str().unwrap(), "--quiet"])
        .spawn()
        .unwrap();
    let base = p.path("runs/quarterly_inventory");
    let partial = |base: &Path| {
        std::fs::read_dir(base)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
    };
    let started = std::time::Instant::now();
    while !partial(&base) {
        assert!(started.elapsed().as_secs() < 60, "the run never started");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "the run was interrupted, not finished");
    assert!(!partial(&base), "the partial directory is removed");
    assert!(!base.join("latest").exists());
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
