//! Test fixtures: a temp project with the repo's schemas, and a way to run `tally`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A temp folder with `schemas/` copied from the repo, `pipelines/` and `data/`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["schemas", "pipelines", "data"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        for entry in std::fs::read_dir(repo().join("schemas")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join("schemas").join(path.file_name().unwrap())).unwrap();
        }
        Project { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Runs `tally run` on a pipeline of this project, into `<project>/runs`.
    pub fn run(&self, pipeline: &str) -> Output {
        tally(&["run", self.path(pipeline).to_str().unwrap(), "--out", self.path("runs").to_str().unwrap(), "--quiet"])
    }

    /// Runs the repo's example pipeline on the committed sample into this project.
    pub fn run_example(&self) {
        let pipeline = repo().join("pipelines/quarterly_inventory.yaml");
        let out = tally(&["run", pipeline.to_str().unwrap(), "--out", self.path("runs").to_str().unwrap(), "--quiet"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }

    /// The run directory `latest` points at.
    pub fn latest(&self, name: &str) -> PathBuf {
        std::fs::canonicalize(self.path("runs").join(name).join("latest")).unwrap()
    }

    pub fn manifest(&self, name: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(self.latest(name).join("manifest.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

/// The run directory of one run of the example pipeline on the committed sample,
/// shared by every test that only reads its outputs.
pub fn example_run() -> &'static Path {
    static RUN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("example-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let pipeline = repo().join("pipelines/quarterly_inventory.yaml");
        let run = tally(&["run", pipeline.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
        assert!(run.status.success(), "{}", stderr(&run));
        std::fs::canonicalize(out.join("quarterly_inventory/latest")).unwrap()
    })
}

/// The shared example run's manifest.
pub fn example_manifest() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(example_run().join("manifest.json")).unwrap()).unwrap()
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn tally(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally")).args(args).output().unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A pipeline over one customers source.
pub fn customers_pipeline(name: &str, file: &str, extra: &str) -> String {
    format!(
        "name: {name}\nsources:\n  customers:\n    path: ../data/{file}\n    schema: ../schemas/customers.yaml\n{extra}stages:\n  - count:\n      input: customers\n      output: counts\n      by: [category]\noutputs: [counts, customers]\n"
    )
}

/// A pipeline over `data/c.csv` with `stages` (indented as list items) and `outputs`.
pub fn stages_pipeline(stages: &str, outputs: &str) -> String {
    format!(
        "name: p\nsources:\n  customers:\n    path: ../data/c.csv\n    schema: ../schemas/customers.yaml\nstages:\n{stages}outputs: [{outputs}]\n"
    )
}

pub fn read_parquet(path: &Path) -> polars::prelude::DataFrame {
    use polars::prelude::*;
    ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap()
}

/// Asserts that `tally check`'s output reports `message` at `file:line:column`.
pub fn assert_reported(err: &str, message: &str, file: &Path, line: u32, column: u32) {
    let i = err.find(&format!("error: {message}")).unwrap_or_else(|| panic!("no '{message}' in:\n{err}"));
    let place = format!("--> {}:{line}:{column}", file.display());
    let next = err[i..].find("--> ").unwrap_or_else(|| panic!("no position for '{message}':\n{err}"));
    assert!(err[i + next..].starts_with(&place), "'{message}' not at {line}:{column}:\n{err}");
}
