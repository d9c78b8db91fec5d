//! The one-screen summary printed after a run.

use std::fmt::Write;

use crate::run::{RunReport, display_path};

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
