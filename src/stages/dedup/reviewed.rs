//! Reviewed decisions fed back (人工复核): a reviewer fills in `verdict` on the review
//! queue, and the next run reads it back as a table keyed by both records' (source,
//! id). "same" links the pair outright, "different" keeps it apart as a cannot-link
//! constraint, and a decided pair never returns to the queue. Decisions about records
//! that are gone are counted and reported, not fatal.

use polars::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::DedupConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Same,
    Different,
}

impl Verdict {
    /// same/different, and the words reviewers write instead (是/否, yes/no, y/n …).
    fn parse(text: &str) -> Option<Option<Verdict>> {
        match text.trim().to_lowercase().as_str() {
            "" => Some(None),
            "same" | "是" | "相同" | "同一" | "y" | "yes" | "true" | "1" | "match" => Some(Some(Verdict::Same)),
            "different" | "否" | "不同" | "不是" | "n" | "no" | "false" | "0" | "distinct" => {
                Some(Some(Verdict::Different))
            }
            _ => None,
        }
    }
}

/// What the stage made of the decisions table, for the manifest.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReviewReport {
    pub rows: usize,
    pub same: usize,
    pub different: usize,
    /// Rows with an empty verdict: still to be reviewed.
    pub undecided: usize,
    /// Rows whose verdict is neither same nor different, e.g. "maybe".
    pub unreadable: usize,
    /// Decisions naming a record this run does not have.
    pub stale: usize,
    /// Decided pairs that were candidates this run, and those linked or kept apart
    /// although no blocking rule found them.
    pub applied_to_candidates: usize,
    pub applied_beyond_candidates: usize,
}

/// Decisions by pair of input rows, smaller row first.
pub struct Reviewed {
    pub pairs: FxHashMap<(u32, u32), Verdict>,
    pub report: ReviewReport,
}

impl Reviewed {
    pub fn none() -> Reviewed {
        Reviewed { pairs: FxHashMap::default(), report: ReviewReport::default() }
    }

    pub fn get(&self, a: u32, b: u32) -> Option<Verdict> {
        self.pairs.get(&(a.min(b), a.max(b))).copied()
    }
}

/// The columns a decisions table needs: `<id>_l`, `<id>_r`, `<source>_l`,
/// `<source>_r` (with a source column) and `verdict`: the review queue's own.
pub fn columns(config: &DedupConfig) -> Vec<String> {
    let mut out = vec![format!("{}_l", config.id), format!("{}_r", config.id)];
    if let Some(s) = config.source_column() {
        out.extend([format!("{s}_l"), format!("{s}_r")]);
    }
    out.push("verdict".into());
    out
}

/// Reads the decisions against this run's records.
pub fn read(config: &DedupConfig, records: &DataFrame, decisions: &DataFrame) -> PolarsResult<Reviewed> {
    let text = |df: &DataFrame, c: &str| -> PolarsResult<StringChunked> {
        Ok(df.column(c)?.cast(&DataType::String)?.str()?.clone())
    };
    let source = config.source_column();
    let key = |s: Option<&str>, id: Option<&str>| format!("{}\u{1f}{}", s.unwrap_or(""), id.unwrap_or(""));
    let ids = text(records, &config.id)?;
    let sources = match source {
        Some(s) => Some(text(records, s)?),
        None => None,
    };
    let row_of: FxHashMap<String, u32> =
        (0..records.height()).map(|i| (key(sources.as_ref().and_then(|s| s.get(i)), ids.get(i)), i as u32)).collect();

    let side = |suffix: &str| -> PolarsResult<(StringChunked, Option<StringChunked>)> {
        let id = text(decisions, &format!("{}_{suffix}", config.id))?;
        let src = source.map(|s| text(decisions, &format!("{s}_{suffix}"))).transpose()?;
        Ok((id, src))
    };
    let ((id_l, src_l), (id_r, src_r)) = (side("l")?, side("r")?);
    let verdicts = text(decisions, "verdict")?;
    let mut reviewed = Reviewed::none();
    let report = &mut reviewed.report;
    report.rows = decisions.height();
    for i in 0..decisions.height() {
        let verdict = match Verdict::parse(verdicts.get(i).unwrap_or("")) {
            Some(Some(v)) => v,
            Some(None) => {
                report.undecided += 1;
                continue;
            }
            None => {
                report.unreadable += 1;
                continue;
            }
        };
        let row = |id: &StringChunked, src: &Option<StringChunked>| {
            row_of.get(&key(src.as_ref().and_then(|s| s.get(i)), id.get(i))).copied()
        };
        let (Some(a), Some(b)) = (row(&id_l, &src_l), row(&id_r, &src_r)) else {
            report.stale += 1;
            continue;
        };
        match verdict {
            Verdict::Same => report.same += 1,
            Verdict::Different => report.different += 1,
        }
        // A later row about the same pair wins: the reviewer changed their mind.
        reviewed.pairs.insert((a.min(b), a.max(b)), verdict);
    }
    Ok(reviewed)
}
