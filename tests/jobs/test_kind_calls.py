"""``train`` and ``predict`` go through the same model kind (issue 22): every built-in kind's
``fit`` is what the training command calls, once per fold, and its ``score`` is what ``predict``
calls on the saved fold models; the scores it gives are the stored posteriors.

The kinds are the registry's own instances, wrapped to count their calls (the command runs
in-process, one job at a time), so a job that trained through a closure of its own, as the
bi-LSTM and fine-tune jobs did, fails here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from mmemo.models.registry import BUILTIN_KINDS, get_kind

KFOLD2 = "kfold:2:2020"
FEW = "modality = 1 AND vocal_channel = 1 AND statement = 1 AND repetition = 1"
STATIC = ["zeror", "svc", "knn", "mlp", "logreg"]
FUSIONS = ["fusion-logreg", "fusion-mean", "fusion-product", "fusion-vote"]


@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Counts of ``(kind, method)`` for every built-in kind's fit and score."""
    counted: Counter = Counter()
    for name in BUILTIN_KINDS:
        kind = get_kind(name)
        for method in ("fit", "score"):
            original = getattr(kind, method)

            def wrapper(*args: Any, _name=name, _method=method, _original=original, **kw: Any):
                counted[_name, _method] += 1
                return _original(*args, **kw)

            monkeypatch.setattr(kind, method, wrapper)
    return counted


@pytest.fixture()
def predicts(calls: Counter, predicts_its_posteriors):
    """``predicts(store, run, clips, atol, kind)``: ``predict`` of the run's own clips makes
    one ``score`` per fold model of ``kind``, giving the stored test posteriors."""

    def check(store, run: str, clips: str, atol: float, kind: str) -> None:
        before = calls[kind, "score"]
        predicts_its_posteriors(store, run, clips, atol)
        assert calls[kind, "score"] - before == 2, kind  # kfold:2: two fold models

    return check


@pytest.mark.slow
def test_static_runs_train_and_predict_through_their_kind(store_cli, aus_store, calls, predicts):
    for model in STATIC:
        features = [] if model == "zeror" else ["--features", "aus:mean"]
        result = store_cli(
            aus_store, "train", "static", "--model", model, *features, "--scheme", KFOLD2,
            "--clips", "av-speech", "--name", model, "--jobs", "1",
        )  # fmt: skip
        assert result.code == 0, result.err
        assert calls[model, "fit"] == 2, model  # one per fold of kfold:2
        predicts(aus_store, model, "av-speech", 0, model)


@pytest.mark.slow
def test_fusions_train_and_predict_through_their_kind(store_cli, aus_store, calls, predicts):
    for model in ("logreg", "knn"):
        result = store_cli(
            aus_store, "train", "static", "--model", model, "--features", "aus:mean",
            "--scheme", KFOLD2, "--clips", "av-speech", "--name", model, "--jobs", "1",
        )  # fmt: skip
        assert result.code == 0, result.err
    for fusion in FUSIONS:
        method = fusion.removeprefix("fusion-")
        name = f"fused-{method}"
        result = store_cli(aus_store, "fuse", "logreg", "knn", "--method", method, "--name", name)
        assert result.code == 0, result.err
        assert calls[fusion, "fit"] == 2, fusion
        predicts(aus_store, name, "av-speech", 1e-12, fusion)


@pytest.mark.slow
def test_the_bilstm_trains_and_predicts_through_its_kind(store_cli, aus_store, calls, predicts):
    pytest.importorskip("torch")
    result = store_cli(
        aus_store, "train", "bilstm", "--features", "aus", "--scheme", KFOLD2, "--clips", FEW,
        "--device", "cpu", "--early-stop-on", "test", "--param", "max_epochs=2", "--name", "bl",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert calls["bilstm", "fit"] == 2
    # float32 logits: other batch mates change the last bits of a matrix product
    predicts(aus_store, "bl", FEW, 1e-6, "bilstm")


@pytest.mark.slow
def test_the_finetune_trains_and_predicts_through_its_kind(
    store_cli, aus_store, tiny_w2v2, calls, predicts
):
    result = store_cli(
        aus_store, "train", "finetune", tiny_w2v2[True], "--scheme", KFOLD2, "--clips", FEW,
        "--device", "cpu", "--param", "epochs=1", "--param", "batch_size=8",
        "--param", "max_seconds=0.5", "--name", "ft",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert calls["wav2vec2-finetune", "fit"] == 2
    predicts(aus_store, "ft", FEW, 1e-5, "wav2vec2-finetune")
