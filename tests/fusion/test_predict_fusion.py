"""``mmemo predict`` on fusion runs: the input runs are predicted first, then the fusion's fold
model, which reproduces the stored test posteriors of the fusion."""

from __future__ import annotations

import numpy as np
import pytest


def _check_reproduces(store, run: str) -> list[dict]:
    from mmemo.jobs.predict import predict_run

    with store.session() as s:
        stored = {
            clip: (fold, scores)
            for clip, fold, scores in s.fetch(
                "SELECT clip_id, fold, scores FROM posteriors WHERE run = ? AND split = 'test'",
                [run],
            )
        }
    rows = predict_run(store, run, "av-speech").table.to_pylist()
    assert {r["clip_id"] for r in rows} == set(stored)
    for row in rows:
        fold, scores = stored[row["clip_id"]]
        assert row["folds"] == [fold]
        np.testing.assert_allclose(row["scores"], scores, rtol=0, atol=1e-12)
    return rows


@pytest.mark.parametrize("method", ["logreg", "mean", "product", "vote"])
@pytest.mark.slow
def test_predict_fusion_reproduces_its_test_posteriors(fus_store, run_row, method) -> None:
    from mmemo.jobs.fusion import fuse_runs
    from mmemo.jobs.specs import FuseSpec

    fuse_runs(fus_store, FuseSpec(runs=("svc", "lr", "knn"), name="F", method=method))
    assert sorted(a["fold"] for a in run_row(fus_store, "F").artefacts) == [0, 4]
    rows = _check_reproduces(fus_store, "F")
    assert len(rows) == 120


@pytest.mark.slow
def test_predict_fusion_of_a_fusion(fus_store) -> None:
    from mmemo.jobs.fusion import fuse_runs
    from mmemo.jobs.specs import FuseSpec

    fuse_runs(fus_store, FuseSpec(runs=("svc", "lr"), name="F1"))
    fuse_runs(fus_store, FuseSpec(runs=("F1", "knn"), name="F2", method="mean"))
    _check_reproduces(fus_store, "F2")


@pytest.mark.slow
def test_predict_cli_on_a_fusion(store_cli, fus_store) -> None:
    assert store_cli(fus_store, "fuse", "svc", "lr", "--name", "F").code == 0
    result = store_cli(fus_store, "predict", "F", "--clips", "av-speech", "--format", "csv")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == '"clip_id","folds","basis","scores","predicted_emotion","predicted_label"'
    assert sum(line.startswith('"01-') for line in lines) == 120
