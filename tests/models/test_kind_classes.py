"""The deep kinds take the class codes of their output columns from the labels they are given
(``FoldData.y_train``), as scikit-learn's kinds do, not from the assumption that codes run
1..8."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from mmemo.errors import InputError
from mmemo.models.base import FoldData
from mmemo.models.classes import output_classes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _sequences(codes: list[int], n_per_class: int = 6) -> tuple[list[np.ndarray], np.ndarray]:
    """Frame sequences whose class shows as a raised value in one column, labelled ``codes``."""
    rng = np.random.default_rng(3)
    seqs, labels = [], []
    for column, code in enumerate(codes):
        for _ in range(n_per_class):
            x = rng.normal(0.0, 0.3, size=(int(rng.integers(4, 12)), 4)).astype(np.float32)
            x[:, column] += 3.0
            seqs.append(x)
            labels.append(code)
    return seqs, np.array(labels, dtype=np.int64)


BILSTM = {
    "hidden": 8,
    "attention_hidden": 8,
    "batch_size": 8,
    "max_epochs": 3,
    "device": "cpu",
    "n_classes": 3,
    "early_stop_on": "none",
}


def test_the_bilstm_names_its_columns_by_the_training_codes_and_trains_the_same() -> None:
    """Codes 2, 5, 9 give the columns [2, 5, 9] and, relabelled in order, the very scores
    that codes 1, 2, 3 give: a code's column is its rank among the training classes."""
    pytest.importorskip("torch")
    from mmemo.models.registry import get_kind

    kind = get_kind("bilstm")
    seqs, plain = _sequences([1, 2, 3])
    sparse = np.array([2, 5, 9])[plain - 1]
    a = kind.fit(BILSTM, FoldData(X_train=seqs, y_train=plain, X_test=seqs[:5]), seed=4)
    b = kind.fit(BILSTM, FoldData(X_train=seqs, y_train=sparse, X_test=seqs[:5]), seed=4)
    assert a.classes == [1, 2, 3] and b.classes == [2, 5, 9]
    np.testing.assert_array_equal(a.test_scores, b.test_scores)
    np.testing.assert_array_equal(np.array([2, 5, 9])[a.predict() - 1], b.predict())


def test_a_deep_kind_refuses_outputs_that_are_not_its_training_classes() -> None:
    assert output_classes([7, 3, 7], 2).codes == (3, 7)
    with pytest.raises(InputError, match=r"n_classes=8, but the training labels hold 3 .*\(1, 4"):
        output_classes([1, 4, 6], 8)
    pytest.importorskip("torch")
    from mmemo.models.registry import get_kind

    seqs, y = _sequences([1, 2, 3])
    with pytest.raises(InputError, match="set n_classes=3"):
        get_kind("bilstm").fit(
            {**BILSTM, "n_classes": 8}, FoldData(X_train=seqs, y_train=y, X_test=seqs), seed=1
        )


def test_the_finetune_trains_on_the_columns_of_its_training_codes(monkeypatch) -> None:
    """The fine-tune gets column indices of the training codes (not ``code - 1``), and its
    result names the columns by the codes."""
    pytest.importorskip("transformers")
    from mmemo.models.registry import get_kind
    from mmemo.models.wav2vec2_finetune import kind as module

    seen: dict[str, Any] = {}

    def finetune(source, waves, y, *, cfg, on_step, checkpoint):
        seen["y"], seen["n_classes"] = np.asarray(y), cfg.n_classes
        return SimpleNamespace(history=[], n_classes=cfg.n_classes)

    monkeypatch.setattr(module, "finetune", finetune)
    monkeypatch.setattr(module, "predict_finetuned", lambda m, X: np.zeros((len(X), m.n_classes)))
    waves = [np.zeros(160, np.float32)] * 4
    data = FoldData(X_train=waves, y_train=np.array([8, 3, 8, 6]), X_test=waves[:1])
    result = get_kind("wav2vec2-finetune").fit(
        {"model": "tiny", "n_classes": 3, "device": "cpu"}, data, seed=0
    )
    assert seen["y"].tolist() == [2, 0, 2, 1] and seen["n_classes"] == 3
    assert result.classes == [3, 6, 8] and result.test_scores.shape == (1, 3)
