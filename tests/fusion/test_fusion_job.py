"""``mmemo fuse``: the paper's late fusion against scikit-learn, rules, refusals, lineage."""

from __future__ import annotations

import numpy as np
import pytest

OTHER_SCHEME = "kfold:2:7"  # the scheme of the run lr-k2 (see conftest.py)


def _labels(store, ids: list[str]) -> np.ndarray:
    with store.session() as s:
        emotion = dict(s.fetch("SELECT clip_id, emotion FROM clips"))
    return np.array([emotion[c] for c in ids])


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_fusion_equals_a_direct_scikit_learn_computation(store_cli, fus_store, fus_scores, run_row):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import MinMaxScaler

    result = store_cli(fus_store, "fuse", "svc", "lr", "--name", "F")
    assert result.code == 0, result.err
    a, b, fused = (fus_scores(fus_store, r) for r in ("svc", "lr", "F"))
    assert sorted(fused) == [(0, "test"), (0, "train"), (4, "test"), (4, "train")]
    for fold in (0, 4):
        X = {}
        for split in ("train", "test"):
            ids_a, sa_ = a[(fold, split)]
            ids_b, sb = b[(fold, split)]
            assert ids_a == ids_b == fused[(fold, split)][0]
            X[split] = np.hstack([sa_, sb])  # A's scores, then B's, as stored
        y = _labels(fus_store, a[(fold, "train")][0])
        scaler = MinMaxScaler().fit(X["train"])
        model = LogisticRegression(C=1, random_state=2020).fit(scaler.transform(X["train"]), y)
        assert list(model.classes_) == list(range(1, 9))
        for split in ("train", "test"):
            expected = model.predict_proba(scaler.transform(X[split]))
            np.testing.assert_allclose(fused[(fold, split)][1], expected, rtol=0, atol=1e-10)
    run = run_row(fus_store, "F")
    assert (run.kind, run.model, run.scheme, run.seed) == (
        "fusion",
        "fusion-logreg",
        "luna2022",
        2020,
    )
    assert run.params == {"method": "logreg", "C": 1.0, "norm": "minmax"}
    assert run.inputs["runs"] == ["svc", "lr"]
    assert run.inputs["run_ids"] == [run_row(fus_store, "svc").id, run_row(fus_store, "lr").id]
    assert run.classes == list(range(1, 9)) and run.score_kind == "probs"
    report = store_cli(fus_store, "report", "F", "--format", "json")
    assert report.code == 0, report.err
    assert '"n": 120' in report.out


def test_fusion_reads_its_input_from_the_sql_file(fus_store, fus_scores, monkeypatch):
    import mmemo.jobs.fusion as fusion_job
    from mmemo.jobs.specs import FuseSpec
    from mmemo.resources import read_sql

    read: list[str] = []

    def recording(name: str) -> str:
        read.append(name)
        return read_sql(name)

    monkeypatch.setattr(fusion_job, "read_sql", recording)
    fusion_job.fuse_runs(fus_store, FuseSpec(runs=("lr", "svc"), name="F2"))
    assert "fusion/fusion_input.sql" in read
    with fus_store.session() as s:
        rows = s.fetch(read_sql("fusion/fusion_input.sql"), {"runs": ["lr", "svc"]})
    a, b = fus_scores(fus_store, "lr"), fus_scores(fus_store, "svc")
    assert len(rows) == 240
    for fold, split, clip, _emotion, features in rows[::17]:
        ids, scores_a = a[(fold, split)]
        i = ids.index(clip)
        expected = np.concatenate([scores_a[i], b[(fold, split)][1][i]])
        assert np.array_equal(np.array(features), expected)


@pytest.mark.parametrize(
    ("method", "kind"), [("mean", "probs"), ("product", "logits"), ("vote", "probs")]
)
def test_rule_methods(store_cli, fus_store, fus_scores, run_row, method, kind):
    result = store_cli(fus_store, "fuse", "svc", "lr", "--name", "R", "--method", method)
    assert result.code == 0, result.err
    run = run_row(fus_store, "R")
    assert run.score_kind == kind and run.params == {"method": method}
    a, b, fused = (fus_scores(fus_store, r) for r in ("svc", "lr", "R"))
    for key, (ids, got) in fused.items():
        pa_ = _softmax(a[key][1])  # svc stores vote counts (kind decision): soft-maxed
        pb = b[key][1]  # logreg stores probabilities: as they are
        if method == "mean":
            expected = (pa_ + pb) / 2
        elif method == "product":
            expected = np.log(np.clip(pa_, 1e-12, None)) + np.log(np.clip(pb, 1e-12, None))
        else:
            expected = np.zeros_like(pa_)
            for p in (pa_, pb):
                expected[np.arange(len(p)), p.argmax(axis=1)] += 0.5
        assert ids == a[key][0]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_fusion_refuses_runs_on_different_schemes(store_cli, fus_store, store_state):
    before = store_state(fus_store)
    result = store_cli(fus_store, "fuse", "lr", "lr-k2", "--name", "F")
    assert result.code == 2, result.out + result.err
    assert "different fold schemes" in result.err_text
    assert "lr: luna2022" in result.err_text and f"lr-k2: {OTHER_SCHEME}" in result.err_text
    assert store_state(fus_store) == before


@pytest.mark.parametrize("method", ["logreg", "mean"])
def test_fusion_refuses_runs_on_different_clips(store_cli, fus_store, store_state, method):
    before = store_state(fus_store)
    result = store_cli(fus_store, "fuse", "lr", "lr-n1", "--name", "F", "--method", method)
    assert result.code == 2, result.out + result.err
    assert "different clips" in result.err_text
    assert "lr has 60 clip(s), lr-n1" in result.err_text
    assert store_state(fus_store) == before


def test_fusion_refuses_an_unknown_method_and_run(store_cli, fus_store, store_state):
    before = store_state(fus_store)
    bad = store_cli(fus_store, "fuse", "lr", "svc", "--name", "F", "--method", "max")
    assert bad.code == 2 and "logreg, mean, product, vote" in bad.err_text
    missing = store_cli(fus_store, "fuse", "lr", "nope", "--name", "F")
    assert missing.code == 2 and "nope" in missing.err_text
    assert store_state(fus_store) == before
