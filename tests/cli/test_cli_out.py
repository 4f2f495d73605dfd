"""``--out`` writes what its extension says, refuses what it cannot write before any work, and
writes atomically (issue 23)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest


@pytest.mark.slow
def test_the_extension_of_out_says_the_format(store_cli, zeror_store, tmp_path: Path) -> None:
    """The issue's cases: before, ``export zeror --out f.csv`` wrote Parquet into ``f.csv``
    and ``sql``, ``report`` and ``predict`` printed to the terminal and wrote no file."""

    def ok(*args):
        result = store_cli(zeror_store, *args)
        assert result.code == 0, result.err
        return result

    f_csv = tmp_path / "f.csv"
    assert ok("export", "zeror", "--out", f_csv).out == f"wrote 240 rows to {f_csv}\n"
    assert len(list(csv.DictReader(io.StringIO(f_csv.read_text())))) == 240
    f_parquet = tmp_path / "f.parquet"
    ok("export", "zeror", "--out", f_parquet)
    assert pq.read_table(f_parquet).num_rows == 240

    q_csv = tmp_path / "q.csv"
    assert ok("sql", "SELECT 1 AS x", "--out", q_csv).out == f"wrote 1 row to {q_csv}\n"
    assert q_csv.read_text() == '"x"\n1\n'  # pyarrow quotes headers
    ok("sql", "SELECT 1 AS x", "--out", tmp_path / "q.json")
    assert json.loads((tmp_path / "q.json").read_text()) == [{"x": 1}]
    ok("sql", "SELECT 1 AS x", "--out", tmp_path / "q.md")
    assert (tmp_path / "q.md").read_text().splitlines()[0] == "| x |"
    ok("sql", "SELECT 1 AS x", "--out", tmp_path / "q.parquet")
    assert pq.read_table(tmp_path / "q.parquet").to_pylist() == [{"x": 1}]

    r_tex = tmp_path / "r.tex"
    assert ok("report", "zeror", "--out", r_tex).out == f"wrote 1 row to {r_tex}\n"
    assert "\\toprule" in r_tex.read_text()
    ok("report", "zeror", "--out", tmp_path / "r.md")
    assert (tmp_path / "r.md").read_text().startswith("| Run")
    ok("report", "zeror", "--format", "json", "--out", tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())[0]["run"] == "zeror"

    p_csv = tmp_path / "p.csv"
    assert ok("predict", "zeror", "--out", p_csv).out == f"wrote 120 rows to {p_csv}\n"
    assert len(list(csv.DictReader(io.StringIO(p_csv.read_text())))) == 120

    runs_svg = tmp_path / "runs.svg"
    assert ok("plot", "runs", "zeror", "--out", runs_svg).out == f"wrote {runs_svg}\n"
    assert runs_svg.read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("export", "zeror", "--out", "f.xlsx"),
         "error: --out f.xlsx: unknown extension '.xlsx'; expected .parquet or .csv"),
        (("export", "zeror", "--format", "csv", "--out", "f.parquet"),
         "error: --out f.parquet: a .parquet file holds parquet, not --format csv"),
        (("export", "features", "aus:mean", "--out", "a.xlsx"), "unknown extension '.xlsx'"),
        (("sql", "SELECT 1 AS x", "--out", "q.tex"),
         "unknown extension '.tex'; expected .csv, .json, .md or .parquet"),
        (("sql", "--list", "--out", "q"), "unknown extension '(none)'"),
        (("report", "zeror", "--format", "latex", "--out", "t.docx"),
         "error: --out t.docx: unknown extension '.docx'; expected .md, .tex, .csv or .json"),
        (("report", "zeror", "--format", "csv", "--out", "t.tex"),
         "a .tex file holds latex, not --format csv"),
        (("report", "zeror", "--confusion", "c.jpg"),
         "error: --confusion c.jpg: unknown extension '.jpg'; expected .png, .pdf or .svg"),
        (("predict", "zeror", "--out", "p.xlsx"), "unknown extension '.xlsx'"),
        (("plot", "runs", "zeror", "--out", "r.jpg"), "expected .png, .pdf or .svg"),
        (("plot", "complementarity", "a", "b", "--out", "c.txt"), "unknown extension '.txt'"),
        (("plot", "layers", "probe/*", "--out", "l.tex"), "unknown extension '.tex'"),
        (("predict", "zeror", "--format", "parquet"), "error: --format parquet needs --out FILE"),
    ],
)  # fmt: skip
def test_an_unknown_or_contradicting_extension_is_refused_before_any_work(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args, message
) -> None:
    """Refused with exit 2 and one line, before the store is even opened: here there is none."""
    monkeypatch.chdir(tmp_path)
    result = cli("--store", tmp_path / "no-store", *args)
    assert result.code == 2, result.out
    assert result.err.startswith("error: ") and message in result.err, result.err
    assert len(result.err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no file written, no store made


def test_a_failed_export_leaves_the_old_file_whole(
    store_cli, zeror_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is written under a temporary name and renamed: a writer that dies half-way
    leaves what was there before, and no temporary file."""
    import mmemo.reports.report as report
    from mmemo.errors import InputError

    def dies_half_way(store, run, out, fmt):
        Path(out).write_text("clip_id,fold\n01-01-01-01-01-01-01,")
        raise InputError("disk gone")

    out = tmp_path / "f.csv"
    out.write_text("the old export\n")
    monkeypatch.setattr(report, "export_run", dies_half_way)
    result = store_cli(zeror_store, "export", "zeror", "--out", out)
    assert result.code == 2 and "disk gone" in result.err
    assert out.read_text() == "the old export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.csv"]
