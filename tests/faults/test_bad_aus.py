"""Bad AU data is refused, not stored (issue 21): ``mmemo ingest openface`` given OpenFace CSVs
with a repeated column, a value that is not a finite number, no frames, or a cut-off last row.

Every bad file gets one line naming it and the problem (line and column where known); a refused
ingest leaves the store as it was (``store_state``); ``--skip-bad`` leaves out exactly the bad
files and ``--drop-nonfinite`` exactly the frames with a NaN/inf AU value, and says how many.
Expected values come from reading the CSVs with Python's csv module, not from mmemo's reader.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from mmemo.corpora.openface_columns import AU_COLUMNS


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """An OpenFace CSV's raw cells: header, data rows."""
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _au_means(path: Path, skip_rows: frozenset[int] = frozenset()) -> np.ndarray:
    """A CSV's 35 AU means (its data rows but ``skip_rows``), columns found by stripped name."""
    header, body = _rows(path)
    names = [c.strip() for c in header]
    data = np.array(
        [
            [float(r[names.index(c)]) for c in AU_COLUMNS]
            for i, r in enumerate(body)
            if i not in skip_rows
        ]
    )
    return data.mean(axis=0)


def _write(dest: Path, header: list[str], body: list[list[str]]) -> Path:
    dest.write_text("".join(",".join(r) + "\n" for r in [header, *body]))
    return dest


def _folder(synth_corpus, tmp_path: Path, n: int = 4) -> tuple[Path, list[Path]]:
    """A folder with copies of ``n`` of the corpus' CSVs (full-AV speech clips); the copies."""
    folder = tmp_path / "of"
    folder.mkdir()
    files = [f for f in synth_corpus.openface_files if f.name.startswith("01-01-")][::7][:n]
    return folder, [Path(shutil.copy(f, folder / f.name)) for f in files]


def _error_line(result) -> str:
    """The one error of a refused command, whitespace collapsed (rich wraps long lines)."""
    assert result.code == 2, (result.code, result.out, result.err)
    assert result.err.count("error:") == 1 and "Traceback" not in result.err, result.err
    return result.err_text


def _means(store, name: str) -> dict[str, np.ndarray]:
    with store.session() as s:
        rows = s.fetch(
            f"SELECT clip_id, {', '.join(AU_COLUMNS)} FROM au_means WHERE feature_set = ?", [name]
        )
    return {clip: np.array(values, dtype=np.float64) for clip, *values in rows}


def _n_clips(store, name: str) -> int:
    with store.session() as s:
        return s.fetch("SELECT n_clips FROM feature_sets WHERE name = ?", [name])[0][0]


@pytest.mark.parametrize("column", ["AU01_r", "pose_Tx"])
def test_a_repeated_column_is_refused_naming_file_and_column(
    ingested_store, store_cli, synth_corpus, tmp_path, store_state, column
):
    """A header that names ``AU01_r`` twice (its rows shifted by the extra value) used to be
    read by the first ``AU01_r``: ``au_means`` held 9.99 for a true mean near 0.4. A repeated
    column is an error that names the file and the column, whichever column it is."""
    folder, files = _folder(synth_corpus, tmp_path)
    header, body = _rows(files[0])
    header = header[:5] + [f" {column}"] + header[5:]  # after `success`: before the real one
    body = [r[:5] + [" 9.99"] + r[5:] for r in body]
    bad = _write(files[0], header, body)

    before = store_state(ingested_store)
    error = _error_line(store_cli(ingested_store, "ingest", "openface", folder, "--name", "aus"))
    assert bad.name in error and f"duplicate column '{column}'" in error
    assert "columns 6 and" in error  # where the two are (1-based, as a spreadsheet shows them)
    assert store_state(ingested_store) == before

    skipped = store_cli(ingested_store, "ingest", "openface", folder, "--name", "aus", "--skip-bad")
    assert skipped.code == 0, skipped.err
    assert skipped.err_text.count("skipped") == 1 and bad.name in skipped.err_text
    assert f"duplicate column '{column}'" in skipped.err_text
    means = _means(ingested_store, "aus")
    assert sorted(means) == sorted(f.stem for f in files[1:])
    for f in files[1:]:
        np.testing.assert_allclose(means[f.stem], _au_means(f), rtol=0, atol=1e-12)


@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-inf", "-Infinity", ""])
def test_a_non_finite_au_value_is_refused_with_file_line_and_column(
    ingested_store, store_cli, synth_corpus, tmp_path, store_state, value
):
    """A literal ``NaN`` (or an infinity, or an empty cell) in an AU column used to be stored;
    training failed much later naming no file. Ingest refuses it with file, line and column."""
    folder, files = _folder(synth_corpus, tmp_path)
    header, body = _rows(files[1])
    column = [c.strip() for c in header].index("AU12_r")
    body[5][column] = f" {value}" if value else ""  # the sixth data row: line 7 of the file
    bad = _write(files[1], header, body)

    before = store_state(ingested_store)
    error = _error_line(store_cli(ingested_store, "ingest", "openface", folder, "--name", "aus"))
    assert bad.name in error and "line 7" in error and "AU12_r" in error
    assert "finite" in error and "--drop-nonfinite" in error
    assert store_state(ingested_store) == before


def test_a_non_finite_value_in_a_file_the_fast_reader_cannot_parse_is_refused_too(
    ingested_store, store_cli, synth_corpus, tmp_path, store_state
):
    """With ``--keep-all``, a word in a gaze column sends its file to the DuckDB reader (which
    maps it to NULL): a NaN in an AU column of that file is refused just the same."""
    folder, files = _folder(synth_corpus, tmp_path)
    header, body = _rows(files[2])
    names = [c.strip() for c in header]
    body[0][names.index("gaze_0_x")] = " n/a"
    body[3][names.index("AU45_c")] = " NaN"
    bad = _write(files[2], header, body)

    before = store_state(ingested_store)
    result = store_cli(ingested_store, "ingest", "openface", folder, "--name", "a", "--keep-all")
    error = _error_line(result)
    assert bad.name in error and "line 5" in error and "AU45_c" in error and "finite" in error
    assert store_state(ingested_store) == before


def test_drop_nonfinite_drops_those_frames_and_counts_them(
    ingested_store, store_cli, synth_corpus, tmp_path, store_state
):
    """``--drop-nonfinite`` keeps the file and drops each frame with a NaN/inf AU value, counted
    in the report; a file with no finite frame left is a bad file, not a clip without frames."""
    folder, files = _folder(synth_corpus, tmp_path)
    header, body = _rows(files[0])
    names = [c.strip() for c in header]
    body[2][names.index("AU04_r")] = " NaN"
    body[4][names.index("AU26_c")] = " inf"
    body[4][names.index("AU01_r")] = " -inf"  # two in one frame: one frame dropped
    spoilt = _write(files[0], header, body)
    n_frames = sum(len(_rows(f)[1]) for f in files)

    result = store_cli(
        ingested_store, "ingest", "openface", folder, "--name", "aus", "--drop-nonfinite"
    )
    assert result.code == 0, result.err
    assert f"4 clip(s), {n_frames - 2} frame(s)" in result.out_text
    assert "2 frame(s) with NaN/inf AU values dropped" in result.out_text
    means = _means(ingested_store, "aus")
    np.testing.assert_allclose(
        means[spoilt.stem], _au_means(spoilt, frozenset({2, 4})), rtol=0, atol=1e-12
    )
    for f in files[1:]:
        np.testing.assert_allclose(means[f.stem], _au_means(f), rtol=0, atol=1e-12)

    # every frame of a file non-finite: nothing left of it, so it is a bad file
    header, body = _rows(files[1])
    column = [c.strip() for c in header].index("AU09_r")
    for row in body:
        row[column] = " nan"
    hopeless = _write(files[1], header, body)
    before = store_state(ingested_store)
    again = store_cli(
        ingested_store, "ingest", "openface", folder, "--name", "b", "--drop-nonfinite"
    )
    error = _error_line(again)
    assert hopeless.name in error and "no frames left" in error and "more bad" not in error
    assert store_state(ingested_store) == before


def test_a_header_only_file_is_a_bad_file_not_a_clip_without_frames(
    ingested_store, store_cli, synth_corpus, tmp_path, store_state
):
    """A CSV with its header and no row used to be accepted, and the set claimed a clip with no
    frames: it is a bad file (refused; left out and counted with ``--skip-bad``)."""
    folder, files = _folder(synth_corpus, tmp_path)
    empty = files[3]
    empty.write_text(empty.read_text().splitlines(keepends=True)[0])

    before = store_state(ingested_store)
    error = _error_line(store_cli(ingested_store, "ingest", "openface", folder, "--name", "aus"))
    assert empty.name in error and "no frames" in error and "more bad" not in error
    assert store_state(ingested_store) == before

    skipped = store_cli(ingested_store, "ingest", "openface", folder, "--name", "aus", "--skip-bad")
    assert skipped.code == 0, skipped.err
    assert skipped.err_text.count("skipped") == 1 and empty.name in skipped.err_text
    assert "3 clip(s)" in skipped.out_text
    assert _n_clips(ingested_store, "aus") == 3
    assert sorted(_means(ingested_store, "aus")) == sorted(f.stem for f in files[:3])


@pytest.mark.slow
def test_bad_files_are_counted_as_files_not_as_errors(
    ingested_store, store_cli, synth_corpus, tmp_path, store_state
):
    """A file cut off in its last row gave DuckDB one rejected value per missing column, and
    the error said "(and 349 more bad file(s))" for one bad file of four. One line per bad
    file, and the count is of files (and of frames: a skipped file's are not "dropped by
    filters")."""
    folder, files = _folder(synth_corpus, tmp_path)
    text = files[2].read_text()
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    cut = files[2]
    cut.write_text(text[: len(text) - 1 - len(last) // 2])  # half the last row is gone
    lines = len(text.splitlines())

    before = store_state(ingested_store)
    error = _error_line(store_cli(ingested_store, "ingest", "openface", folder, "--name", "aus"))
    assert cut.name in error and f"line {lines}" in error
    assert "more bad file" not in error
    assert store_state(ingested_store) == before

    # a second bad file of another kind: "1 more"
    files[0].write_text(files[0].read_text().splitlines(keepends=True)[0])
    error = _error_line(store_cli(ingested_store, "ingest", "openface", folder, "--name", "aus"))
    assert "(and 1 more bad file(s))" in error
    assert store_state(ingested_store) == before

    skipped = store_cli(ingested_store, "ingest", "openface", folder, "--name", "aus", "--skip-bad")
    assert skipped.code == 0, skipped.err
    notes = [line for line in skipped.err.splitlines() if line.startswith("skipped")]
    assert len(notes) == 2, skipped.err
    n_frames = sum(len(_rows(f)[1]) for f in (files[1], files[3]))
    # the cut file's whole rows were read, then skipped with it: not "dropped by filters"
    assert f"2 clip(s), {n_frames} frame(s) (0 dropped by filters)" in skipped.out_text
    assert sorted(_means(ingested_store, "aus")) == sorted(f.stem for f in (files[1], files[3]))
