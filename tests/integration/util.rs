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

pub fn read_parquet(path: &Path) -> polars::prelude::DataFrame {
    use polars::prelude::*;
    ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap()
}
