//! The dedup stage end to end: accuracy against the sample's ground truth, byte-identical
//! reruns, and a saved model reused instead of retraining.

use serde_json::Value;

use crate::util::{Project, example_manifest, example_run, repo, stderr, tally};

/// `tally eval --json` on a run directory.
fn evaluate(truth: &std::path::Path, run: &std::path::Path) -> Value {
    let out = tally(&["eval", "--truth", truth.to_str().unwrap(), run.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn read(path: std::path::PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn committed_sample_meets_the_accuracy_bar() {
    let e = evaluate(&repo().join("sample_data/truth.csv"), example_run());
    println!("committed sample: {e}");
    assert!(e["precision"].as_f64().unwrap() >= 0.98, "{e}");
    assert!(e["recall"].as_f64().unwrap() >= 0.95, "{e}");

    let manifest = example_manifest();
    let dedup = manifest["stages"].as_array().unwrap().iter().find(|s| s["kind"] == "dedup").unwrap();
    let report = &dedup["report"];
    // Row conservation: every cleaned record is in the map exactly once.
    let map = manifest["outputs"].as_array().unwrap().iter().find(|o| o["table"] == "golden_customers_map").unwrap();
    assert_eq!(map["rows"], dedup["rows_in"]);
    assert_eq!(report["records_in"], dedup["rows_in"]);
    assert_eq!(
        report["clusters"].as_u64().unwrap() + report["duplicates_found"].as_u64().unwrap(),
        dedup["rows_in"].as_u64().unwrap()
    );
    assert!(manifest["files"].as_array().unwrap().contains(&Value::from("golden_customers_model.json")));
}

#[test]
fn reruns_are_byte_identical_and_a_saved_model_scores_the_same() {
    let project = Project::new();
    let first = example_run();
    project.run_example();
    let second = project.latest("quarterly_inventory");
    assert_ne!(first, second);
    for file in ["golden_customers_map.parquet", "golden_customers.parquet", "golden_customers_model.json"] {
        assert_eq!(read(first.join(file)), read(second.join(file)), "{file} differs between runs");
    }

    // Point the stage at the trained model: no training, the same clusters.
    let text = std::fs::read_to_string(repo().join("pipelines/quarterly_inventory.yaml")).unwrap();
    let model = first.join("golden_customers_model.json");
    let text = text
        .replace("../sample_data/", &format!("{}/sample_data/", repo().display()))
        .replace("../schemas/", &format!("{}/schemas/", repo().display()))
        .replace(
            "      output: golden_customers\n",
            &format!("      output: golden_customers\n      model: {}\n", model.display()),
        );
    project.write("pipelines/reuse.yaml", text);
    let out = project.run("pipelines/reuse.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let reused = project.latest("quarterly_inventory");
    assert_eq!(read(first.join("golden_customers_map.parquet")), read(reused.join("golden_customers_map.parquet")));
}

#[test]
fn harder_noise_meets_the_accuracy_bar() {
    let project = Project::new();
    let data = project.path("data");
    let out =
        tally(&["sample", "--out", data.to_str().unwrap(), "--customers", "6000", "--seed", "3", "--noise", "hard"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(repo().join("pipelines/quarterly_inventory.yaml")).unwrap();
    project.write("pipelines/hard.yaml", text.replace("../sample_data/", "../data/"));
    let out = project.run("pipelines/hard.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let e = evaluate(&data.join("truth.csv"), &project.latest("quarterly_inventory"));
    println!("hard noise: {e}");
    assert!(e["precision"].as_f64().unwrap() >= 0.98, "{e}");
    assert!(e["recall"].as_f64().unwrap() >= 0.95, "{e}");
}
