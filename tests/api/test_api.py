"""mmemo from Python (issue 24): ``mmemo.open``, queries as DuckDB relations, feature matrices
with the store's folds, and the jobs of the CLI through the same specs, giving the same rows."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import mmemo
from mmemo.errors import InputError, StoreError

SVC = {"model": "svc", "features": "aus:mean", "params": {"C": 1.0}, "norm": "minmax"}


def test_open_returns_tables_as_relations_and_listings_as_data(aus_store, monkeypatch):
    with mmemo.open(aus_store.root) as store:
        per_label = store.sql("SELECT label, count(*) AS n FROM clips GROUP BY label").df()
        assert per_label["n"].sum() == 624 and len(per_label) == 8
        one = store.sql("SELECT count(*) AS n FROM clips WHERE actor = $actor", {"actor": 1})
        assert one.to_arrow_table()["n"][0].as_py() == 312
        assert "clips" in set(store.tables().df()["table"])
        sets = store.features().df()
        assert list(sets["name"]) == ["aus"] and bool(sets["frames"][0])
        assert store.runs().df().empty
        with pytest.raises(InputError, match="--write"):
            store.sql("COPY (SELECT 1) TO 'x.csv'")
    monkeypatch.setenv("MMEMO_STORE", str(aus_store.root))
    assert mmemo.open().root == aus_store.root


def test_open_refuses_a_folder_without_a_store_unless_asked_to_create_it(tmp_path):
    with pytest.raises(StoreError, match="no mmemo store"):
        mmemo.open(tmp_path / "none")
    with mmemo.open(tmp_path / "new", create=True) as store:
        assert store.sql("SELECT count(*) AS n FROM clips").fetchall() == [(0,)]


def test_a_feature_matrix_holds_vectors_or_frames_labels_speakers_and_the_stores_folds(aus_store):
    store = mmemo.open(aus_store.root)
    means = store.features.load("aus:mean", clips="av-speech")
    frames = store.features.load("aus", clips="av-speech")
    assert means.ref == "aus@1:mean" and means.X.shape[0] == len(means) == 120
    assert frames.X is None and len(frames.sequences) == 120
    assert list(frames.clip_ids) == list(means.clip_ids) == sorted(means.clip_ids)
    np.testing.assert_allclose(
        means.X, np.array([s.mean(axis=0) for s in frames.sequences]), rtol=1e-5, atol=1e-5
    )
    truth = dict(
        (
            (c, (e, a))
            for c, e, a in store.sql("SELECT clip_id, emotion, actor FROM clips").fetchall()
        )
    )
    assert [(int(e), int(a)) for e, a in zip(means.y, means.groups, strict=True)] == [
        truth[c] for c in means.clip_ids
    ]
    assert set(means.labels) == {
        "neutral",
        "calm",
        "happy",
        "sad",
        "angry",
        "fearful",
        "disgust",
        "surprised",
    }
    # luna2022 tests actor 2 in fold 0 and actor 1 in fold 4
    folds = list(means.folds("luna2022"))
    assert [set(means.groups[test]) for _, test in folds] == [{2}, {1}]
    assert [split.fold for split in folds] == [0, 4] and folds[1].test is folds[1][1]
    for train, test in folds:
        assert not set(train) & set(test) and len(train) + len(test) == 120
    assert set(means.fold_of("luna2022")[means.groups == 1]) == {4}
    frame = means.to_pandas()
    assert list(frame.columns[:4]) == ["clip_id", "emotion", "label", "speaker"]
    assert frame.shape == (120, 4 + means.X.shape[1])


def test_frames_become_padded_torch_batches_with_their_lengths(aus_store):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    fm = mmemo.open(aus_store.root).features.load("aus", clips="av-speech")
    train, _ = next(fm.folds("luna2022"))
    loader = DataLoader(
        fm.torch_dataset(train), batch_size=16, collate_fn=mmemo.ClipDataset.collate
    )
    x, lengths, y = next(iter(loader))
    expected = [len(fm.sequences[i]) for i in train[:16]]
    assert lengths.tolist() == expected and x.shape[:2] == (16, max(expected))
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    np.testing.assert_array_equal(x[0, : expected[0]].numpy(), fm.sequences[train[0]])
    assert (x[0, expected[0] :] == 0).all()
    assert y.tolist() == fm.vocabulary.index_of(fm.y[train[:16]]).tolist()


@pytest.mark.slow
def test_train_from_python_is_the_cli_job(aus_store, store_cli):
    store = mmemo.open(aus_store.root)
    (run,) = store.train(mmemo.StaticSpec.one(name="py-svc", **SVC))
    cli = store_cli(
        aus_store, "train", "static", "--model", "svc", "--features", "aus:mean",
        "--param", "C=1.0", "--norm", "minmax", "--name", "cli-svc",
    )  # fmt: skip
    assert cli.code == 0, cli.err
    assert (
        run.status == "complete" and store.run("cli-svc").record["params"] == run.record["params"]
    )
    ours = run.posteriors.df()
    theirs = store.run("cli-svc").posteriors.df()
    assert len(ours) == len(theirs) > 120
    assert ours["clip_id"].tolist() == theirs["clip_id"].tolist()
    np.testing.assert_array_equal(np.stack(ours["scores"]), np.stack(theirs["scores"]))
    with pytest.raises(InputError, match="training spec"):
        store.train(mmemo.FuseSpec(name="f", runs=("a", "b")))


@pytest.mark.slow
def test_your_own_model_on_the_stores_folds_imports_fuses_and_reports(aus_store):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    store = mmemo.open(aus_store.root)
    store.train(mmemo.StaticSpec.one(name="svc", **SVC))
    fm = store.features.load("aus:mean", clips="av-speech")
    parts, correct = [], []
    for split in fm.folds("luna2022"):
        train, test = split
        model = LogisticRegression(max_iter=2000).fit(fm.X[train], fm.y[train])
        for name, rows in (("train", train), ("test", test)):
            scores = model.decision_function(fm.X[rows])
            part = pd.DataFrame({"clip_id": fm.clip_ids[rows], "fold": split.fold})
            part["split"] = name
            for j, code in enumerate(model.classes_):
                part[f"score_{code}"] = scores[:, j]
            parts.append(part)
        correct.append(np.mean(model.predict(fm.X[test]) == fm.y[test]))
    mine = store.import_posteriors(
        "mine", pd.concat(parts), classes=[str(c) for c in model.classes_], kind="decision"
    )
    assert mine.summary.accuracy == pytest.approx(100 * np.mean(correct))
    fused = store.fuse(mmemo.FuseSpec(name="mine+svc", runs=("mine", "svc")))
    table = store.report(["svc", "mine", "mine+svc"]).df()
    assert table["run"].tolist() == ["svc", "mine", "mine+svc"]
    assert table.set_index("run").loc["mine+svc", "accuracy"] == pytest.approx(
        fused.summary.accuracy
    )
    comparison = store.compare("mine+svc", "svc")
    assert comparison.n == 120 and 0 <= comparison.p_value <= 1
    with pytest.raises(InputError, match="unknown to the store"):
        bad = pd.concat(parts).assign(clip_id="01-01-01-01-01-01-99")
        store.import_posteriors("bad", bad, classes=[str(c) for c in model.classes_])
    assert "bad" not in set(store.runs().df()["name"])


def test_import_mmemo_loads_neither_duckdb_nor_torch():
    code = (
        "import sys, mmemo; mmemo.open; mmemo.StaticSpec; "
        "heavy = ('duckdb', 'torch', 'transformers', 'sklearn'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # mmemo.StaticSpec loads the jobs' specs (and the store: duckdb), never a model library
    assert done.stdout.strip() == "['duckdb']", done.stdout
    bare = subprocess.run(
        [sys.executable, "-c", "import sys, mmemo; print('duckdb' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert bare.stdout.strip() == "False"
