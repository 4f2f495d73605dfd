"""Cross-corpus evaluation on synthetic RAVDESS and CREMA-D in one store: label maps, the
``corpora`` and ``cross:A:B`` schemes, the matrix report, predict and fusion (issue 25).

The features are made for the test: each clip's vector points at its class in ``common6``
(plus noise), so that a model trained on one corpus recognises the other's clips, and the
numbers the commands print can be told apart from chance."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmemo.corpora.label_maps import LABEL_MAPS, label_map
from mmemo.corpora.synth.crema_d import create_crema_d

pytestmark = pytest.mark.local_only(
    "an adapter's work is the same on every backend; test_crema_d's ingest runs on both"
)

COMMON6 = LABEL_MAPS["common6"]
AUDIO = "modality = 3"


@pytest.fixture(scope="module")
def crema(tmp_path_factory):
    return create_crema_d(
        tmp_path_factory.mktemp("crema") / "CREMA-D",
        actors=2,
        sentences=("IEO", "DFA"),
        seconds=0.3,
        video=False,
    ).root


@pytest.fixture(scope="module")
def _two_corpora_restore(_ingested_store_restore, crema, tmp_path_factory, backend):
    """Template of ``two_corpora``, built once for the module."""
    from mmemo.corpora.ingest import ingest_corpus
    from mmemo.features.imported import import_features
    from mmemo.store.store import Store
    from mmemo.testing.stores import restorable

    work = _ingested_store_restore()  # shares the ingested store's path (see conftest)
    store = Store.open(work)
    ingest_corpus(store, "crema-d", [crema])
    with store.session() as s:
        clips = s.fetch("SELECT clip_id, label FROM clips ORDER BY clip_id")
    rng = np.random.default_rng(7)
    vectors = []
    for _, label in clips:
        target = COMMON6.target(label)
        vector = rng.normal(0.0, 0.3, 8)
        if target is not None:
            vector[COMMON6.labels.index(target)] += 2.0
        vectors.append(vector)
    table = pa.table(
        {"clip_id": [c for c, _ in clips]}
        | {f"x{i}": [float(v[i]) for v in vectors] for i in range(8)}
    )
    path = tmp_path_factory.mktemp("two-corpora") / "f.parquet"
    pq.write_table(table, path)
    import_features(store, path, name="f", id_col="clip_id")
    return restorable(work, work.parent / "two-corpora-template", backend)


@pytest.fixture()
def two_corpora(_two_corpora_restore):
    """RAVDESS (actors 1-2) and CREMA-D (1001-1002) in one store, with the feature set
    ``f`` of every clip."""
    from mmemo.store.store import Store

    return Store.open(_two_corpora_restore())


def _train(cli, store, name, scheme, *extra):
    return cli(
        "--store",
        store.root,
        "train",
        "static",
        "--model",
        "logreg",
        "--features",
        "f",
        "--clips",
        AUDIO,
        "--scheme",
        scheme,
        "--name",
        name,
        *extra,
    )


def test_a_map_names_its_classes_and_takes_each_corpus_labels() -> None:
    assert COMMON6.target("Fearful") == "fearful" and COMMON6.target("calm") is None
    assert LABEL_MAPS["common4"].target("excited") == "happy"
    assert label_map("neutral,sad").labels == ("neutral", "sad")
    assert label_map("labels:common4") is LABEL_MAPS["common4"]
    assert COMMON6.record()[0] == {"code": 1, "label": "neutral", "from": ["neu", "neutral"]}


@pytest.mark.slow  # > 3.5 s
def test_leave_one_corpus_out_fills_the_matrix_through_a_label_map(cli, two_corpora):
    store = two_corpora
    refused = _train(cli, store, "loco", "corpora")
    assert refused.code == 2 and "spans the datasets crema-d, ravdess" in refused.err_text

    trained = _train(cli, store, "loco", "corpora", "--labels", "common6")
    assert trained.code == 0, trained.err
    with store.session() as s:
        dataset, inputs = s.fetch("SELECT dataset, inputs FROM runs WHERE name = 'loco'")[0]
        outside = s.fetch(
            "SELECT count(*) FROM clips WHERE modality = 3 AND label IN ('calm', 'surprised')"
        )[0][0]
        tested = s.fetch(
            "SELECT p.fold, c.dataset, count(*) FROM posteriors p JOIN clips c USING (clip_id) "
            "WHERE run = 'loco' AND split = 'test' GROUP BY ALL ORDER BY ALL"
        )
    assert dataset == "labels:common6"
    labels = (json.loads(inputs) if isinstance(inputs, str) else inputs)["labels"]
    assert labels == {"map": "common6", "left_out": outside} and outside == 48
    assert tested == [(0, "crema-d", 44), (1, "ravdess", 208 - 48)]

    matrix = cli("--store", store.root, "report", "loco", "--matrix", "--format", "csv")
    assert matrix.code == 0, matrix.err
    rows = list(csv.DictReader(io.StringIO(matrix.out)))
    assert [(r["run"], r["trained on"]) for r in rows] == [("loco", "crema-d"), ("loco", "ravdess")]
    assert rows[0]["crema-d acc"] == "" and rows[1]["ravdess acc"] == ""
    assert float(rows[0]["ravdess acc"]) > 80 and float(rows[1]["crema-d UAR"]) > 80
    latex = cli("--store", store.root, "report", "loco", "--matrix", "--format", "latex")
    assert r"\toprule" in latex.out and "crema-d UAR" in latex.out


@pytest.mark.slow  # > 3.5 s
def test_cross_trains_on_one_corpus_and_tests_the_other_as_the_matching_corpora_fold(
    cli, two_corpora, predicts_its_posteriors
):
    store = two_corpora
    for name, scheme in (("loco", "corpora"), ("x", "cross:ravdess:crema-d")):
        trained = _train(cli, store, name, scheme, "--labels", "common6")
        assert trained.code == 0, trained.err
    with store.session() as s:
        splits = s.fetch(
            "SELECT p.fold, p.split, c.dataset, count(*) FROM posteriors p "
            "JOIN clips c USING (clip_id) WHERE run = 'x' GROUP BY ALL ORDER BY ALL"
        )
        same = s.fetch(
            "SELECT count(*), sum((a.scores = b.scores)::INT) FROM posteriors a "
            "JOIN posteriors b USING (clip_id, split) WHERE a.run = 'x' AND b.run = 'loco' "
            "AND b.fold = 0 AND a.split = 'test'"
        )
        audit = s.fetch(
            "SELECT count(*) FROM fold_assignments WHERE scheme = "
            "'cross:ravdess:crema-d' AND fold = -1"
        )
    assert splits == [(0, "test", "crema-d", 44), (0, "train", "ravdess", 160)]
    assert same == [(44, 44)]  # the same training clips, the same model: the same scores
    assert audit == [(2,)]  # RAVDESS's two actors: trained on, never tested
    predicts_its_posteriors(store, "x", clips=f"dataset = 'crema-d' AND {AUDIO}")

    matrix = cli("--store", store.root, "report", "x", "loco", "--matrix", "--format", "json")
    cells = {(r["run"], r["trained on"]): r for r in json.loads(matrix.out)}
    assert cells[("x", "ravdess")]["crema-d acc"] == cells[("loco", "ravdess")]["crema-d acc"]


@pytest.mark.slow  # > 3.5 s
def test_runs_of_one_map_fuse_and_report_in_the_maps_classes(cli, two_corpora):
    store = two_corpora
    for name, model in (("lr", "logreg"), ("knn", "knn")):
        trained = cli(
            "--store",
            store.root,
            "train",
            "static",
            "--model",
            model,
            "--features",
            "f",
            "--clips",
            AUDIO,
            "--scheme",
            "corpora",
            "--labels",
            "common6",
            "--name",
            name,
        )
        assert trained.code == 0, trained.err
    fused = cli("--store", store.root, "fuse", "lr", "knn", "--method", "mean", "--name", "both")
    assert fused.code == 0, fused.err
    report = cli("--store", store.root, "report", "both", "--per-class")
    assert report.code == 0, report.err
    header = next(line for line in report.out.splitlines() if line.startswith("Metric"))
    assert header.split()[1:] == [x.capitalize() for x in COMMON6.labels]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--scheme", "corpora", "--clips", "dataset = 'crema-d'"), "needs clips of two corpora"),
        (("--scheme", "cross:ravdess:crema-d", "--clips", "dataset = 'ravdess'"), "none are"),
        (("--scheme", "cross:ravdess", "--clips", AUDIO), "expected cross:FROM:TO"),
        (("--scheme", "corpora", "--clips", AUDIO, "--labels", "joy,awe"), "takes none"),
        (("--scheme", "corpora", "--clips", AUDIO, "--labels", "nosuchmap"), "no such label map"),
    ],
    ids=["one-corpus", "cross-one", "cross-shape", "map-empty", "map-unknown"],
)
def test_a_cross_corpus_job_that_cannot_be_is_one_line_and_changes_nothing(
    cli, two_corpora, store_state, args, problem
):
    store = two_corpora
    options = dict(zip(args[::2], args[1::2], strict=True))
    options.setdefault("--labels", "common6")
    before = store_state(store)
    result = cli(
        "--store",
        store.root,
        "train",
        "static",
        "--model",
        "logreg",
        "--features",
        "f",
        "--name",
        "no",
        *[x for pair in options.items() for x in pair],
    )
    assert result.code == 2, result.out
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert problem in result.err_text
    assert store_state(store) == before


def test_folds_show_a_scheme_over_corpora_in_a_maps_classes(cli, two_corpora):
    result = cli(
        "--store", two_corpora.root, "folds", "show", "corpora", "--clips", AUDIO,
        "--labels", "common6",
    )  # fmt: skip
    assert result.code == 0, result.err
    folds = [line.split()[:3] for line in result.out.splitlines() if line.strip()[:1].isdigit()]
    assert folds == [["0", "1001,1002", "44"], ["1", "1,2", "160"]]
