"""``mmemo ingest openface`` and ``mmemo plot aus``: OpenFace 2.0 CSVs into an AU frame set.

Expected values come from reading the synthetic corpus' CSVs with Python's csv module.
"""

from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from mmemo.corpora.openface_columns import AU_COLUMNS


def _read(path: Path) -> dict[str, np.ndarray]:
    """One OpenFace CSV as float columns (names stripped of OpenFace's leading spaces)."""
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header = [c.strip() for c in rows[0]]
    data = np.array([[float(v) for v in row] for row in rows[1:]], dtype=np.float64)
    return {name: data[:, i] for i, name in enumerate(header)}


def _au_matrix(table: dict[str, np.ndarray]) -> np.ndarray:
    return np.column_stack([table[c] for c in AU_COLUMNS])


def _stem(path: Path) -> str:
    return path.name.removesuffix(".csv")


def _copy(files: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, folder / f.name)
    return folder


def _some(corpus, n: int = 8, *, with_dips: bool = False) -> list[Path]:
    """``n`` CSVs of the corpus; with ``with_dips`` half of them hold low-confidence frames."""
    files = corpus.openface_files
    if not with_dips:
        return files[:: max(1, len(files) // n)][:n]
    dipped: list[Path] = []
    clean: list[Path] = []
    for f in files:  # read lazily: about one file in three has a dip
        (dipped if (_read(f)["confidence"] < 0.9).any() else clean).append(f)
        if len(dipped) >= n // 2 and len(clean) >= n - n // 2:
            break
    assert len(dipped) >= n // 2
    return sorted(dipped[: n // 2] + clean[: n - n // 2])


def _assert_frames(store, name: str, expected: dict[str, dict[str, np.ndarray]]) -> None:
    """The set's AU frames are exactly the CSVs' frames (numbers, confidence, the 35 AUs)."""
    with store.session() as s:
        rows = s.fetch(
            f"SELECT clip_id, frame, confidence, {', '.join(AU_COLUMNS)} FROM au_frames "
            "WHERE feature_set = ? ORDER BY clip_id, frame",
            [name],
        )
    got: dict[str, list] = {}
    for clip, *values in rows:
        got.setdefault(clip, []).append(values)
    assert sorted(got) == sorted(expected)
    for clip, table in expected.items():
        want = np.column_stack([table["frame"], table["confidence"], _au_matrix(table)])
        np.testing.assert_array_equal(np.array(got[clip], dtype=np.float64), want, err_msg=clip)


def _frames(store, name: str) -> list[tuple]:
    with store.session() as s:
        return s.fetch(
            "SELECT * EXCLUDE (feature_set, version) FROM au_frames WHERE feature_set = ? "
            "ORDER BY clip_id, frame",
            [name],
        )


def _rewrite(src: Path, dest: Path, edit) -> Path:
    """Copy an OpenFace CSV through ``edit(header, rows) -> (header, rows)`` (raw cells)."""
    with src.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = edit(rows[0], rows[1:])
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("".join(",".join(r) + "\n" for r in [header, *body]))
    return dest


def _check_views(store, name: str, expected: dict[str, dict[str, np.ndarray]]) -> None:
    """au_frames, au_means and au_sequences of ``name`` against the CSVs' contents."""
    total = sum(len(t["frame"]) for t in expected.values())
    with store.session() as s:
        assert s.fetch("SELECT count(*) FROM au_frames WHERE feature_set = ?", [name]) == [(total,)]
        columns = [r[0] for r in s.fetch("SELECT column_name FROM (DESCRIBE au_frames)")]
        means = s.fetch(
            f"SELECT clip_id, n_frames, {', '.join(AU_COLUMNS)} FROM au_means "
            "WHERE feature_set = ? AND version = 1",
            [name],
        )
        seqs = s.fetch(
            "SELECT clip_id, n_frames, frames FROM au_sequences WHERE feature_set = ?", [name]
        )
        fs = s.fetch("SELECT kind, status, dim, n_clips FROM feature_sets WHERE name = ?", [name])
    assert fs == [("au_frames", "complete", 35, len(expected))]
    # landmarks, gaze and pose are dropped unless --keep-all
    assert not any(c.startswith(("gaze", "pose", "x_", "eye_lmk", "p_")) for c in columns)
    assert {"frame", "timestamp", "confidence", "success", *AU_COLUMNS} <= set(columns)

    assert sorted(r[0] for r in means) == sorted(r[0] for r in seqs) == sorted(expected)
    for clip, n_frames, *values in means:
        want = _au_matrix(expected[clip])
        assert n_frames == len(want), clip
        np.testing.assert_allclose(values, want.mean(axis=0), rtol=0, atol=1e-12, err_msg=clip)
    for clip, n_frames, frames in seqs:
        want = _au_matrix(expected[clip])
        got = np.array(frames, dtype=np.float32)
        assert n_frames == len(want) and got.shape == (len(want), 35), clip
        np.testing.assert_array_equal(got, want.astype(np.float32), err_msg=clip)


@pytest.mark.slow
def test_ingest_openface_folder_fills_frames_means_sequences_and_plots(
    feat_store, store_cli, synth_corpus, tmp_path
):
    from mmemo.features.loading import load_clip_vectors, load_sequences

    files = _some(synth_corpus, 10)
    folder = _copy(files, tmp_path / "of")
    expected = {_stem(f): _read(f) for f in files}
    total = sum(len(t["frame"]) for t in expected.values())

    result = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus")
    assert result.code == 0, result.err
    assert f"aus v1: {len(files)} clip(s), {total} frame(s) (0 dropped" in result.out_text
    _check_views(feat_store, "aus", expected)
    _assert_frames(feat_store, "aus", expected)

    # the models' loaders read the same views
    ids = np.array(sorted(expected)[:4])
    matrix, _, info = load_clip_vectors(feat_store, "aus", ids)
    assert info["kind"] == "au_frames" and matrix.shape == (4, 35)
    np.testing.assert_allclose(
        matrix, [_au_matrix(expected[c]).mean(axis=0) for c in ids], atol=1e-12
    )
    sequences, _ = load_sequences(feat_store, "aus@1", ids)
    for clip, seq in zip(ids, sequences, strict=True):
        np.testing.assert_array_equal(seq, _au_matrix(expected[clip]).astype(np.float32))

    # the same files again: nothing new
    with feat_store.session() as s:
        snapshot = s.current_snapshot()
    again = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus")
    assert again.code == 0 and "already" in again.out_text
    with feat_store.session() as s:
        assert s.current_snapshot() == snapshot

    # the paper's Figure 3 for one clip
    out = tmp_path / "fig" / "aus.png"
    clip = sorted(expected)[0]
    plot = store_cli(feat_store, "plot", "aus", clip, "--out", out)
    assert plot.code == 0, plot.err
    assert out.stat().st_size > 1000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a clip the set does not hold
    stranger = next(c for c in synth_corpus.stems if c.startswith("01-") and c not in expected)
    missing = store_cli(feat_store, "plot", "aus", stranger, "--out", tmp_path / "none.png")
    assert missing.code == 2 and stranger in missing.err_text
    assert not (tmp_path / "none.png").exists()


@pytest.mark.slow
def test_ingest_openface_whole_synthetic_corpus(feat_store, store_cli, synth_corpus):
    expected = {_stem(f): _read(f) for f in synth_corpus.openface_files}
    assert len(expected) == 416
    total = sum(len(t["frame"]) for t in expected.values())
    result = store_cli(feat_store, "ingest", "openface", synth_corpus.openface_dir, "--name", "aus")
    assert result.code == 0, result.err
    assert f"416 clip(s), {total} frame(s)" in result.out_text
    with feat_store.session() as s:
        assert s.fetch("SELECT count(*) FROM lake.au_frames") == [(total,)]
    _check_views(feat_store, "aus", expected)


@pytest.mark.slow
def test_ingest_openface_filters_drop_frames(feat_store, store_cli, synth_corpus, tmp_path):
    files = _some(synth_corpus, 6, with_dips=True)
    folder = _copy(files, tmp_path / "of")
    expected = {_stem(f): _read(f) for f in files}
    total = sum(len(t["frame"]) for t in expected.values())
    cases = {
        "ok": (["--success-only"], lambda t: t["success"] == 1),
        "conf": (["--min-confidence", "0.9"], lambda t: t["confidence"] >= 0.9),
    }
    for name, (options, keep) in cases.items():
        kept = {clip: keep(t) for clip, t in expected.items()}
        n_kept = sum(int(k.sum()) for k in kept.values())
        assert 0 < n_kept < total  # the filter has something to drop

        result = store_cli(feat_store, "ingest", "openface", folder, "--name", name, *options)
        assert result.code == 0, result.err
        assert f"{n_kept} frame(s) ({total - n_kept} dropped by filters)" in result.out_text
        _assert_frames(
            feat_store,
            name,
            {c: {k: v[kept[c]] for k, v in t.items()} for c, t in expected.items()},
        )
        with feat_store.session() as s:
            counts = dict(
                s.fetch("SELECT clip_id, n_frames FROM au_means WHERE feature_set = ?", [name])
            )
        assert counts == {c: int(k.sum()) for c, k in kept.items()}


def test_ingest_openface_from_a_zip(feat_store, store_cli, synth_corpus, tmp_path):
    files = _some(synth_corpus, 5)
    expected = {_stem(f): _read(f) for f in files}
    archive = tmp_path / "aus.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in files:
            zf.write(f, f"processed/{f.name}")
        zf.writestr("processed/readme.txt", "not a csv")
    result = store_cli(feat_store, "ingest", "openface", archive, "--name", "z", "--keep-all")
    assert result.code == 0, result.err
    assert f"{len(files)} clip(s)" in result.out_text
    _assert_frames(feat_store, "z", expected)
    # --keep-all keeps gaze, pose and landmarks too, as a map per frame
    clip = sorted(expected)[0]
    with feat_store.session() as s:
        extras = s.fetch(
            "SELECT extra FROM au_frames WHERE feature_set = 'z' AND clip_id = ? ORDER BY frame",
            [clip],
        )
    table = expected[clip]
    assert len(extras) == len(table["frame"])
    first = dict(extras[0][0])
    assert {"gaze_0_x", "pose_Tx", "x_0", "p_33"} <= set(first)
    assert not set(first) & {"frame", "timestamp", "confidence", "success", *AU_COLUMNS}
    assert [dict(e[0])["pose_Tx"] for e in extras] == table["pose_Tx"].tolist()


@pytest.mark.slow
def test_ingest_openface_from_a_glob_and_double_csv_names(
    feat_store, store_cli, synth_corpus, tmp_path
):
    files = _some(synth_corpus, 8)
    folder = _copy(files, tmp_path / "dir")
    expected = {_stem(f): _read(f) for f in files}
    prefix = sorted(expected)[0][:2]  # the modality: part of the folder
    matched = {c: t for c, t in expected.items() if c.startswith(prefix)}
    assert 0 < len(matched) < len(expected)
    globbed = store_cli(feat_store, "ingest", "openface", f"{folder}/{prefix}-*.csv", "--name", "g")
    assert globbed.code == 0, globbed.err
    _assert_frames(feat_store, "g", matched)

    doubled = tmp_path / "doubled"
    doubled.mkdir()
    for f in files:
        shutil.copy(f, doubled / f"{f.name}.csv")  # X.csv.csv: OpenFace run on "X.csv"
    result = store_cli(feat_store, "ingest", "openface", doubled, "--name", "dd")
    assert result.code == 0, result.err
    _assert_frames(feat_store, "dd", expected)


def test_ingest_openface_mixed_header_layouts_and_crlf(
    feat_store, store_cli, synth_corpus, tmp_path
):
    """Files of `FeatureExtraction -aus` (AU columns only, no spaces after the commas, Windows
    line endings) next to full-width files: one set with every file's frames."""
    files = _some(synth_corpus, 4)
    folder = _copy(files[2:], tmp_path / "of")
    keep = {"frame", "face_id", "timestamp", "confidence", "success", *AU_COLUMNS}
    for f in files[:2]:
        with f.open(newline="") as fh:
            rows = list(csv.reader(fh))
        idx = [i for i, c in enumerate(rows[0]) if c.strip() in keep]
        lines = [",".join(row[i].strip() for i in idx) for row in rows]
        (folder / f.name).write_bytes(("\r\n".join(lines) + "\r\n").encode())
    expected = {_stem(f): _read(f) for f in files}
    result = store_cli(feat_store, "ingest", "openface", folder, "--name", "mix", "--keep-all")
    assert result.code == 0, result.err
    _assert_frames(feat_store, "mix", expected)


def test_ingest_openface_missing_au_columns_is_refused_or_skipped(
    feat_store, store_cli, synth_corpus, tmp_path, store_state
):
    files = _some(synth_corpus, 4)
    folder = _copy(files[1:], tmp_path / "of")

    def drop_au45_c(header, rows):
        i = [c.strip() for c in header].index("AU45_c")
        return header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in rows]

    bad = _rewrite(files[0], folder / files[0].name, drop_au45_c)
    before = store_state(feat_store)
    result = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus")
    assert result.code == 2
    assert bad.name in result.err_text
    assert "missing column(s) AU45_c" in result.err_text
    assert store_state(feat_store) == before

    skipped = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus", "--skip-bad")
    assert skipped.code == 0, skipped.err
    assert "skipped" in skipped.err_text and bad.name in skipped.err_text
    assert f"{len(files) - 1} clip(s)" in skipped.out_text
    assert {r[0] for r in _frames(feat_store, "aus")} == {_stem(f) for f in files[1:]}


def test_ingest_openface_non_numeric_value_names_file_and_line(
    feat_store, store_cli, synth_corpus, tmp_path, store_state
):
    files = _some(synth_corpus, 3)
    folder = _copy(files[1:], tmp_path / "of")

    def spoil(header, rows):
        i = [c.strip() for c in header].index("AU12_r")
        rows[2][i] = " n/a"  # third data row: line 4 of the file
        return header, rows

    bad = _rewrite(files[0], folder / files[0].name, spoil)
    before = store_state(feat_store)
    result = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus")
    assert result.code == 2
    assert bad.name in result.err_text
    assert "line 4" in result.err_text
    assert "AU12_r" in result.err_text
    assert store_state(feat_store) == before

    skipped = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus", "--skip-bad")
    assert skipped.code == 0, skipped.err
    assert bad.name in skipped.err_text
    assert {r[0] for r in _frames(feat_store, "aus")} == {_stem(f) for f in files[1:]}


def test_ingest_openface_unknown_clip_is_refused(
    feat_store, store_cli, synth_corpus, tmp_path, store_state
):
    files = _some(synth_corpus, 2)
    folder = _copy(files, tmp_path / "of")
    stranger = shutil.copy(files[0], folder / "01-01-03-02-01-01-24.csv")  # actor 24: not ingested
    before = store_state(feat_store)
    result = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus")
    assert result.code == 2
    assert Path(stranger).name in result.err_text
    assert "01-01-03-02-01-01-24" in result.err_text and "not a video clip" in result.err_text
    assert store_state(feat_store) == before

    # an audio-only clip has no face to track
    audio_only = folder / "03-01-03-02-01-01-01.csv"
    Path(stranger).rename(audio_only)
    result = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus")
    assert result.code == 2 and audio_only.name in result.err_text
    assert store_state(feat_store) == before


def test_ingest_openface_zip_member_escaping_is_refused(
    feat_store, store_cli, synth_corpus, tmp_path, store_state
):
    files = _some(synth_corpus, 2)
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(files[0], files[0].name)
        zf.write(files[1], f"../{files[1].name}")
    before = store_state(feat_store)
    result = store_cli(feat_store, "ingest", "openface", archive, "--name", "aus")
    assert result.code == 2
    assert "escape" in result.err_text and f"../{files[1].name}" in result.err_text
    assert store_state(feat_store) == before
    assert not (tmp_path / files[1].name).exists()


def test_ingest_openface_missing_source_and_empty_glob(feat_store, store_cli, tmp_path):
    missing = store_cli(feat_store, "ingest", "openface", tmp_path / "nope", "--name", "aus")
    assert missing.code == 2 and "nope" in missing.err_text
    empty = store_cli(feat_store, "ingest", "openface", f"{tmp_path}/*.csv", "--name", "aus")
    assert empty.code == 2 and "matches no file" in empty.err_text


def _extra_columns(path: Path) -> dict[str, list[float]]:
    """The columns ``--keep-all`` keeps in ``extra``, read by position with Python's csv module
    (names stripped; OpenFace's ``x_0`` and ``X_0`` stay two columns)."""
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    skip = {"frame", "face_id", "timestamp", "confidence", "success", *AU_COLUMNS}
    header = [c.strip() for c in rows[0]]
    assert len(set(header)) == len(header)
    return {
        name: [float(r[i]) for r in rows[1:]] for i, name in enumerate(header) if name not in skip
    }


def _check_extras(store, name: str, files: list[Path]) -> None:
    """Every frame's ``extra`` map holds each kept column's own values under its own name."""
    for f in files:
        want = _extra_columns(f)
        with store.session() as s:
            extras = s.fetch(
                "SELECT extra FROM au_frames WHERE feature_set = ? AND clip_id = ? ORDER BY frame",
                [name, _stem(f)],
            )
        assert len(extras) == len(next(iter(want.values()))), f.name
        got = [dict(e[0]) for e in extras]
        assert set(got[0]) == set(want), f.name
        for column, values in want.items():
            assert [g[column] for g in got] == values, (f.name, column)


def test_ingest_openface_keep_all_keeps_case_distinct_columns_apart(
    feat_store, store_cli, synth_corpus, tmp_path
):
    """OpenFace's 2-D landmarks ``x_0`` and 3-D landmarks ``X_0`` differ only by case: each
    keeps its own values in ``extra``."""
    files = _some(synth_corpus, 3)
    folder = _copy(files, tmp_path / "of")
    result = store_cli(feat_store, "ingest", "openface", folder, "--name", "all", "--keep-all")
    assert result.code == 0, result.err
    want = _extra_columns(files[0])
    assert want["x_0"] != want["X_0"] and want["y_5"] != want["Y_5"]  # the check can fail
    _check_extras(feat_store, "all", files)


def test_ingest_openface_keep_all_header_with_quotes(feat_store, store_cli, synth_corpus, tmp_path):
    """Column names with a single or a double quote are kept as written, with their values."""
    files = _some(synth_corpus, 2)
    folder = _copy(files[1:], tmp_path / "of")

    def add_quoted(header, rows):
        extra = [" it's", ' 5" tall']
        body = [r + [f" {i + 0.5}", f" {2 * i + 0.25}"] for i, r in enumerate(rows)]
        return header + extra, body

    odd = _rewrite(files[0], folder / files[0].name, add_quoted)
    result = store_cli(feat_store, "ingest", "openface", folder, "--name", "q", "--keep-all")
    assert result.code == 0, result.err
    assert {"it's", '5" tall'} <= set(_extra_columns(odd))
    _check_extras(feat_store, "q", [odd, *files[1:]])
    _assert_frames(feat_store, "q", {_stem(f): _read(f) for f in [odd, *files[1:]]})


@pytest.mark.parametrize("keep_all", [False, True])
def test_the_arrow_reader_gives_the_duckdb_readers_table(synth_corpus, tmp_path, keep_all):
    """The fast path (``pyarrow.csv`` on threads) and the DuckDB reader that re-reads files
    which fail it give the same table: columns, types, values, nulls and ``extra`` maps; a file
    with a bad value is left to the DuckDB reader, which names it."""
    from concurrent.futures import ThreadPoolExecutor

    import duckdb

    from mmemo.features import openface_csv

    files = _copy(_some(synth_corpus, 3), tmp_path / "of")
    files = sorted(files.iterdir())
    with files[0].open(newline="") as fh:
        rows = list(csv.reader(fh))
    rows[1][len(rows[1]) // 2] = " n/a"  # a --keep-all column: TRY_CAST makes it NULL
    bad = tmp_path / "bad" / files[0].name
    bad.parent.mkdir()
    bad.write_text("\n".join(",".join(r) for r in rows) + "\n")
    header = files[0].open().readline().strip()
    con = duckdb.connect()
    rejected: list = []
    want = openface_csv.read_chunk_duckdb(con, header, files, keep_all, rejected)
    with ThreadPoolExecutor(max_workers=2) as pool:
        got, failed = openface_csv.read_chunk_arrow(pool, header, files, keep_all)
        none, failed_bad = openface_csv.read_chunk_arrow(pool, header, [bad], keep_all)
    assert rejected == [] and failed == []
    assert got.schema == want.schema
    order = [("filename", "ascending"), ("frame", "ascending")]
    assert got.sort_by(order).equals(want.sort_by(order))
    assert got["extra"].null_count == (0 if keep_all else got.num_rows)
    if keep_all:  # the bad value sits in a kept column: arrow refuses the file, DuckDB maps it
        assert none is None and failed_bad == [bad]
        fallback = openface_csv.read_chunk_duckdb(con, header, [bad], keep_all, rejected)
        assert rejected == [] and fallback.num_rows == len(rows) - 1
        assert None in dict(fallback["extra"][0].as_py()).values()
    else:  # a column that is not kept is never converted: arrow reads the file
        assert none is not None and failed_bad == [] and none.num_rows == len(rows) - 1


def test_joined_files_parse_as_each_file_alone(synth_corpus, tmp_path):
    """The fast path parses a chunk's files as one CSV; files without a last newline, with
    CRLF line ends or with a blank line (which the joined parse cannot count: it falls back
    to file by file) give the rows and per-file counts of reading each file alone."""
    from concurrent.futures import ThreadPoolExecutor

    from mmemo.features import openface_csv

    files = sorted(_copy(_some(synth_corpus, 4), tmp_path / "of").iterdir())
    header = files[0].open().readline().strip()
    want = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for f in files:
            alone, _ = openface_csv.read_chunk_arrow(pool, header, [f], False)
            want[f.name] = alone.drop_columns(["filename"])
        text = [f.read_bytes() for f in files]
        files[0].write_bytes(text[0].rstrip(b"\n"))  # no last newline
        files[1].write_bytes(text[1].replace(b"\n", b"\r\n"))  # CRLF
        for chunk in (files[:2], files):  # ... and a blank line: file by file
            if chunk is files:
                lines = text[2].split(b"\n")
                files[2].write_bytes(b"\n".join([*lines[:3], b"", *lines[3:]]))
            got, failed = openface_csv.read_chunk_arrow(pool, header, chunk, False)
            assert failed == []
            for f in chunk:
                rows = got.filter(pc.equal(got["filename"], str(f))).drop_columns(["filename"])
                assert rows.equals(want[f.name]), f.name


def test_a_chunk_reads_around_files_it_cannot_read(synth_corpus, tmp_path):
    """A chunk's files go into one buffer: a file that vanished (or changed size) after its
    size was taken is named as failed and leaves no bytes behind; a file with a header only
    gives no rows; the others give their own rows, and the hashes taken from the buffer are
    the files' sha256."""
    from concurrent.futures import ThreadPoolExecutor

    from mmemo.features import openface_csv
    from mmemo.hashing import sha256_file

    files = sorted(_copy(_some(synth_corpus, 4), tmp_path / "of").iterdir())
    header = files[0].open().readline().strip()
    with ThreadPoolExecutor(max_workers=2) as pool:
        want = {f: openface_csv.read_chunk_arrow(pool, header, [f], False)[0] for f in files}
        files[2].write_text(files[2].open().readline())  # the header line only
        gone = tmp_path / "of" / "01-01-01-01-01-01-99.csv"  # listed, then removed
        gone.write_text(files[0].read_text())
        real_stat = Path.stat

        def stat_then_remove(path, *args, **kwargs):
            out = real_stat(path, *args, **kwargs)
            if path == gone:
                path.unlink()
            return out

        hashes: dict[Path, str] = {}
        chunk = [files[0], gone, *files[1:]]
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(Path, "stat", stat_then_remove)
            got, failed = openface_csv.read_chunk_arrow(pool, header, chunk, False, hashes)
    assert failed == [gone]
    assert hashes == {f: sha256_file(f) for f in files}
    for f in files:
        rows = got.filter(pc.equal(got["filename"], str(f))).drop_columns(["filename"])
        if f == files[2]:
            assert rows.num_rows == 0
        else:
            assert rows.equals(want[f].drop_columns(["filename"])), f.name


def test_frame_filter_drops_and_orders_as_sql():
    """The kept frames: rows of bad files, low or null confidence (with --min-confidence) and
    untracked or null success (with --success-only) dropped; ``filename`` becomes ``clip_id``
    (either separator, repeated ``.csv`` in any case stripped); rows ordered by clip id then
    frame whatever order the files came in; the same table as SQL's WHERE and ORDER BY."""
    import duckdb
    import pyarrow as pa

    from mmemo.features.openface import OpenFaceReport, _filter

    table = pa.table(
        {
            "filename": ["/d/b.CSV.csv", "/d/b.CSV.csv", "c:\\x\\a.csv", "/d/a2.csv", "/d/bad.csv"],
            "frame": pa.array([2, 1, 1, 1, 1], pa.int32()),
            "confidence": [0.95, None, 0.99, 0.5, 0.99],
            "success": [True, True, None, True, True],
        }
    )
    sql = (
        "SELECT regexp_replace(parse_filename(filename), '(?i)(\\.csv)+$', '') AS clip_id, "
        "* EXCLUDE (filename) FROM t WHERE {} ORDER BY clip_id, frame"
    )
    con = duckdb.connect()
    con.register("t", table)
    for min_confidence, success_only in [(None, False), (0.9, False), (None, True), (0.9, True)]:
        report = OpenFaceReport()
        got = _filter(table, {"/d/bad.csv"}, min_confidence, success_only, report)
        where = ["filename <> '/d/bad.csv'"]
        where += [f"confidence >= {min_confidence}"] if min_confidence is not None else []
        where += ["success"] if success_only else []
        want = con.execute(sql.format(" AND ".join(where))).to_arrow_table()
        assert got.equals(want), (min_confidence, success_only)
        assert report.frames == want.num_rows and report.dropped_frames == 5 - want.num_rows
    everything = _filter(table, set(), None, False, OpenFaceReport())
    assert everything["clip_id"].to_pylist() == ["a", "a2", "b", "b", "bad"]
    assert everything["frame"].to_pylist() == [1, 1, 1, 2, 1]
