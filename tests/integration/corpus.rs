//! The corpus of bad and hostile inputs (`tests/corpus/*.yaml`). Each case is a small
//! project (a pipeline, data files, the repo's schemas) and the outcome it must have.
//! For every case the runner asserts what holds for all inputs: no panic and no hang,
//! the exit code and message, rows read = accepted + rejected with every rejected row
//! in the rejects, no `latest` for a run that did not succeed, and nothing written
//! outside `runs/<pipeline>/`. `TALLY_CORPUS=<text>` runs the cases whose file or name
//! contains it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::util::*;

/// One case of a corpus file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// Files of the project, by path relative to it; the first under `data/` is the
    /// default pipeline's source.
    #[serde(default)]
    files: BTreeMap<String, File>,
    /// The whole pipeline file (`pipelines/p.yaml`); `{root}` is the project's parent,
    /// outside it. Absent: one customers source, counted by category.
    #[serde(default)]
    pipeline: Option<String>,
    /// Lines under the default pipeline's source (`    sheet: 2`).
    #[serde(default)]
    source: String,
    /// `run` (default) or `check`.
    #[serde(default)]
    command: Option<String>,
    exit: i32,
    /// Fragments the error output must hold; `{file}` is the default source's path.
    #[serde(default)]
    stderr: Vec<String>,
    /// Reject entries by reason, exactly.
    #[serde(default)]
    reasons: Option<BTreeMap<String, usize>>,
    /// Rows accepted from the sources, in order.
    #[serde(default)]
    accepted: Option<Vec<usize>>,
}

/// A file's content: text as UTF-8, or encoded, or bytes, or generated.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum File {
    Text(String),
    Spec(Spec),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum Spec {
    /// Text encoded as GBK.
    Gbk(String),
    /// Text encoded as UTF-16LE, with its byte order mark when `bom`.
    Utf16le { text: String, bom: bool },
    /// Bytes as hex, spaces ignored.
    Hex(String),
    /// A header line, then `line` `times` times: big inputs are made, not committed.
    Repeat { header: String, line: String, times: usize },
    /// A workbook: sheets of rows of cells; a cell starting with `=` is a formula.
    Xlsx(Vec<Sheet>),
    /// A file of the repo, such as the sample data.
    Repo(String),
    /// A symbolic link to this path.
    Symlink(String),
    /// A folder.
    Dir,
    /// The first `n` bytes of a repo file.
    RepoPrefix { path: String, bytes: usize },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sheet {
    name: String,
    rows: Vec<Vec<String>>,
}

const TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn every_corpus_case_ends_as_expected_without_loss_or_escape() {
    let filter = std::env::var("TALLY_CORPUS").unwrap_or_default();
    let mut failures = Vec::new();
    let mut ran = 0;
    for file in corpus_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let cases: Vec<Case> = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let group = file.file_stem().unwrap().to_string_lossy().into_owned();
        for case in cases {
            let id = format!("{group}/{}", case.name);
            if !id.contains(&filter) {
                continue;
            }
            ran += 1;
            if let Err(why) = run_case(&case) {
                failures.push(format!("{id}: {why}"));
            }
        }
    }
    assert!(ran > 0, "no corpus case matches '{filter}'");
    assert!(failures.is_empty(), "{} of {ran} cases failed:\n{}", failures.len(), failures.join("\n\n"));
    if filter.is_empty() {
        assert!(ran >= 150, "the corpus holds {ran} cases; it must keep at least 150");
    }
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn run_case(case: &Case) -> Result<(), String> {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("p");
    for sub in ["schemas", "pipelines", "data", "runs"] {
        std::fs::create_dir_all(project.join(sub)).unwrap();
    }
    for entry in std::fs::read_dir(repo().join("schemas")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, project.join("schemas").join(path.file_name().unwrap())).unwrap();
    }
    for (rel, file) in &case.files {
        write_file(&project.join(rel), file)?;
    }
    let data_file = case.files.keys().find(|k| k.starts_with("data/")).cloned().unwrap_or("data/c.csv".into());
    let pipeline = match &case.pipeline {
        Some(text) => text.replace("{root}", &root.path().display().to_string()),
        None => customers_pipeline("p", data_file.trim_start_matches("data/"), &case.source),
    };
    let pipeline_path = project.join("pipelines/p.yaml");
    std::fs::write(&pipeline_path, pipeline).unwrap();
    let before = tree(root.path());
    let latest_before = latest_links(&project.join("runs"));

    let command = case.command.as_deref().unwrap_or("run");
    let mut args = vec![command, pipeline_path.to_str().unwrap()];
    let out = project.join("runs");
    if command == "run" {
        args.extend(["--out", out.to_str().unwrap(), "--quiet"]);
    }
    let (code, err) = tally_within(&args, TIMEOUT)?;
    let err_one_line = err.replace('\n', "\n    ");
    if err.contains("panicked") || code == 101 {
        return Err(format!("panicked (exit {code}):\n    {err_one_line}"));
    }
    if code != case.exit {
        return Err(format!("exit {code}, expected {}:\n    {err_one_line}", case.exit));
    }
    let file = project.join(&data_file).display().to_string();
    for fragment in &case.stderr {
        let fragment = fragment.replace("{file}", &file);
        if !err.contains(&fragment) {
            return Err(format!("no '{fragment}' in:\n    {err_one_line}"));
        }
    }
    nothing_outside_runs(root.path(), &before, &tree(root.path()))?;
    if command == "run" {
        check_run(case, &out, &latest_before)?;
    }
    Ok(())
}

/// Runs tally, killing it past `limit`: a hang is a failure, not a stuck test.
fn tally_within(args: &[&str], limit: Duration) -> Result<(i32, String), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            return Err(format!("still running after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok((status.code().unwrap_or(-1), reader.join().unwrap()))
}

/// Every path under `root` with its size, links not followed.
fn tree(root: &Path) -> BTreeMap<PathBuf, u64> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let meta = entry.path().symlink_metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            }
            found.insert(entry.path(), if meta.is_file() { meta.len() } else { 0 });
        }
    }
    found
}

/// Whatever changed must lie under `p/runs/<pipeline>/`, the pipeline's name being one
/// plain folder name.
fn nothing_outside_runs(
    root: &Path,
    before: &BTreeMap<PathBuf, u64>,
    after: &BTreeMap<PathBuf, u64>,
) -> Result<(), String> {
    let runs = root.join("p/runs");
    let changed = after.iter().filter(|(p, size)| before.get(*p) != Some(size)).map(|(p, _)| p);
    let removed = before.keys().filter(|p| !after.contains_key(*p));
    for path in changed.chain(removed) {
        let Ok(rel) = path.strip_prefix(&runs) else {
            return Err(format!("wrote or removed outside the run directory: {}", path.display()));
        };
        let first = rel.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned());
        if first.is_none_or(|f| f.is_empty() || f.starts_with('.')) {
            return Err(format!("wrote outside a pipeline's folder: {}", path.display()));
        }
    }
    Ok(())
}

/// Each pipeline's `latest`, and what it links to (`None`: not a link).
fn latest_links(out: &Path) -> BTreeMap<PathBuf, Option<PathBuf>> {
    let pipelines = std::fs::read_dir(out).into_iter().flatten().flatten().map(|e| e.path().join("latest"));
    pipelines.filter(|l| l.symlink_metadata().is_ok()).map(|l| (l.clone(), std::fs::read_link(&l).ok())).collect()
}

/// A run that did not succeed leaves every `latest` as it was; one that did conserves
/// its rows.
fn check_run(case: &Case, out: &Path, latest_before: &BTreeMap<PathBuf, Option<PathBuf>>) -> Result<(), String> {
    let links = latest_links(out);
    if case.exit != 0 {
        if &links != latest_before {
            return Err(format!("a run that exits {} moved latest: {latest_before:?} → {links:?}", case.exit));
        }
        return Ok(());
    }
    let latest: Vec<&PathBuf> = links.keys().filter(|l| latest_before.get(*l) != links.get(*l)).collect();
    let [latest] = latest.as_slice() else {
        return Err(format!("a successful run has no single new latest: {links:?}"));
    };
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(latest.join("manifest.json")).unwrap()).unwrap();
    let rejects = read_parquet(&latest.join("rejects.parquet"));
    let mut accepted = Vec::new();
    for input in manifest["inputs"].as_array().unwrap() {
        let n = |k: &str| input[k].as_u64().unwrap() as usize;
        if n("rows_read") != n("rows_accepted") + n("rows_rejected") {
            return Err(format!("rows not conserved: {input}"));
        }
        let stage = format!("load:{}", input["source"].as_str().unwrap());
        let rows = load_rejected_rows(&rejects, &stage);
        if rows != n("rows_rejected") {
            return Err(format!("{} rows rejected but {rows} rows in the rejects of {stage}", n("rows_rejected")));
        }
        accepted.push(n("rows_accepted"));
    }
    if let Some(want) = &case.accepted
        && want != &accepted
    {
        return Err(format!("accepted {accepted:?}, expected {want:?}"));
    }
    if let Some(want) = &case.reasons {
        let got: BTreeMap<String, usize> = manifest["rejects"]["by_reason"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap() as usize))
            .collect();
        if &got != want {
            return Err(format!("reasons {got:?}, expected {want:?}"));
        }
    }
    Ok(())
}

fn load_rejected_rows(rejects: &polars::prelude::DataFrame, stage: &str) -> usize {
    let stages = rejects.column("stage").unwrap().str().unwrap();
    let rows = rejects.column("row").unwrap().u64().unwrap();
    let distinct: std::collections::BTreeSet<u64> =
        stages.iter().zip(rows.iter()).filter(|(s, _)| *s == Some(stage)).filter_map(|(_, r)| r).collect();
    distinct.len()
}

fn write_file(path: &Path, file: &File) -> Result<(), String> {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let bytes = match file {
        File::Text(text) => text.as_bytes().to_vec(),
        File::Spec(Spec::Gbk(text)) => encoding_rs::GBK.encode(text).0.into_owned(),
        File::Spec(Spec::Utf16le { text, bom }) => {
            let mark: &[u8] = if *bom { b"\xFF\xFE" } else { b"" };
            mark.iter().copied().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect()
        }
        File::Spec(Spec::Hex(hex)) => {
            let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            digits
                .chunks(2)
                .map(|d| u8::from_str_radix(std::str::from_utf8(d).unwrap(), 16).map_err(|e| format!("hex: {e}")))
                .collect::<Result<_, _>>()?
        }
        File::Spec(Spec::Repeat { header, line, times }) => {
            let mut text = format!("{header}\n");
            for i in 0..*times {
                text.push_str(&line.replace("{i}", &i.to_string()));
                text.push('\n');
            }
            text.into_bytes()
        }
        File::Spec(Spec::Xlsx(sheets)) => workbook(sheets)?,
        File::Spec(Spec::Repo(rel)) => std::fs::read(repo().join(rel)).unwrap(),
        File::Spec(Spec::RepoPrefix { path, bytes }) => {
            let mut all = std::fs::read(repo().join(path)).unwrap();
            all.truncate(*bytes);
            all
        }
        File::Spec(Spec::Symlink(target)) => {
            std::os::unix::fs::symlink(target, path).map_err(|e| e.to_string())?;
            return Ok(());
        }
        File::Spec(Spec::Dir) => {
            std::fs::create_dir_all(path).unwrap();
            return Ok(());
        }
    };
    std::fs::write(path, bytes).map_err(|e| e.to_string())
}

fn workbook(sheets: &[Sheet]) -> Result<Vec<u8>, String> {
    let mut book = rust_xlsxwriter::Workbook::new();
    for sheet in sheets {
        let ws = book.add_worksheet().set_name(&sheet.name).map_err(|e| e.to_string())?;
        for (r, row) in sheet.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                let written = match cell.parse::<f64>() {
                    _ if cell.is_empty() => continue,
                    _ if cell.starts_with('=') => ws.write_formula(r, c, cell.as_str()),
                    Ok(n) if !cell.starts_with('0') || cell == "0" => ws.write_number(r, c, n),
                    _ => ws.write_string(r, c, cell),
                };
                written.map_err(|e| e.to_string())?;
            }
        }
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}
