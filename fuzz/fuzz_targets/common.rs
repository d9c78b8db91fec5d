//! A scratch project the targets write the fuzzed file into: the customers schema and a
//! pipeline with one source. Each process gets its own folder.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const SCHEMA: &str = include_str!("../../schemas/customers.yaml");

pub fn project() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        contain_dependency_panics();
        let dir = std::env::temp_dir().join(format!("tally-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("schemas")).unwrap();
        std::fs::write(dir.join("schemas/customers.yaml"), SCHEMA).unwrap();
        dir
    })
}

/// Writes `data` as the source file `file`, with a pipeline that reads it, and loads it
/// through the same path `tally run` takes. Errors are fine; panics are what we hunt.
#[allow(dead_code)] // the YAML target writes its own files
pub fn load_source(file: &str, data: &[u8], options: &str) {
    let dir = project();
    std::fs::write(dir.join(file), data).unwrap();
    let pipeline = format!(
        "name: fuzz\nsources:\n  customers:\n    path: {file}\n    schema: schemas/customers.yaml\n{options}outputs: [customers]\n"
    );
    let path = dir.join("pipeline.yaml");
    std::fs::write(&path, pipeline).unwrap();
    let Ok((pipeline, _)) = tally::config::load_pipeline(&path) else { panic!("the fuzz pipeline itself must load") };
    for source in &pipeline.sources {
        let load = || {
            let _ = tally::load::probe(source);
            if let Ok(loaded) = tally::load::load(source) {
                assert_eq!(loaded.stats.rows_read, loaded.stats.rows_accepted + loaded.stats.rows_rejected);
            }
        };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(load));
    }
}

/// tally turns a panic inside a loader into an error naming the file (its executor
/// catches it), so a panic in a dependency, such as an arithmetic overflow that only
/// debug assertions check, is contained as in a run: it unwinds to `catch_unwind`. A
/// panic in tally's own code still goes to libFuzzer's hook, which reports a crash.
fn contain_dependency_panics() {
    let fuzzer_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_dependency = info.location().is_some_and(|l| l.file().contains("/.cargo/registry/"));
        if !in_dependency {
            fuzzer_hook(info);
        }
    }));
}
