//! Hostile and broken inputs (issue 11): each must end in a clear error or a correct
//! run, never a panic, a lost row or a write outside the run directory.

use crate::util::*;

const CUSTOMERS: &str = "客户编码,客户名称,客户分类\nC1,甲公司,成单客户\n";

/// A project with a small customers CSV and a pipeline `p` over it; `extra` goes
/// under the source.
fn customers_project(extra: &str) -> Project {
    let p = Project::new();
    p.write("data/c.csv", CUSTOMERS);
    p.write("pipelines/p.yaml", customers_pipeline("p", "c.csv", extra));
    p
}

fn no_run_left(p: &Project, pipeline: &str) -> bool {
    std::fs::read_dir(p.path("runs").join(pipeline)).into_iter().flatten().next().is_none()
}

/// Writes `rows` of text into a sheet, the first at 0-based row `first`.
fn write_rows(ws: &mut rust_xlsxwriter::Worksheet, first: u32, rows: &[&[&str]]) {
    for (r, row) in rows.iter().enumerate() {
        for (c, text) in row.iter().enumerate() {
            ws.write_string(first + r as u32, c as u16, *text).unwrap();
        }
    }
}

#[test]
fn a_parquet_file_cut_in_the_middle_is_an_error_naming_it_not_a_panic() {
    let p = Project::new();
    let whole = std::fs::read(repo().join("sample_data/transactions.parquet")).unwrap();
    // The footer is intact, so the reader trusts offsets that point past the end.
    let cut = [&whole[..20_000], &whole[whole.len() - 3_000..]].concat();
    p.write("data/t.parquet", cut);
    let pipeline = "name: p\nsources:\n  t:\n    path: ../data/t.parquet\n    schema: ../schemas/transactions.yaml\noutputs: [t]\n";
    p.write("pipelines/p.yaml", pipeline);
    let out = p.run("pipelines/p.yaml");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("t.parquet: cannot be read"), "{err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    assert!(no_run_left(&p, "p"));
}

#[test]
fn runs_started_together_get_their_own_ids_and_latest_is_the_last_started() {
    let p = customers_project("");
    let pipeline = p.path("pipelines/p.yaml");
    let runs: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
                .args(["run", pipeline.to_str().unwrap(), "--out", p.path("runs").to_str().unwrap(), "--quiet"])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut run in runs {
        assert!(run.wait().unwrap().success());
    }
    let dirs: Vec<_> = std::fs::read_dir(p.path("runs/p"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| d.join("manifest.json").is_file() && !d.ends_with("latest"))
        .collect();
    assert_eq!(dirs.len(), 8, "{dirs:?}");
    let started = |dir: &std::path::Path| {
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
        m["started_at"].as_str().unwrap().to_string()
    };
    let last = dirs.iter().max_by_key(|d| started(d)).unwrap();
    assert_eq!(&p.latest("p"), last);
}

#[test]
fn a_numeric_sheet_name_is_a_name_when_the_workbook_has_it() {
    let p = Project::new();
    let mut book = rust_xlsxwriter::Workbook::new();
    for (sheet, id) in [("2023", "OLD"), ("2024", "NEW")] {
        let ws = book.add_worksheet().set_name(sheet).unwrap();
        write_rows(ws, 0, &[&["客户编码", "客户名称", "客户分类"], &[id, "甲公司", "成单客户"]]);
    }
    book.save(p.path("data/c.xlsx")).unwrap();
    p.write("pipelines/p.yaml", customers_pipeline("p", "c.xlsx", "    sheet: 2024\n"));
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let customers = read_parquet(&p.latest("p").join("customers.parquet"));
    assert_eq!(customers.column("customer_id").unwrap().str().unwrap().get(0), Some("NEW"));

    p.write("pipelines/p.yaml", customers_pipeline("p", "c.xlsx", "    sheet: 2025\n"));
    let out = tally(&["check", p.path("pipelines/p.yaml").to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("sheet '2025' (by name, or by 0-based index) not found; sheets: 2023, 2024"), "{err}");
    assert!(!err.contains("Index("), "no Rust internals: {err}");
}

#[test]
fn a_table_named_like_the_run_directorys_own_files_is_refused() {
    let p = Project::new();
    p.write("data/c.csv", CUSTOMERS);
    for name in ["rejects", "manifest"] {
        let stages = format!("  - filter:\n      input: customers\n      output: {name}\n      where: \"true\"\n");
        let text = stages_pipeline(&stages, name);
        let file = p.write("pipelines/p.yaml", text);
        let out = tally(&["check", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        assert_reported(&stderr(&out), &format!("table name '{name}' is reserved"), &file, 7, 5);
    }
}

#[test]
fn a_folder_where_latest_belongs_is_refused_before_running() {
    let p = customers_project("");
    std::fs::create_dir_all(p.path("runs/p/latest")).unwrap();
    let out = p.run("pipelines/p.yaml");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error: is not the link tally keeps to the latest run"), "{}", stderr(&out));
    assert!(stderr(&out).contains("runs/p/latest"), "{}", stderr(&out));
    let entries: Vec<_> = std::fs::read_dir(p.path("runs/p")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, ["latest"], "nothing was run");
}

#[test]
fn a_cell_at_the_last_column_and_row_does_not_allocate_the_sheet() {
    let p = Project::new();
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, text) in ["客户编码", "客户名称", "客户分类"].iter().enumerate() {
        ws.write_string(0, c as u16, *text).unwrap();
        ws.write_string(1, c as u16, ["C1", "甲公司", "成单客户"][c]).unwrap();
    }
    // The sheet's bounding box is now A1:XFD1048576: 17 billion cells.
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    book.save(p.path("data/c.xlsx")).unwrap();
    assert!(std::fs::metadata(p.path("data/c.xlsx")).unwrap().len() < 10_000);
    p.write("pipelines/p.yaml", customers_pipeline("p", "c.xlsx", ""));
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let input = &p.manifest("p")["inputs"][0];
    assert_eq!((input["rows_read"].as_u64(), input["rows_rejected"].as_u64()), (Some(2), Some(1)));
    let rejects = read_parquet(&p.latest("p").join("rejects.parquet"));
    assert_eq!(rejects.column("row").unwrap().u64().unwrap().get(0), Some(1_048_576));
    assert_eq!(input["blank_rows"].as_u64(), Some(1_048_573), "the rows between are blank");
}

#[test]
fn a_list_column_is_json_text_and_an_overlong_text_is_cut_in_the_sheet_only() {
    use calamine::{Data, Reader, open_workbook_auto};
    let p = Project::new();
    let long = "长".repeat(40_000);
    p.write("data/c.csv", format!("客户编码,客户名称,客户分类\nC1,甲公司乙公司,成单客户\nC2,{long},成单客户\n"));
    let stages = "  - select:\n      input: customers\n      output: parts\n      derive:\n        pieces: \"STRING_TO_ARRAY(name, '公')\"\n      columns: [customer_id, name, pieces]\n";
    let text = stages_pipeline(stages, "parts");
    p.write("pipelines/p.yaml", text);
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));

    let mut book = open_workbook_auto(p.latest("p").join("p.xlsx")).unwrap();
    let sheet = book.worksheet_range("parts").unwrap();
    assert_eq!(sheet.get_value((1, 2)), Some(&Data::String("[\"甲\",\"司乙\",\"司\"]".into())));
    let Some(Data::String(cut)) = sheet.get_value((2, 1)) else { panic!("no text in B3") };
    assert_eq!(cut.chars().count(), 32_767);
    assert!(cut.starts_with("长长") && cut.ends_with("[cut: the Parquet file has the whole text]"));
    let parts = read_parquet(&p.latest("p").join("parts.parquet"));
    assert_eq!(parts.column("name").unwrap().str().unwrap().get(1), Some(long.as_str()), "Parquet keeps it whole");
    let finding = &p.manifest("p")["findings"][0];
    assert_eq!(finding["code"], "workbook_cell_cut");
    assert!(finding["message"].as_str().unwrap().contains("the first at row 3, column 'name'"), "{finding}");
}

#[test]
fn cr_only_line_endings_number_rows_by_line() {
    let p = Project::new();
    p.write("data/c.csv", "客户编码,客户名称,客户分类\rC1,甲公司,成单客户\rC2,乙公司,测试客户\r,丙公司,成单客户\r");
    p.write("pipelines/p.yaml", customers_pipeline("p", "c.csv", ""));
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let rejects = read_parquet(&p.latest("p").join("rejects.parquet"));
    let rows: Vec<u64> = rejects.column("row").unwrap().u64().unwrap().into_no_null_iter().collect();
    assert_eq!(rows, [3, 4]);
}

#[test]
fn options_that_cannot_work_are_refused_by_check() {
    let p = customers_project("    delimiter: \"，\"\n    header_row: 0\n");
    let file = p.path("pipelines/p.yaml");
    let out = tally(&["check", file.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_reported(&err, "delimiter '，' is not a single-byte character", &file, 6, 16);
    assert_reported(&err, "header_row counts from 1", &file, 7, 17);
}

#[test]
fn a_later_run_removes_the_partial_folders_of_killed_runs() {
    let p = customers_project("");
    // Linux pids stop at 4,194,304: this process cannot be running.
    let stale = p.path("runs/p/.2024-12-31_20241231T000000.4194305.partial");
    let running = p.path(&format!("runs/p/.2024-12-31_20241231T000001.{}.partial", std::process::id()));
    for dir in [&stale, &running] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("customers.parquet"), b"half written").unwrap();
    }
    assert!(p.run("pipelines/p.yaml").status.success());
    assert!(!stale.exists(), "the killed run's folder is removed");
    assert!(running.exists(), "a live run's folder is kept");
}

#[test]
fn an_excel_error_cell_is_a_reject_with_its_text_not_a_value() {
    use rust_xlsxwriter::Formula;
    let p = Project::new();
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, text) in ["客户编码", "客户名称", "客户分类", "备注"].iter().enumerate() {
        ws.write_string(0, c as u16, *text).unwrap();
    }
    for (r, id) in [(1, "C1"), (2, "C2"), (3, "C3")] {
        ws.write_string(r, 0, id).unwrap();
        ws.write_string(r, 2, "成单客户").unwrap();
    }
    ws.write_string(1, 1, "甲公司").unwrap();
    ws.write_formula(2, 1, Formula::new("=1/0").set_result("#DIV/0!")).unwrap();
    ws.write_string(3, 1, "丙公司").unwrap();
    // An error in a column nothing reads loses nothing.
    ws.write_formula(3, 3, Formula::new("=NA()").set_result("#N/A")).unwrap();
    book.save(p.path("data/c.xlsx")).unwrap();
    p.write("pipelines/p.yaml", customers_pipeline("p", "c.xlsx", ""));
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let input = &p.manifest("p")["inputs"][0];
    assert_eq!((input["rows_read"].as_u64(), input["rows_rejected"].as_u64()), (Some(3), Some(1)));
    let rejects = read_parquet(&p.latest("p").join("rejects.parquet"));
    let text = |c: &str| rejects.column(c).unwrap().str().unwrap().get(0).unwrap().to_string();
    assert_eq!(
        (rejects.column("row").unwrap().u64().unwrap().get(0), text("reason").as_str()),
        (Some(3), "excel_error")
    );
    assert_eq!(text("detail"), "column '客户名称' holds the Excel error #DIV/0!");
    let names = read_parquet(&p.latest("p").join("customers.parquet"));
    assert_eq!(names.column("name").unwrap().str().unwrap().no_null_iter().collect::<Vec<_>>(), ["甲公司", "丙公司"]);
}

#[test]
fn a_quote_never_closed_is_an_error_at_the_line_it_opens() {
    let p = Project::new();
    let mut csv = String::from(CUSTOMERS);
    for i in 2..30 {
        let name = if i == 5 { "\"乙公司".to_string() } else { format!("公司{i}") };
        csv.push_str(&format!("C{i},{name},成单客户\n"));
    }
    p.write("data/c.csv", csv);
    p.write("pipelines/p.yaml", customers_pipeline("p", "c.csv", ""));
    let out = p.run("pipelines/p.yaml");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("c.csv: line 6: a quoted field opens here and is never closed"), "{err}");
    assert!(no_run_left(&p, "p"));
}

#[test]
fn dot_dot_after_a_symlink_is_resolved_as_the_file_system_does() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("data/deep/inner")).unwrap();
    std::os::unix::fs::symlink(p.path("data/deep/inner"), p.path("sub")).unwrap();
    // `sub/..` is data/deep on disk, but the project folder as text.
    p.write("data/deep/c.csv", CUSTOMERS);
    p.write("c.csv", "客户编码,客户名称,客户分类\nWRONG,错公司,成单客户\n");
    p.write("pipelines/p.yaml", customers_pipeline("p", "../sub/../c.csv", ""));
    let text = std::fs::read_to_string(p.path("pipelines/p.yaml")).unwrap().replace("../data/../sub", "../sub");
    p.write("pipelines/p.yaml", text);
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let customers = read_parquet(&p.latest("p").join("customers.parquet"));
    assert_eq!(customers.column("customer_id").unwrap().str().unwrap().get(0), Some("C1"));
    let canonical = std::fs::canonicalize(p.path("data/deep/c.csv")).unwrap();
    assert_eq!(p.manifest("p")["inputs"][0]["path"], canonical.display().to_string());
}

#[test]
fn utf16_is_read_with_its_mark_and_named_without_it() {
    let p = Project::new();
    let utf16 = |text: &str| text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect::<Vec<u8>>();
    p.write("data/c.csv", [&b"\xFF\xFE"[..], &utf16(CUSTOMERS)].concat());
    p.write("pipelines/p.yaml", customers_pipeline("p", "c.csv", ""));
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.manifest("p")["inputs"][0]["encoding"], "utf-16le");

    p.write("data/c.csv", utf16(CUSTOMERS));
    let out = p.run("pipelines/p.yaml");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("it looks like UTF-16 without a byte order mark"), "{}", stderr(&out));
}

#[test]
fn a_folder_or_device_as_a_source_is_named_as_such() {
    let p = Project::new();
    std::fs::create_dir(p.path("data/c.csv")).unwrap();
    let file = p.write("pipelines/p.yaml", customers_pipeline("p", "c.csv", ""));
    let out = tally(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_reported(&stderr(&out), "source 'customers': ", &file, 4, 11);
    assert!(stderr(&out).contains("is not a regular file (a folder, device or pipe)"), "{}", stderr(&out));
}

#[test]
fn a_run_killed_at_any_moment_leaves_latest_and_the_store_whole() {
    let p = Project::new();
    let text = std::fs::read_to_string(repo().join("pipelines/quarterly_inventory.yaml")).unwrap();
    let text = text.replace("../sample_data/", &format!("{}/sample_data/", repo().display())).replace(
        "      output: golden_customers\n",
        "      output: golden_customers\n      save_model: ../models/customers.json\n",
    );
    p.write("pipelines/q.yaml", text);
    std::fs::create_dir(p.path("models")).unwrap();
    assert!(p.run("pipelines/q.yaml").status.success());
    let good = p.latest("quarterly_inventory");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["run", p.path("pipelines/q.yaml").to_str().unwrap(), "--out", p.path("runs").to_str().unwrap()])
            .args(["--quiet"])
            .spawn()
            .unwrap()
    };
    for delay in [5, 40, 120, 300, 600, 900] {
        let mut child = run();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL: no handler runs
        child.wait().unwrap();
        let latest = p.latest("quarterly_inventory");
        let manifest = std::fs::read_to_string(latest.join("manifest.json")).unwrap();
        assert!(manifest.contains("\"status\": \"ok\""), "latest is a complete run after a kill at {delay} ms");
        assert!(latest == good || latest.join("quarterly_inventory.xlsx").is_file());
        let saved = std::fs::read(p.path("models/customers.json")).unwrap();
        assert_eq!(saved, std::fs::read(latest.join("golden_customers_model.json")).unwrap(), "{delay} ms");
    }
    assert!(p.run("pipelines/q.yaml").status.success());
    let left = std::fs::read_dir(p.path("runs/quarterly_inventory")).unwrap();
    let partials = left.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".partial")).count();
    assert_eq!(partials, 0, "the killed runs' folders are gone");
}

#[test]
fn outputs_whose_sheets_would_collide_are_refused_by_check() {
    let p = Project::new();
    p.write("data/c.csv", CUSTOMERS);
    let stages = "  - filter:\n      input: customers\n      output: Customers\n      where: \"true\"\n";
    let text = stages_pipeline(stages, "customers, Customers");
    let file = p.write("pipelines/p.yaml", text);
    let out = tally(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_reported(&stderr(&out), "outputs 'customers' and 'Customers' differ only in case", &file, 11, 22);
}

#[test]
fn every_top_level_typo_is_reported_once_and_a_duplicate_key_in_the_files_words() {
    let p = Project::new();
    let file = p.write("pipelines/p.yaml", "nme: p\nsourcess: {}\noutput: [customers]\n");
    let out = tally(&["check", file.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2));
    for (key, line) in [("nme", 1), ("sourcess", 2), ("output", 3)] {
        assert_reported(&err, &format!("unknown key '{key}'"), &file, line, 1);
    }
    assert!(!err.contains("missing key"), "each problem once: {err}");

    let file = p.write("pipelines/p.yaml", "name: p\nname: q\nsources: {}\noutputs: []\n");
    let out = tally(&["check", file.to_str().unwrap()]);
    let err = stderr(&out);
    assert_reported(&err, "duplicate key 'name': a key may appear once in a mapping", &file, 2, 1);
    assert!(!err.contains("DuplicateKeyPolicy"), "{err}");
}

#[test]
fn a_yaml_alias_bomb_is_refused_in_words() {
    let p = Project::new();
    let mut text = String::from("name: p\nsources: {}\noutputs: []\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 10].join(", ")));
    }
    let file = p.write("pipelines/p.yaml", text);
    let out = tally(&["check", file.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: the file is larger or deeper than a pipeline ever needs (limit on nodes reached)"),
        "{err}"
    );
    assert!(!err.contains("Nodes {"), "no Rust debug text: {err}");
}

/// Rejects of a clean and a dedup stage after a union of a CSV and a titled XLSX name
/// the source, its file and the CSV line or Excel row, not the unioned table's position.
#[test]
fn stage_rejects_name_the_source_file_and_row_through_union_and_select() {
    let p = Project::new();
    // ERP line 3 and CRM row 4 have bad tax ids; CRM row 5 repeats ERP's id C1.
    p.write(
        "data/erp.csv",
        "客户编码,客户名称,客户分类,税号\nC1,甲公司,成单客户,91110000600037341L\nC2,乙公司,成单客户,91110000600037341N\nC3,丙公司,成单客户,\n",
    );
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.write_string(0, 0, "客户档案").unwrap();
    let rows: [&[&str]; 3] = [
        &["客户编码", "客户名称", "客户分类", "税号"],
        &["K1", "丁公司", "成单客户", "123"],
        &["C1", "戊公司", "成单客户", ""],
    ];
    write_rows(ws, 2, &rows);
    book.save(p.path("data/crm.xlsx")).unwrap();
    let source = |name: &str, file: &str| {
        format!("  {name}:\n    path: ../data/{file}\n    schema: ../schemas/customers.yaml\n    system: {name}\n")
    };
    p.write(
        "pipelines/p.yaml",
        format!(
            "name: p\nsources:\n{}{}stages:
  - union: {{ inputs: [erp, crm], output: all }}
  - select: {{ input: all, output: some, columns: [customer_id, name, tax_id, source_system] }}
  - clean:
      input: some
      output: cleaned
      columns:
        tax_id: {{ normalize: uscc, on_invalid: reject }}
  - dedup:
      input: cleaned
      output: golden
      id: customer_id
      blocking: [[name]]
      compare:
        name: {{ method: exact, weights: [6, -4] }}
      threshold: {{ match: 0.9, review: 0.5 }}
outputs: [golden, cleaned]
",
            source("erp", "erp.csv"),
            source("crm", "crm.xlsx")
        ),
    );
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let rejects = read_parquet(&p.latest("p").join("rejects.parquet"));
    let text = |c: &str, i: usize| rejects.column(c).unwrap().str().unwrap().get(i).unwrap().to_string();
    let mut got: Vec<(String, String, String, u64, String)> = (0..rejects.height())
        .map(|i| {
            let file = std::path::Path::new(&text("file", i)).file_name().unwrap().to_string_lossy().into_owned();
            let row = rejects.column("row").unwrap().u64().unwrap().get(i).unwrap();
            (text("stage", i), text("source", i), file, row, text("reason", i))
        })
        .collect();
    got.sort();
    let want = |stage: &str, source: &str, file: &str, row: u64, reason: &str| {
        (stage.to_string(), source.to_string(), file.to_string(), row, reason.to_string())
    };
    assert_eq!(
        got,
        [
            want("clean:cleaned", "crm", "crm.xlsx", 4, "invalid_bad_length"),
            want("clean:cleaned", "erp", "erp.csv", 3, "invalid_bad_check_character"),
            want("dedup:golden", "crm", "crm.xlsx", 5, "duplicate_id"),
        ]
    );
    for output in ["golden", "cleaned"] {
        let table = read_parquet(&p.latest("p").join(format!("{output}.parquet")));
        assert!(
            table.get_column_names().iter().all(|c| !c.starts_with("__")),
            "{output}: {:?}",
            table.get_column_names()
        );
    }
}

/// Reads `data/c.xlsx`'s only sheet through the customers pipeline; the rejects' reasons.
fn run_customers_xlsx(p: &Project) -> (polars::prelude::DataFrame, Vec<String>) {
    p.write("pipelines/p.yaml", customers_pipeline("p", "c.xlsx", ""));
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let rejects = read_parquet(&p.latest("p").join("rejects.parquet"));
    let reasons = rejects.column("reason").unwrap().str().unwrap().iter().flatten().map(String::from).collect();
    (read_parquet(&p.latest("p").join("customers.parquet")), reasons)
}

#[test]
fn a_two_row_header_with_merged_group_titles_feeds_every_column() {
    let p = Project::new();
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    let merged = rust_xlsxwriter::Format::new();
    ws.merge_range(0, 0, 0, 3, "客户档案 2024", &merged).unwrap();
    // 客户编码, 客户名称, 客户分类 merged down over both header rows; 联系方式 across two.
    for (c, name) in ["客户编码", "客户名称", "客户分类"].iter().enumerate() {
        ws.merge_range(1, c as u16, 2, c as u16, name, &merged).unwrap();
    }
    ws.merge_range(1, 3, 1, 4, "联系方式", &merged).unwrap();
    ws.write_string(2, 3, "电话").unwrap();
    ws.write_string(2, 4, "邮箱").unwrap();
    for (c, text) in ["C1", "甲公司", "成单客户", "13800138000", "a@jia.cn"].iter().enumerate() {
        ws.write_string(3, c as u16, *text).unwrap();
    }
    book.save(p.path("data/c.xlsx")).unwrap();
    let (customers, reasons) = run_customers_xlsx(&p);
    assert!(reasons.is_empty(), "the sub-header row is no data row: {reasons:?}");
    let text = |c: &str| customers.column(c).unwrap().str().unwrap().get(0).map(String::from);
    assert_eq!(customers.height(), 1);
    assert_eq!((text("phone"), text("email")), (Some("13800138000".into()), Some("a@jia.cn".into())));
    let m = p.manifest("p");
    assert_eq!(m["inputs"][0]["header_row"], 2, "{m}");
}

/// A formula saved without its computed value (as openpyxl and other programs write
/// them) is a reject, not an empty cell: rust_xlsxwriter writes a cached value, which
/// the test removes from the sheet's XML.
#[test]
fn a_formula_without_a_cached_value_is_a_reject() {
    use std::io::{Read, Write};
    let p = Project::new();
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    write_rows(ws, 0, &[&["客户编码", "客户名称", "客户分类"], &["C1", "甲公司", "成单客户"], &["C2", "", "成单客户"]]);
    ws.write_formula(2, 1, "=B2&\"分公司\"").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).unwrap();
        let name = file.name().unwrap().to_string();
        let mut content = String::new();
        file.read_to_string(&mut content).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            assert!(content.contains("</f><v>0</v>"), "{content}");
            content = content.replace("</f><v>0</v>", "</f>");
        }
        out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(content.as_bytes()).unwrap();
    }
    std::fs::write(p.path("data/c.xlsx"), out.finish().unwrap().into_inner()).unwrap();
    let (customers, reasons) = run_customers_xlsx(&p);
    assert_eq!(customers.height(), 1);
    assert_eq!(reasons, ["uncalculated_formula"]);
    let rejects = read_parquet(&p.latest("p").join("rejects.parquet"));
    assert_eq!(rejects.column("row").unwrap().u64().unwrap().get(0), Some(3));
}

#[test]
fn a_utf8_line_in_a_gbk_file_is_a_reject_with_its_line_not_mojibake() {
    let gbk = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
    let p = customers_project("");
    let bytes = [
        gbk("客户编码,客户名称,客户分类\r\nC1,北京甲公司,成单客户\r\n"),
        "C2,上海乙公司,成单客户\r\n".as_bytes().to_vec(),
        gbk("C3,广州丙公司,潜在客户\r\n"),
    ]
    .concat();
    p.write("data/c.csv", bytes);
    let out = p.run("pipelines/p.yaml");
    assert!(out.status.success(), "{}", stderr(&out));
    let customers = read_parquet(&p.latest("p").join("customers.parquet"));
    let names: Vec<&str> = customers.column("name").unwrap().str().unwrap().iter().flatten().collect();
    assert_eq!(names, ["北京甲公司", "广州丙公司"]);
    let rejects = read_parquet(&p.latest("p").join("rejects.parquet"));
    assert_eq!(rejects.column("reason").unwrap().str().unwrap().get(0), Some("mixed_encoding"));
    assert_eq!(rejects.column("row").unwrap().u64().unwrap().get(0), Some(3));
    assert!(rejects.column("record").unwrap().str().unwrap().get(0).unwrap().contains("上海乙公司"));
}

/// Some exporters (Apache POI) mark a workbook for recalculation over real formula
/// results: a result other than a placeholder (0, nothing) is a value. A row of
/// nothing but blanks and uncalculated formulas is a template's empty row.
#[test]
fn real_formula_results_load_even_in_a_workbook_marked_for_recalculation() {
    let p = Project::new();
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    let rows: [&[&str]; 3] = [
        &["客户编码", "客户名称", "客户分类", "信用额度"],
        &["C1", "甲公司", "成单客户"],
        &["C2", "甲公司", "成单客户"],
    ];
    write_rows(ws, 0, &rows);
    ws.write_formula(1, 3, rust_xlsxwriter::Formula::new("=40+2").set_result("42")).unwrap();
    ws.write_formula(2, 3, "=1+1").unwrap(); // rust_xlsxwriter's placeholder result: 0
    ws.write_formula(3, 3, "=D2*0").unwrap(); // a template's formula in an empty row
    book.save(p.path("data/c.xlsx")).unwrap();
    let (customers, reasons) = run_customers_xlsx(&p);
    assert_eq!(reasons, ["uncalculated_formula"]);
    assert_eq!(customers.height(), 1);
    let limit = customers.column("credit_limit").unwrap().cast(&polars::prelude::DataType::Float64).unwrap();
    assert_eq!(limit.f64().unwrap().get(0), Some(42.0));
    assert_eq!(p.manifest("p")["inputs"][0]["blank_rows"], 1, "the template row is blank");
}

/// A pipeline named without a folder (`tally check p.yaml` in its folder) resolves
/// `save_model:` beside it.
#[test]
fn a_bare_pipeline_file_name_resolves_paths_in_the_current_folder() {
    let p = Project::new();
    p.write("data/c.csv", CUSTOMERS);
    let pipeline = customers_pipeline("p", "c.csv", "").replace(
        "stages:\n",
        "stages:\n  - dedup:\n      input: customers\n      output: golden\n      id: customer_id\n      blocking: [[name]]\n      compare:\n        name: { method: exact, weights: [6, -4] }\n      threshold: { match: 0.9, review: 0.5 }\n      save_model: m.json\n",
    );
    p.write("pipelines/p.yaml", pipeline);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["check", "p.yaml"])
        .current_dir(p.path("pipelines"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}
