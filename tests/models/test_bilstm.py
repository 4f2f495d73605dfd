"""Tests of the bi-LSTM with attention over AU frames (tiny synthetic data, CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mmemo.errors import InputError  # noqa: E402
from mmemo.models.bilstm import (  # noqa: E402
    BiLSTMAttention,
    BiLSTMConfig,
    TrainedBiLSTM,
    inner_split,
    predict_bilstm,
    train_bilstm,
)

D = 6


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    """Tiny models run fastest on one thread, and do not fight other jobs for cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _separable(n_per_class: int, n_classes: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Clips of random length whose class shows as a raised value in one column."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for c in range(n_classes):
        for _ in range(n_per_class):
            t = int(rng.integers(4, 25))
            x = rng.normal(0.0, 0.3, size=(t, D)).astype(np.float32)
            x[:, c % D] += 3.0
            seqs.append(x)
            labels.append(c)
    return seqs, np.array(labels, dtype=np.int64)


def _small_cfg(**kw: object) -> BiLSTMConfig:
    base: dict[str, object] = dict(
        hidden=16, batch_size=16, max_epochs=8, patience=30, seed=7, device="cpu", n_classes=4
    )
    base.update(kw)
    return BiLSTMConfig(**base)  # type: ignore[arg-type]


def test_padding_gets_zero_attention_and_batching_does_not_change_outputs() -> None:
    torch.manual_seed(0)
    model = BiLSTMAttention(D, hidden=8, attention_hidden=8, n_classes=8).eval()
    rng = np.random.default_rng(0)
    lens = [5, 12, 20]
    seqs = [rng.normal(size=(t, D)).astype(np.float32) for t in lens]
    x = torch.zeros(3, 20, D)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = torch.from_numpy(s)
    with torch.no_grad():
        logits, attn = model(x, torch.tensor(lens))
        assert attn.shape == (3, 20)
        for i, t in enumerate(lens):
            assert torch.all(attn[i, t:] == 0)
            assert torch.all(attn[i, :t] > 0)
            assert float(attn[i].sum()) == pytest.approx(1.0, abs=1e-6)
            alone_logits, alone_attn = model(torch.from_numpy(seqs[i])[None], torch.tensor([t]))
            torch.testing.assert_close(alone_logits[0], logits[i], atol=1e-5, rtol=0)
            torch.testing.assert_close(alone_attn[0], attn[i, :t], atol=1e-5, rtol=0)


def test_learns_a_separable_problem_and_predicts_per_clip_attention() -> None:
    x_tr, y_tr = _separable(12, 4, seed=1)
    x_va, y_va = _separable(6, 4, seed=2)
    x_te, y_te = _separable(10, 4, seed=3)
    trained = train_bilstm(x_tr, y_tr, x_va, y_va, _small_cfg(max_epochs=6, lr=5e-3))
    logits, attn = predict_bilstm(trained, x_te, batch_size=7)
    assert logits.shape == (len(x_te), 4) and logits.dtype == np.float32
    assert (logits.argmax(1) == y_te).mean() > 0.8  # chance is 0.25
    assert [a.shape[0] for a in attn] == [s.shape[0] for s in x_te]
    assert all(abs(float(a.sum()) - 1.0) < 1e-5 for a in attn)
    assert [h["epoch"] for h in trained.history] == list(range(1, 7))
    assert trained.history[-1]["loss"] < trained.history[0]["loss"]
    # Batch size does not change predictions.
    again, _ = predict_bilstm(trained, x_te, batch_size=1)
    np.testing.assert_allclose(again, logits, atol=1e-5, rtol=0)


def test_early_stopping_stops_and_restores_the_best_epoch() -> None:
    x_tr, y_tr = _separable(10, 4, seed=4)
    x_va, _ = _separable(5, 4, seed=5)
    y_va = np.random.default_rng(0).integers(0, 4, size=len(x_va))  # noise: F1 soon stalls
    seen: list[int] = []
    cfg = _small_cfg(max_epochs=60, patience=3)
    trained = train_bilstm(x_tr, y_tr, x_va, y_va, cfg, on_epoch=lambda e, rec: seen.append(e))
    f1s = [h["val_macro_f1"] for h in trained.history]
    assert trained.stopped_early
    assert len(trained.history) < 60
    assert seen == list(range(1, len(trained.history) + 1))
    assert trained.best_epoch == int(np.argmax(f1s)) + 1  # first best on ties
    assert len(trained.history) == trained.best_epoch + cfg.patience
    logits, _ = predict_bilstm(trained, x_va)
    from sklearn.metrics import f1_score

    restored = f1_score(y_va, logits.argmax(1), average="macro", zero_division=0)
    assert restored == pytest.approx(trained.best_val_macro_f1)
    assert restored == pytest.approx(max(f1s))


def test_training_is_deterministic_on_cpu() -> None:
    x_tr, y_tr = _separable(8, 4, seed=6)
    x_va, y_va = _separable(3, 4, seed=7)
    cfg = _small_cfg(max_epochs=3)
    a = train_bilstm(x_tr, y_tr, x_va, y_va, cfg)
    b = train_bilstm(x_tr, y_tr, x_va, y_va, cfg)
    la, aa = predict_bilstm(a, x_va)
    lb, ab = predict_bilstm(b, x_va)
    assert np.array_equal(la, lb)
    assert all(np.array_equal(p, q) for p, q in zip(aa, ab, strict=True))
    assert a.history == b.history
    c = train_bilstm(x_tr, y_tr, x_va, y_va, _small_cfg(max_epochs=3, seed=8))
    assert not np.array_equal(predict_bilstm(c, x_va)[0], la)


def test_save_load_round_trip(tmp_path: Path) -> None:
    x_tr, y_tr = _separable(5, 4, seed=8)
    trained = train_bilstm(x_tr, y_tr, None, None, _small_cfg(max_epochs=2))
    assert trained.best_epoch == 2 and trained.best_val_macro_f1 is None
    path = trained.save(tmp_path / "m" / "bilstm.pt")
    loaded = TrainedBiLSTM.load(path, device="cpu")
    assert loaded.config == trained.config
    assert loaded.history == trained.history
    assert np.array_equal(predict_bilstm(loaded, x_tr)[0], predict_bilstm(trained, x_tr)[0])
    # Plain data only: loads with weights_only.
    torch.load(path, weights_only=True)


def test_defaults_follow_the_paper() -> None:
    cfg = BiLSTMConfig()
    assert (cfg.hidden, cfg.layers, cfg.batch_size, cfg.max_epochs, cfg.patience) == (
        50,
        2,
        64,
        300,
        30,
    )
    assert cfg.attention_width == 100 and cfg.seed == 2020 and cfg.n_classes == 8
    assert BiLSTMConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(InputError, match="unknown bi-LSTM option"):
        BiLSTMConfig.from_dict({"hiden": 3})
    # values of the wrong type are refused when the config is built, before any work
    with pytest.raises(InputError, match=r"max_epochs='abc': expected a whole number"):
        BiLSTMConfig.from_dict({"max_epochs": "abc"})
    with pytest.raises(InputError, match=r"class_weight='x': expected one of 'balanced' or none"):
        BiLSTMConfig.from_dict({"class_weight": "x"})
    assert BiLSTMConfig.from_dict({"lr": 1, "clip_norm": None}).lr == 1


def test_inputs_are_checked() -> None:
    x, y = _separable(2, 4, seed=9)
    with pytest.raises(InputError, match="values per frame"):
        train_bilstm(x + [np.zeros((3, D + 1), np.float32)], np.r_[y, 0], None, None, _small_cfg())
    with pytest.raises(InputError, match="0..3"):
        train_bilstm(x, y + 4, None, None, _small_cfg())
    with pytest.raises(InputError, match="at least one frame"):
        train_bilstm([np.zeros((0, D), np.float32)], np.array([0]), None, None, _small_cfg())


def test_inner_split_is_actor_disjoint_and_seeded() -> None:
    actors = np.repeat(np.arange(1, 20), 8)
    y = np.tile(np.arange(8), 19)
    tr, va = inner_split(actors, y, seed=2020)
    assert len(np.intersect1d(actors[tr], actors[va])) == 0
    assert len(tr) + len(va) == len(y)
    assert len(np.unique(actors[va])) == 4  # round(0.2 * 19)
    assert set(y[tr]) == set(range(8))
    tr2, va2 = inner_split(actors, y, seed=2020)
    assert np.array_equal(tr, tr2) and np.array_equal(va, va2)
    with pytest.raises(InputError, match="two actors"):
        inner_split(np.ones(4), np.arange(4), seed=0)


def test_inner_split_of_the_demo_holds_out_the_actor_it_did() -> None:
    """The demo (``kfold:2:2020`` on four actors, seed 2020) early-stops each fold on one of
    its two training actors: the one the hand-written draw before ``GroupShuffleSplit`` held
    out too (commit 9f60f20), so the demo's bi-LSTM, in the README's example table, stands."""
    for train_actors, held_out in (([2, 4], 4), ([1, 3], 3)):
        actors = np.repeat(train_actors, 60)
        y = np.tile(np.arange(60) % 8, 2)
        _, va = inner_split(actors, y, seed=2020)
        assert set(actors[va].tolist()) == {held_out}
