"""``mmemo ingest manifest``: any corpus from a CSV, JSONL or parquet table of paths, labels
and speakers, on the synthetic manifest layout (issue 25)."""

from __future__ import annotations

import pytest

from mmemo.corpora.synth.manifest import create_manifest, write_rows
from mmemo.testing.stores import query_rows

pytestmark = pytest.mark.local_only(
    "an adapter's work is the same on every backend; test_crema_d's ingest runs on both"
)

#: The synthetic manifest's columns, none of them the options' defaults but ``speaker``.
COLUMNS = ("--path-column", "file", "--label-column", "emotion", "--gender-column", "sex")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_manifest_in_each_format_ingests_its_rows_as_clips(cli, store, tmp_path, fmt):
    made = create_manifest(tmp_path / "corpus", speakers=3, per_speaker=4, fmt=fmt, seconds=0.2)
    result = cli(
        "--store",
        store.root,
        "ingest",
        "manifest",
        made.manifest,
        "--dataset",
        "toy",
        *COLUMNS,
        "--key-column",
        "key",
    )
    assert result.code == 0, result.err
    assert "12 toy manifest file(s): 12 added" in result.out_text
    rows = query_rows(store, "SELECT * FROM clips ORDER BY clip_id")
    assert [r["clip_id"] for r in rows] == sorted(f"toy:{r['key']}" for r in made.rows)
    assert {r["speaker"]: r["actor"] for r in rows} == {
        "spk001": 10001,
        "spk002": 10002,
        "spk003": 10003,
    }
    assert {(r["speaker"], r["gender"]) for r in rows} == {
        ("spk001", "male"),
        ("spk002", "female"),
        ("spk003", "male"),
    }
    assert {r["modality"] for r in rows} == {3} and all(r["duration"] > 0.1 for r in rows)
    with store.session() as s:
        labels = s.fetch("SELECT label FROM emotions WHERE dataset = 'toy' ORDER BY emotion")
    assert [x for (x,) in labels] == ["angry", "happy", "neutral", "sad"]  # sorted by default


def test_labels_give_the_class_order_and_rows_of_other_labels_are_listed(cli, store, tmp_path):
    made = create_manifest(tmp_path / "c", speakers=2, per_speaker=4, seconds=0.2)
    result = cli(
        "--store",
        store.root,
        "ingest",
        "manifest",
        made.manifest,
        "--dataset",
        "toy",
        *COLUMNS,
        "--labels",
        "sad,happy,neutral",
    )
    assert result.code == 0, result.err
    assert "6 toy manifest file(s): 6 added" in result.out_text
    assert "2 invalid name(s)" in result.out_text
    assert "label 'angry' is not one of --labels (sad, happy, neutral)" in result.err_text
    with store.session() as s:
        assert s.fetch("SELECT label FROM emotions WHERE dataset = 'toy' ORDER BY emotion") == [
            ("sad",),
            ("happy",),
            ("neutral",),
        ]
        assert s.fetch("SELECT DISTINCT emotion FROM clips WHERE label = 'sad'") == [(1,)]


def test_speakers_keep_their_numbers_when_a_later_manifest_adds_speakers(store, tmp_path):
    from mmemo.corpora.ingest import ingest_corpus
    from mmemo.corpora.manifest import ManifestAdapter, ManifestOptions

    made = create_manifest(tmp_path / "c", speakers=3, per_speaker=2, seconds=0.2)
    options = ManifestOptions("toy", path_column="file", label_column="emotion")
    first = [r for r in made.rows if r["speaker"] != "spk001"]
    ingest_corpus(store, ManifestAdapter(write_rows(made.root / "first.csv", first), options), [])
    ingest_corpus(store, ManifestAdapter(made.manifest, options), [])
    numbers = dict(
        _row.values()
        for _row in query_rows(store, "SELECT DISTINCT speaker, actor FROM clips ORDER BY 1")
    )
    assert numbers == {"spk002": 10001, "spk003": 10002, "spk001": 10003}


def test_two_manifest_corpora_and_ravdess_share_no_clip_id_or_speaker_number(
    ingested_store, tmp_path
):
    from mmemo.corpora.ingest import ingest_corpus
    from mmemo.corpora.manifest import ManifestAdapter, ManifestOptions

    made = create_manifest(tmp_path / "c", speakers=2, per_speaker=2, seconds=0.2)
    for name in ("one", "two"):
        options = ManifestOptions(name, path_column="file", label_column="emotion")
        ingest_corpus(ingested_store, ManifestAdapter(made.manifest, options), [])
    rows = query_rows(
        ingested_store,
        "SELECT dataset, min(actor) AS low, max(actor) AS high, count(*) AS n, "
        "count(DISTINCT clip_id) AS ids FROM clips GROUP BY 1 ORDER BY 1",
    )
    assert rows == [
        {"dataset": "one", "low": 10001, "high": 10002, "n": 4, "ids": 4},
        {"dataset": "ravdess", "low": 1, "high": 2, "n": 624, "ids": 624},
        {"dataset": "two", "low": 10003, "high": 10004, "n": 4, "ids": 4},
    ]


@pytest.mark.parametrize(
    ("edit", "args", "problem"),
    [
        (None, ("--path-column", "nope"), "no column nope"),
        (None, ("--dataset", "Bad Name"), "a dataset name is"),
        (None, ("--dataset", "ravdess"), "is a built-in corpus"),
        (None, ("--labels", "happy,joy"), "has joy"),
        ("manifest.csv", (), "not a readable manifest"),
        ("manifest.txt", (), "a manifest is .csv"),
    ],
    ids=["column", "dataset", "built-in", "labels", "broken", "suffix"],
)
def test_a_bad_manifest_or_option_is_one_line_and_the_store_is_unchanged(
    cli, store, tmp_path, store_state, edit, args, problem
):
    made = create_manifest(tmp_path / "c", speakers=1, per_speaker=2, seconds=0.2)
    manifest = made.manifest
    if edit == "manifest.csv":
        manifest.write_bytes(b'file,emotion,speaker\n"unterminated,happy,a\n')
    elif edit == "manifest.txt":
        manifest = manifest.rename(manifest.with_suffix(".txt"))
    before = store_state(store)
    options = dict(zip(COLUMNS[::2], COLUMNS[1::2], strict=True)) | {"--dataset": "toy"}
    options |= dict(zip(args[::2], args[1::2], strict=True))
    result = cli(
        "--store",
        store.root,
        "ingest",
        "manifest",
        manifest,
        *[x for pair in options.items() for x in pair],
    )
    assert result.code == 2, result.out
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert problem in result.err_text
    assert store_state(store) == before


def test_rows_whose_file_is_missing_are_listed_and_the_rest_ingested(cli, store, tmp_path):
    made = create_manifest(tmp_path / "c", speakers=1, per_speaker=3, seconds=0.2)
    (made.root / made.rows[1]["file"]).unlink()
    result = cli(
        "--store", store.root, "ingest", "manifest", made.manifest, "--dataset", "toy", *COLUMNS
    )
    assert result.code == 0, result.err
    assert "2 toy manifest file(s): 2 added" in result.out_text
    assert "line 3: no such file" in result.err_text


def test_python_ingests_a_manifest_and_a_named_corpus(store, tmp_path):
    import mmemo
    from mmemo.corpora.manifest import ManifestAdapter, ManifestOptions

    made = create_manifest(tmp_path / "c", speakers=2, per_speaker=2, seconds=0.2)
    options = ManifestOptions("toy", path_column="file", label_column="emotion")
    with mmemo.open(store.root) as opened:
        report = opened.ingest(ManifestAdapter(made.manifest, options), [made.manifest])
        assert (report.added, report.unchanged) == (4, 0)
        again = opened.ingest(ManifestAdapter(made.manifest, options), [made.manifest])
        assert (again.added, again.unchanged, again.snapshot_id) == (0, 4, None)
        counted = opened.sql("SELECT dataset, count(*) AS n FROM clips GROUP BY 1").fetchall()
    assert counted == [("toy", 4)]
