"""Off a terminal, messages and result lines are printed whole, one line each, whatever
``COLUMNS`` says; tables still fit the width (issue 23)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Long enough that every message naming it runs past the 80th column.
GRID = "a-grid-name-long-enough-to-run-past-the-eightieth-column"


@pytest.fixture()
def cli80(cli, monkeypatch: pytest.MonkeyPatch):
    """``cli`` printing at 80 columns, as to a log file (``cli`` itself sets 200)."""
    monkeypatch.setenv("COLUMNS", "80")
    return cli


def test_a_message_redirected_to_a_file_is_one_line(zeror_store, tmp_path: Path) -> None:
    """In a real process with stdout in a file and ``COLUMNS=80``: before, a message longer
    than 80 columns came out hard-wrapped (``run svc-grid-on-the-full-av-speech-clips-before
    (120 clips, 2 folds, 3.7 s) ->`` / ``snapshot 12``)."""
    log = tmp_path / "out.txt"
    out = tmp_path / "a-folder-whose-name-alone-takes-most-of-a-line-of-eighty-columns" / "f.csv"
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env |= {"COLUMNS": "80", "MMEMO_LOCK_TIMEOUT": "10"}
    with log.open("w") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "mmemo", "--store", str(zeror_store.root)]
            + ["export", "zeror", "--out", str(out)],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert log.read_text() == f"wrote 240 rows to {out}\n"
    assert len(str(out)) > 80


@pytest.mark.slow
def test_messages_are_whole_lines_and_tables_fit(cli80, zeror_store, tmp_path: Path) -> None:
    """The issue's case in process: before, ``train static ... > out.txt`` wrote ``run `` /
    ``grid-name/C=1,norm=mi`` / ``nmax (240 clips, 3 folds, 5.0 s) -> snapshot 15``."""
    root = zeror_store.root
    trained = cli80("--store", root, "train", "static", "--model", "zeror", "--name", GRID)
    assert trained.code == 0, trained.err
    (line,) = trained.out.splitlines()
    assert line.startswith(f"run {GRID} (120 clips, 2 folds, ") and " -> snapshot " in line
    out = tmp_path / "p.csv"
    predicted = cli80("--store", root, "predict", GRID, "--out", out)
    assert predicted.code == 0, predicted.err
    assert predicted.out.splitlines() == [f"wrote 120 rows to {out}"]
    assert predicted.err.splitlines() == [
        f"run '{GRID}': 120 of 120 clip(s) of --clips 'av-speech' scored"
    ]
    # tables still fit the width, the run's name whole
    for args in (("runs",), ("snapshots",), ("sql", "SELECT * FROM runs"), ("doctor",)):
        result = cli80("--store", root, *args)
        assert result.code == 0, result.err
        assert all(len(line.rstrip()) <= 80 for line in result.out.splitlines()), result.out
        if args[0] != "doctor":
            assert GRID in result.out


def test_sql_list_is_one_line_per_recipe(cli80) -> None:
    """Before: ~190 lines of records at 80 columns."""
    from mmemo.store.recipes import list_recipes

    result = cli80("sql", "--list")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    recipes = list_recipes()
    assert lines[0] == "recipes (mmemo sql -f NAME)"
    assert lines[1].split() == ["name", "about"]
    assert len(lines) == 3 + len(recipes)
    for recipe, line in zip(recipes, lines[3:], strict=True):
        assert line.startswith(recipe.key + " ") and len(line.rstrip()) <= 80
        about = line[len(recipe.key) :].strip()
        assert recipe.description.startswith(about.removesuffix("…").rstrip())
