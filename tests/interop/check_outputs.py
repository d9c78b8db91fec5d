"""Reads a tally run directory with other tools: every Parquet file with pyarrow and
DuckDB, the workbook with openpyxl and LibreOffice. Fails loudly on any mismatch.

usage: python3 tests/interop/check_outputs.py RUN_DIR
"""
import json
import pathlib
import subprocess
import sys
import tempfile

import duckdb
import openpyxl
import pyarrow.parquet as pq

run = pathlib.Path(sys.argv[1]).resolve()
manifest = json.loads((run / "manifest.json").read_text())

for out in manifest["outputs"] + [{"table": "rejects", "parquet": "rejects.parquet", "rows": manifest["rejects"]["entries"]}]:
    path = run / out["parquet"]
    table = pq.read_table(path)
    assert table.num_rows == out["rows"], (path, table.num_rows, out["rows"])
    meta = pq.ParquetFile(path).metadata
    # An empty table is a valid file with no row groups, so nothing to compress.
    assert meta.num_row_groups == 0 or meta.row_group(0).column(0).compression == "ZSTD", path
    assert meta.num_row_groups > 0 or out["rows"] == 0, path
    ((count,),) = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()
    assert count == out["rows"], (path, count)
    print(f"parquet {out['parquet']}: {count} rows (pyarrow, duckdb)")

counts = duckdb.sql(f"SELECT * FROM read_parquet('{run / 'counts_by_category_region.parquet'}')").fetchall()
total = [r for r in counts if r[0] == "合计"]
scope = next(o["rows"] for o in manifest["outputs"] if o["table"] == "customers_in_scope")
assert total and total[0][-1] == scope, (total, scope)

book_path = run / manifest["workbook"]["path"]
book = openpyxl.load_workbook(book_path)
for note in manifest["workbook"]["sheets"]:
    sheet = book[note["sheet"]]
    assert sheet.max_row == note["rows_written"] + 1, (note, sheet.max_row)
    assert sheet.freeze_panes == "A2", sheet.freeze_panes
    assert sheet.auto_filter.ref, note
    assert all(c.font.bold for c in sheet[1]), note
    formulas = [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert not formulas, (note, formulas[:5])
print(f"xlsx {book_path.name}: {len(book.sheetnames)} sheets (openpyxl)")

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/profile", "--convert-to", "csv", "--outdir", tmp, str(book_path)],
        check=True, capture_output=True, timeout=180,
    )
    first = (pathlib.Path(tmp) / (book_path.stem + ".csv")).read_text(encoding="utf-8", errors="replace").splitlines()
    expected = manifest["workbook"]["sheets"][0]["rows_written"] + 1
    assert len(first) == expected, (len(first), expected)
print(f"xlsx {book_path.name}: first sheet converted by LibreOffice, {expected} lines")
