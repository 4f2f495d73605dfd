"""Tables that fit the width they are printed at (mmemo.display)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from mmemo.display import (
    BREAK_AFTER,
    FitTable,
    decimals_for,
    display_rows,
    display_value,
    shorten,
    wrap_text,
)
from mmemo.testing.text import table_cells


def _at(width: int, table: FitTable) -> list[str]:
    console = Console(record=True, width=width, markup=False)
    console.print(table)
    return [line.rstrip() for line in console.export_text().splitlines()]


def test_numbers_are_rounded_per_column() -> None:
    assert decimals_for([86.7, 12.5]) == 2
    assert decimals_for([4.666666666666]) == 3
    assert decimals_for([0.1234567]) == 4
    assert decimals_for([1234.5]) == 0
    assert decimals_for([0.0]) == 3
    assert display_rows([[4.666666666666, 1], [12.5, 2]]) == [["4.67", "1"], ["12.50", "2"]]
    assert display_value(None) == "" and display_value(float("nan")) == "nan"
    assert display_value(list(range(10))) == "[0, 1, 2, 3, 4, 5, 6, 7, … (10)]"


def test_grid_run_names_survive_whole_at_80_columns() -> None:
    names = [f"svc/C={c},gamma={g}" for c in (1, 10, 100) for g in ("scale", "auto")]
    rows = [[n, "svc", "luna2022", "av-speech", "complete", "2026-11-29 23:01"] for n in names]
    lines = _at(80, FitTable(["name", "model", "scheme", "clips", "status", "finished"], rows))
    assert all(len(line) <= 80 for line in lines)
    assert [cells[0] for cells in table_cells("\n".join(lines))[1:]] == names


def test_key_column_goes_first_and_text_wraps_before_the_key_is_cut() -> None:
    clip = "01-01-01-01-01-01-01"
    rows = [[0.25, "x " * 40, clip]]
    lines = _at(60, FitTable(["score", "note", "clip_id"], rows, key=2))
    assert lines[0].split()[:3] == ["clip_id", "score", "note"]
    assert lines[2].startswith(clip + "  0.2500")
    assert all(len(line) <= 60 for line in lines)


def test_too_many_columns_become_one_record_per_row() -> None:
    columns = ["clip_id"] + [f"column_{i}" for i in range(20)]
    lines = _at(80, FitTable(columns, [["01-01-01-01-01-01-01", *range(20)]]))
    assert lines[0] == "-[ RECORD 1 ]- 01-01-01-01-01-01-01"
    assert lines[1].split() == ["clip_id", "01-01-01-01-01-01-01"]
    assert lines[-1].split() == ["column_19", "19"]


def test_cells_titles_and_captions_are_text_not_markup() -> None:
    table = FitTable(["[b]h[/b]"], [["[red]x[/red]"]], title="[i]t[/i]", caption="[u]c[/u]")
    text = "\n".join(_at(80, table))
    for written in ("[b]h[/b]", "[red]x[/red]", "[i]t[/i]", "[u]c[/u]"):
        assert written in text


def test_a_caption_wraps_by_words() -> None:
    lines = _at(30, FitTable(["a"], [[1]], caption="1001 rows, first 1000 shown (use csv)"))
    assert "row(s" not in lines[-1] and all(len(line) <= 30 for line in lines)
    assert lines[-2:] == ["1001 rows, first 1000 shown", "(use csv)"]


_words = st.text(alphabet="abcdefghij-=/", min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(_words, min_size=1, max_size=5, unique=True),
    text=st.lists(st.lists(_words, min_size=1, max_size=6), min_size=5, max_size=5),
    numbers=st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=5, max_size=5),
    n_columns=st.integers(1, 8),
    width=st.integers(30, 120),
)
def test_any_table_fits_and_keeps_its_keys_whole(keys, text, numbers, n_columns, width) -> None:
    columns = ["key"] + [f"c{j}" for j in range(n_columns)]
    rows = [
        [key] + [" ".join(text[i]) if j % 2 else numbers[i] for j in range(n_columns)]
        for i, key in enumerate(keys)
    ]
    lines = _at(width, FitTable(columns, rows))
    assert all(len(line) <= width for line in lines)
    for row in rows:  # no word of a text cell is cut (pieces are never wider than the line)
        for cell in (c for c in row if isinstance(c, str)):
            for piece in _unbroken(cell):
                assert any(piece in line for line in lines), (piece, lines)
    for key in keys:  # whole at the start of a table line (right-aligned if it reads as a
        # number, like "-"), or naming a record
        assert any(
            line.lstrip().startswith(key + " ") or line.strip() == key or line.endswith(f"]- {key}")
            for line in lines
        )


def test_rows_that_would_wrap_over_three_lines_become_records() -> None:
    inputs = "fusion of aus-svc, aus-mlp, aus-bilstm, audio-ft"
    rows = [["fusion", inputs, "method = logreg, C = 1.0", 73.75]]
    columns = ["run", "inputs", "params", "accuracy"]
    assert FitTable(columns, rows).layout(60) is not None  # two lines at most: a table
    lines = _at(30, FitTable(columns, rows))
    assert lines[0] == "-[ RECORD 1 ]- fusion"


def test_wrapped_lines_counts_the_lines_of_wrap_text() -> None:
    from mmemo.display import wrapped_lines

    assert wrap_text("hidden_layer_sizes = 80", 11) == ["hidden_", "layer_sizes", "= 80"]
    assert wrapped_lines("hidden_layer_sizes = 80", 11) == 3
    assert wrapped_lines("a b c", 5) == 1
    assert wrapped_lines("", 5) == 1


def test_text_breaks_at_spaces_and_after_separators_never_inside_a_word() -> None:
    import doctest

    import mmemo.display

    assert doctest.testmod(mmemo.display).failed == 0
    assert wrap_text("grid-name/C=1,norm=minmax", 12) == ["grid-name/", "C=1,", "norm=minmax"]
    assert wrap_text("/tmp/store/registry.duckdb", 16) == ["/tmp/store/", "registry.duckdb"]
    assert wrap_text("wav2vec2-finetune", 16) == ["wav2vec2-finetun", "e"]  # wider than the line
    assert wrap_text("a  b\nc", 10) == ["a b", "c"]
    assert shorten("Audit: returns offending rows (none = pass). Within a fold", 46) == (
        "Audit: returns offending rows (none = pass)…"
    )
    assert shorten("short", 5) == "short"


def _unbroken(text: str) -> list[str]:
    """The pieces of ``text`` that must come out whole: split at spaces and after separators."""
    return [p for w in text.split() for p in re.findall(f"[^{BREAK_AFTER}]+", w)]


def test_headers_and_cells_are_never_cut_mid_word_at_80_columns() -> None:
    """The issue's cuts: ``Macro-F`` / ``1`` (``report --paired``), ``wav2vec2-finetun`` /
    ``e`` (``runs``), paths and lists of ``doctor`` and ``snapshots``."""
    report = FitTable(
        ["Run", "Inputs", "Params", "Norm.", "Accuracy ± 95% CI", "UAR", "Macro-F1"],
        [
            ["fusion", "aus-svc, aus-mlp, aus-bilstm, audio-ft", "logreg, C=1", "No",
             "86.70 ± 1.23", 86.1, 85.9],
            ["stacked", "aus-svc, aus-mlp, aus-bilstm, audio-ft", "mlp, C=1", "No",
             "84.10 ± 1.50", 83.2, 83.0],
        ],
    )  # fmt: skip
    runs = FitTable(
        ["name", "model", "scheme", "clips", "status", "finished"],
        [
            ["audio-ft/lr=0.0001,epochs=20", "wav2vec2-finetune", "luna2022", "av-speech",
             "complete", "2026-11-29 23:01"],
            ["aus-bilstm/hidden=50,layers=2", "bilstm", "kfold:5:2020", "av-speech",
             "running", "2026-11-29 23:02"],
        ],
    )  # fmt: skip
    path = "/work/main/.venv/lib/python3.11/site-packages/duckdb_extension_ducklake/ducklake"
    doctor = FitTable(
        ["", "part", "detail"],
        [
            ["ok", "ducklake extension", path],
            [
                "ok",
                "registry file",
                "/tmp/pytest-of-root/pytest-73/ingested0/store/registry.duckdb",
            ],
        ],
        key=None,
    )
    snapshots = FitTable(
        ["snapshot", "time (UTC)", "message", "changes"],
        [[2, "2026-12-06 16:11:46", "lake schema 0002_features",
          "{tables_created=[main.clip_vectors, main.frame_vectors, main.au_frames]}"]],
    )  # fmt: skip
    for table in (report, runs, doctor, snapshots):
        lines = _at(80, table)
        assert all(len(line) <= 80 for line in lines)
        for text in [*table.columns, *(str(c) for row in table.rows for c in row)]:
            for piece in _unbroken(text):
                assert any(piece in line for line in lines), (piece, lines)
    assert not any(line.rstrip().endswith("Macro-F") for line in _at(80, report))


def test_one_long_column_takes_the_room_left_instead_of_records() -> None:
    about = "How two runs complement each other per actor, on the test clips they share " * 3
    rows = [[f"recipe_{i}", about] for i in range(3)]
    lines = _at(80, FitTable(["name", "about"], rows))
    assert not any("RECORD" in line for line in lines)
    assert lines[0].split() == ["name", "about"]
    assert sum(line.startswith("recipe_0 ") for line in lines) == 1
    assert len(lines) > 2 + 3 * 3  # rows over three lines each: still a table
    assert all(len(line) <= 80 for line in lines)
    # two columns that would both wrap tall rows are still records
    wide = FitTable(["name", "a", "b"], [["x", about, about]])
    assert _at(80, wide)[0] == "-[ RECORD 1 ]- x"


def test_a_shortened_column_keeps_one_line_per_row() -> None:
    about = "Test accuracy (%) of every complete run per actor, over all folds. " * 2
    rows = [["accuracy_by_actor", about], ["performance_not_in_train_and_test", about]]
    lines = _at(80, FitTable(["name", "about"], rows, shorten=1))
    assert len(lines) == 2 + len(rows)
    assert lines[2].startswith("accuracy_by_actor ") and lines[2].endswith("…")
    assert all(len(line) <= 80 for line in lines)
    assert _at(300, FitTable(["name", "about"], rows, shorten=1))[2].endswith("folds.")


def test_a_listing_too_wide_says_its_constant_columns_once_instead_of_records() -> None:
    columns = ["name", "v", "kind", "dim", "clips", "frames", "model", "layer", "pool", "created"]
    rows = [
        [f"w2v/layer={layer}", 1, "embedding", 1024, 1440, "no", "facebook/wav2vec2-large",
         layer, "mean", "2026-11-30 01:11"]
        for layer in ("conv", 1, 2, 24)
    ]  # fmt: skip
    lines = _at(80, FitTable(columns, rows, factor=True))
    assert lines[0].startswith("v: 1 · kind: embedding · dim: 1024 · clips: 1440 · frames: no")
    table = table_cells(
        "\n".join(lines[lines.index(next(x for x in lines if x.startswith("name"))) :])
    )
    assert table[0] == ["name", "layer"]
    assert [row[0] for row in table[1:]] == [r[0] for r in rows]
    # without factoring (and in any table that fits) nothing moves
    assert _at(80, FitTable(columns, rows))[0].startswith("-[ RECORD 1 ]- w2v/layer=conv")
    assert _at(200, FitTable(columns, rows, factor=True))[0].split()[:2] == ["name", "v"]
