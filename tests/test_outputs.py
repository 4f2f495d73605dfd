"""Files written with ``--out`` (mmemo.outputs): the format, atomic writes, the message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmemo.errors import InputError
from mmemo.outputs import (
    FIGURE_FORMATS,
    RESULT_FORMATS,
    atomic_path,
    output_format,
    write_text,
    wrote,
)

REPORT = ("table", "markdown", "latex", "csv", "json")


@pytest.mark.parametrize(
    ("out", "fmt", "formats", "expected"),
    [
        (None, None, RESULT_FORMATS, "table"),
        (None, "csv", RESULT_FORMATS, "csv"),
        ("f.csv", None, ("parquet", "csv"), "csv"),
        ("F.CSV", None, ("parquet", "csv"), "csv"),
        ("q.json", None, RESULT_FORMATS, "json"),
        ("q.md", None, RESULT_FORMATS, "markdown"),
        ("q.parquet", None, RESULT_FORMATS, "parquet"),
        ("r.tex", None, REPORT, "latex"),
        ("r.tex", "latex", REPORT, "latex"),
        ("runs.svg", None, FIGURE_FORMATS, "svg"),
    ],
)
def test_the_format_comes_from_format_else_the_extension(out, fmt, formats, expected) -> None:
    assert output_format(None if out is None else Path(out), fmt, formats) == expected


@pytest.mark.parametrize(
    ("out", "fmt", "formats", "message"),
    [
        ("f.xlsx", None, ("parquet", "csv"), "--out f.xlsx: unknown extension '.xlsx'; "
         "expected .parquet or .csv"),
        ("t.docx", "latex", REPORT, "--out t.docx: unknown extension '.docx'; "
         "expected .md, .tex, .csv or .json"),
        ("q.tex", None, RESULT_FORMATS, "expected .csv, .json, .md or .parquet"),
        ("q", None, RESULT_FORMATS, "unknown extension '(none)'"),
        ("f.parquet", "csv", ("parquet", "csv"), "--out f.parquet: a .parquet file holds "
         "parquet, not --format csv; change the extension or leave out --format"),
        ("r.csv", "table", REPORT, "a .csv file holds csv, not --format table"),
        (None, "parquet", RESULT_FORMATS, "--format parquet needs --out FILE"),
        (None, "xml", RESULT_FORMATS, "unknown format 'xml'; expected one of table, csv"),
        ("runs.jpg", None, FIGURE_FORMATS, "expected .png, .pdf or .svg"),
    ],
)  # fmt: skip
def test_an_unknown_or_contradicting_extension_is_one_line(out, fmt, formats, message) -> None:
    with pytest.raises(InputError) as caught:
        output_format(None if out is None else Path(out), fmt, formats)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_folder_is_no_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        output_format(tmp_path, None, RESULT_FORMATS)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "table.csv"
    out.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(out) as temp:
        assert temp.parent == out.parent and temp.suffix == ".csv" and temp != out
        temp.write_text("half a")
        raise RuntimeError("interrupted")
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_a_written_file_replaces_the_old_one_with_the_usual_permissions(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "table.md"
    write_text(out, "| a |")
    write_text(out, "| b |")
    assert out.read_text() == "| b |\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["table.md"]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_one_message_form() -> None:
    assert wrote(Path("f.csv"), 240) == "wrote 240 rows to f.csv"
    assert wrote(Path("q.csv"), 1) == "wrote 1 row to q.csv"
    assert wrote(Path("runs.png")) == "wrote runs.png"
    assert wrote(Path("e.parquet"), 7, "e@1, 32-d vectors") == (
        "wrote 7 rows to e.parquet (e@1, 32-d vectors)"
    )
