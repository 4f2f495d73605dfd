"""``mmemo import features``: per-clip vectors from CSV or parquet, among them the authors' own
averaged Action Units of Luna-Jiménez et al. (2022)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mmemo.corpora.openface_columns import AU_COLUMNS
from mmemo.testing.stores import restorable

DATA = Path(__file__).resolve().parents[1] / "data"
LUNA_CSV = DATA / "luna2022" / "openface_au_means.csv"
LUNA_CLIPS = DATA / "luna2022_clips" / "ravdess_av_speech_clips.txt"


def _luna_rows() -> tuple[list[str], list[dict[str, str]]]:
    with LUNA_CSV.open(newline="") as fh:
        reader = csv.DictReader(fh, delimiter=";")
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.fixture(scope="session")
def _luna_store_restore(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Path]:
    """A store holding the 1,440 audio-visual speech clips by name (no media)."""
    from mmemo.corpora.ingest import ingest_ravdess
    from mmemo.store.store import Store

    base = tmp_path_factory.mktemp("luna-store")
    work = base / "store"
    report = ingest_ravdess(Store.init(work), [LUNA_CLIPS])
    assert report.added == 1440
    template = base / "template"
    return restorable(work, template)


@pytest.fixture()
def luna_store(_luna_store_restore):
    from mmemo.store.store import Store

    return Store.open(_luna_store_restore())


def _vectors(store, name: str) -> dict[str, tuple[int, list[float]]]:
    with store.session() as s:
        rows = s.fetch(
            "SELECT clip_id, ordinal, vector FROM clip_vectors WHERE feature_set = ?", [name]
        )
    return {clip: (ordinal, vector) for clip, ordinal, vector in rows}


@pytest.mark.slow
def test_luna2022_au_means_import_with_one_command_bit_identical(luna_store, store_cli):
    from mmemo.features.loading import load_clip_vectors

    header, rows = _luna_rows()
    result = store_cli(
        luna_store,
        "import",
        "features",
        LUNA_CSV,
        "--name",
        "luna_aus",
        "--id-col",
        "name",
        "--columns",
        "AU.*",
    )
    assert result.code == 0, result.err
    assert "luna_aus v1: 1440 clip(s) × 35 column(s)" in result.out_text

    stored = _vectors(luna_store, "luna_aus")
    assert len(stored) == 1440
    au_cols = [c for c in header if c.startswith("AU")]
    assert au_cols == list(AU_COLUMNS)  # the file's order is OpenFace's order
    for index, row in enumerate(rows):
        ordinal, vector = stored[row["name"]]
        assert ordinal == index  # the file's row order is kept
        want = [float(row[c]) for c in au_cols]
        assert vector == want, row["name"]  # exact: no float32 round trip, no re-parsing drift

    with luna_store.session() as s:
        fs = s.fetch(
            "SELECT kind, status, dim, n_clips, params, inputs FROM feature_sets "
            "WHERE name = 'luna_aus'"
        )
    assert fs[0][:4] == ("imported", "complete", 35, 1440)
    assert "AU01_r" in str(fs[0][4]) and "openface_au_means.csv" in str(fs[0][5])

    ids = np.array([rows[7]["name"], rows[3]["name"]])
    matrix, ordinals, _ = load_clip_vectors(luna_store, "luna_aus", ids)
    assert ordinals.tolist() == [7, 3]
    assert matrix[0].tolist() == [float(rows[7][c]) for c in au_cols]

    # same file, same options: nothing new
    with luna_store.session() as s:
        snapshot = s.current_snapshot()
    again = store_cli(
        luna_store,
        "import",
        "features",
        LUNA_CSV,
        "--name",
        "luna_aus",
        "--id-col",
        "name",
        "--columns",
        "AU.*",
        "--sep",
        ";",
    )
    assert again.code == 0, again.err
    assert "already" in again.out_text
    with luna_store.session() as s:
        assert s.current_snapshot() == snapshot


def test_default_columns_are_every_numeric_column_but_the_id(luna_store, store_cli):
    from mmemo.cli.main import command
    from mmemo.features.imported import import_features

    _, rows = _luna_rows()
    report = import_features(luna_store, LUNA_CSV, name="luna_all", id_col="name")
    # 35 AUs plus the two numeric bookkeeping columns of the authors' file, 'speech' and
    # 'index'; 'name' is the id and 'path' is text
    assert report.columns == list(AU_COLUMNS) + ["speech", "index"]
    assert len(report.columns) == 37
    stored = _vectors(luna_store, "luna_all")
    first = rows[0]
    assert stored[first["name"]][1] == [float(first[c]) for c in report.columns]

    # ... which is what the command documents
    features_cmd = command().commands["import"].commands["features"]  # type: ignore[attr-defined]
    option = next(p for p in features_cmd.params if p.name == "columns")
    help_text = " ".join(option.help.split())
    assert "all numeric" in help_text
    assert "every numeric column but the id" in " ".join(import_features.__doc__.split())


def test_imported_set_has_no_frame_sequences_and_says_so(luna_store):
    """A sequential model asked to read an imported (per-clip) set gets the kind's answer, not
    a count of clips 'without features'."""
    from mmemo.errors import InputError
    from mmemo.features.imported import import_features
    from mmemo.features.loading import load_sequences

    import_features(luna_store, LUNA_CSV, name="luna_seq", id_col="name", columns="AU01_r")
    _, rows = _luna_rows()
    with pytest.raises(InputError, match=r"'luna_seq' \(imported\) has one vector per clip"):
        load_sequences(luna_store, "luna_seq", np.array([rows[0]["name"]]))


def test_unknown_clip_ids_are_listed_or_skipped(feat_store, store_cli, store_state):
    _, rows = _luna_rows()
    known = {r["name"] for r in rows if r["name"].endswith(("-01", "-02"))}  # actors 1 and 2
    unknown = [r["name"] for r in rows if r["name"] not in known]
    assert len(known) == 120

    before = store_state(feat_store)
    result = store_cli(
        feat_store,
        "import",
        "features",
        LUNA_CSV,
        "--name",
        "luna_aus",
        "--id-col",
        "name",
        "--columns",
        "AU.*",
    )
    assert result.code == 2
    text = result.err_text
    assert f"{len(unknown)} clip id(s) unknown to the store" in text
    assert ", ".join(unknown[:5]) in text
    assert f"and {len(unknown) - 5} more" in text
    assert "--skip-unknown" in text
    assert store_state(feat_store) == before

    skipped = store_cli(
        feat_store,
        "import",
        "features",
        LUNA_CSV,
        "--name",
        "luna_aus",
        "--id-col",
        "name",
        "--columns",
        "AU.*",
        "--skip-unknown",
    )
    assert skipped.code == 0, skipped.err
    assert f"120 clip(s) × 35 column(s), {len(unknown)} unknown skipped" in skipped.out_text
    stored = _vectors(feat_store, "luna_aus")
    assert set(stored) == known
    by_name = {r["name"]: (i, r) for i, r in enumerate(rows)}
    for clip, (ordinal, vector) in stored.items():
        index, row = by_name[clip]
        assert ordinal == index
        assert vector == [float(row[c]) for c in AU_COLUMNS]


def _small_csv(path: Path, rows: list[dict[str, str]], *, sep: str = ",") -> Path:
    cols = ["clip_id", *AU_COLUMNS[:3], "note"]
    lines = [sep.join(cols)]
    for r in rows:
        lines.append(sep.join([r["name"] + ".mp4", *(r[c] for c in AU_COLUMNS[:3]), "x y"]))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_nan_value_is_an_error_naming_the_clip(luna_store, store_cli, store_state, tmp_path):
    _, rows = _luna_rows()
    spoiled = [dict(r) for r in rows[:4]]
    spoiled[2]["AU02_r"] = "NaN"
    path = _small_csv(tmp_path / "nan.csv", spoiled)
    before = store_state(luna_store)
    result = store_cli(luna_store, "import", "features", path, "--name", "bad")
    assert result.code == 2
    assert "nan.csv" in result.err_text and "NaN" in result.err_text
    assert spoiled[2]["name"] in result.err_text and "row 4" in result.err_text
    assert store_state(luna_store) == before

    empty = [dict(r) for r in rows[:4]]
    empty[1]["AU01_r"] = ""
    path = _small_csv(tmp_path / "empty.csv", empty)
    result = store_cli(luna_store, "import", "features", path, "--name", "bad")
    assert result.code == 2 and "empty.csv" in result.err_text
    assert store_state(luna_store) == before


def test_guessed_id_column_extension_and_sep(luna_store, store_cli, tmp_path):
    _, rows = _luna_rows()
    path = _small_csv(tmp_path / "tab.tsv", rows[:5], sep="\t")
    result = store_cli(luna_store, "import", "features", path, "--name", "small", "--sep", "\t")
    assert result.code == 0, result.err
    assert "5 clip(s) × 3 column(s)" in result.out_text  # clip_id guessed, 'note' is text
    stored = _vectors(luna_store, "small")
    assert sorted(stored) == sorted(r["name"] for r in rows[:5])  # '.mp4' dropped
    assert stored[rows[0]["name"]][1] == [float(rows[0][c]) for c in AU_COLUMNS[:3]]

    text_col = store_cli(
        luna_store, "import", "features", path, "--name", "t", "--sep", "\t", "--columns", "no.*"
    )
    assert text_col.code == 2 and "note" in text_col.err_text and "not numeric" in text_col.err_text
    no_id = store_cli(luna_store, "import", "features", path, "--name", "t", "--id-col", "x")
    assert no_id.code == 2 and "no column 'x'" in no_id.err_text

    dup = _small_csv(tmp_path / "dup.csv", [rows[0], rows[1], rows[0]])
    twice = store_cli(luna_store, "import", "features", dup, "--name", "t")
    assert twice.code == 2 and "appears twice" in twice.err_text
    assert rows[0]["name"] in twice.err_text


def test_parquet_input_gives_the_csv_vectors(luna_store, store_cli, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    _, rows = _luna_rows()
    table = pa.table(
        {
            "clip": [r["name"] for r in rows],
            **{c: pa.array([float(r[c]) for r in rows], pa.float64()) for c in AU_COLUMNS},
            "path": [r["path"] for r in rows],
        }
    )
    path = tmp_path / "aus.parquet"
    pq.write_table(table, path)
    result = store_cli(luna_store, "import", "features", path, "--name", "pq", "--id-col", "clip")
    assert result.code == 0, result.err
    assert "1440 clip(s) × 35 column(s)" in result.out_text
    stored = _vectors(luna_store, "pq")
    assert len(stored) == 1440
    for index, row in enumerate(rows):
        assert stored[row["name"]] == (index, [float(row[c]) for c in AU_COLUMNS])
