//! The pipeline file: YAML parsing, key checks, stage configs, the planner. A source
//! file and schema exist beside it, so that fuzzed pipelines can reach the stages.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = common::project();
    let data_file = dir.join("customers.csv");
    if !data_file.exists() {
        std::fs::write(&data_file, "customer_id,name,category\nC1,甲公司,成单客户\n").unwrap();
    }
    let path = dir.join("fuzzed.yaml");
    std::fs::write(&path, data).unwrap();
    let _ = tally::plan::check(&path);
});
