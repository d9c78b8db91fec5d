//! The one-screen summary printed after a run.

use std::fmt::Write;

use crate::run::{RunReport, StageCensus, display_path};

pub fn render(report: &RunReport) -> String {
    let m = &report.manifest;
    let stage_label = |kind: &str, id: &str| format!("{kind} {id}");
    let names = m
        .inputs
        .iter()
        .map(|i| i.run.name.chars().count())
        .chain(m.stages.iter().map(|s| stage_label(s.kind, &s.id).chars().count()))
        .chain(m.outputs.iter().map(|o| o.table.chars().count()));
    let w = names.max().unwrap_or(0).max(12);

    let mut s = String::new();
    let _ = writeln!(s, "tally run {} as of {} ({})", m.pipeline.name, m.as_of, m.run_id);
    let _ = writeln!(s, "\n  {:<w$} {:>10} {:>10} {:>10}", "source", "read", "accepted", "rejected");
    for i in &m.inputs {
        let st = &i.run.stats;
        let _ =
            writeln!(s, "  {:<w$} {:>10} {:>10} {:>10}", i.run.name, st.rows_read, st.rows_accepted, st.rows_rejected);
    }
    let _ = writeln!(s, "\n  {:<w$} {:>10} {:>10} {:>10}", "stage", "rows in", "rows out", "seconds");
    for st in &m.stages {
        let _ = writeln!(
            s,
            "  {:<w$} {:>10} {:>10} {:>10.3}",
            stage_label(st.kind, &st.id),
            st.rows_in,
            st.rows_out,
            st.seconds
        );
    }
    let _ = writeln!(s, "\n  {:<w$} {:>10}", "output", "rows");
    for o in &m.outputs {
        let _ = writeln!(s, "  {:<w$} {:>10}", o.table, o.rows);
    }
    for f in m.findings.iter().filter(|f| f.severity == crate::stages::Severity::Warn) {
        let _ = writeln!(s, "\nwarning: {}: {}", f.origin, f.message);
    }
    if let Some(p) = &m.previous_run {
        let _ = writeln!(s, "\nprevious run: {} (as of {})", p.run_id, p.as_of);
    }
    let reasons: Vec<String> = m.rejects.by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
    let _ = writeln!(s, "\nrejects: {} rows, {} entries ({})", m.rejects.rows, m.rejects.entries, reasons.join(", "));
    let _ = writeln!(
        s,
        "written: {}/ (Parquet per output, {}, rejects.parquet, manifest.json)",
        display_path(&report.dir),
        m.workbook.path
    );
    let _ = writeln!(s, "time: {:.2} s", m.seconds);
    s
}

/// `tally check --pairs`: each blocking rule's records, blocks and pairs, its growth
/// when the records double, and its pairs at ten times the records.
pub fn render_census(found: &[StageCensus]) -> String {
    let mut s = String::new();
    for stage in found {
        let w = stage.rules.iter().map(|r| r.rule.chars().count()).max().unwrap_or(0).max(12);
        let _ = writeln!(s, "dedup {}: blocks counted, no pair made", stage.stage);
        let _ = writeln!(
            s,
            "  {:<w$} {:>10} {:>10} {:>12} {:>8} {:>10} {:>8} {:>14}",
            "rule", "records", "blocks", "pairs", "/record", ">8 blocks", "×2 recs", "pairs ×10 recs"
        );
        for r in &stage.rules {
            let _ = writeln!(
                s,
                "  {:<w$} {:>10} {:>10} {:>12} {:>8.2} {:>9.0}% {:>7.2}× {:>14.0}",
                r.rule,
                r.records,
                r.blocks,
                r.pairs,
                r.pairs as f64 / r.records.max(1) as f64,
                r.pairs_in_large_blocks as f64 / r.pairs.max(1) as f64 * 100.0,
                r.growth,
                r.pairs_at(10.0)
            );
        }
        for r in stage.rules.iter().filter(|r| r.skipped_blocks > 0) {
            let _ = writeln!(s, "  note: {} has {} blocks over max_block_size, not counted", r.rule, r.skipped_blocks);
        }
        for r in stage.rules.iter().filter(|r| r.grows_quadratically()) {
            let _ = writeln!(s, "  warning: {}", r.growth_warning());
        }
    }
    s
}
