"""Tests of wav2vec2 fine-tuning with tiny checkpoints built here (no network, CPU)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from mmemo.errors import InputError  # noqa: E402
from mmemo.models.wav2vec2_finetune import (  # noqa: E402
    FeatureSettings,
    FinetuneConfig,
    TrainedClassifier,
    Wav2Vec2Classifier,
    finetune,
    predict_finetuned,
    prepare_batch,
)

SR = 16000

#: Tiny models run fastest on one thread, and do not fight other jobs for cores.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_ln(tiny_w2v2: dict[bool, Path]) -> Path:
    """Layer-norm flavour (like XLSR): the feature extractor asks for an attention mask."""
    return tiny_w2v2[True]


@pytest.fixture(scope="module")
def tiny_gn(tiny_w2v2: dict[bool, Path]) -> Path:
    """Group-norm flavour (like wav2vec2-base): zero padding, no mask."""
    return tiny_w2v2[False]


def _tones(n_per_class: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Two classes: a low and a high tone with random length, phase and level."""
    rng = np.random.default_rng(seed)
    waves, labels = [], []
    for label, freq in enumerate((220.0, 1800.0)):
        for _ in range(n_per_class):
            n = int(rng.integers(int(0.25 * SR), int(0.5 * SR)))
            t = np.arange(n) / SR
            w = rng.uniform(0.1, 0.8) * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.28))
            w += rng.normal(0, 0.01, size=n)
            waves.append(w.astype(np.float32))
            labels.append(label)
    return waves, np.array(labels, dtype=np.int64)


def _cfg(**kw: Any) -> FinetuneConfig:
    base: dict[str, Any] = dict(
        n_classes=2,
        batch_size=8,
        gradient_accumulation=2,
        epochs=3,
        head_hidden=64,
        device="cpu",
        eval_batch_size=5,
        backbone_overrides={"layerdrop": 0.0},
    )
    base.update(kw)
    return FinetuneConfig(**base)


def test_finetune_trains_all_but_the_conv_encoder(
    tiny_ln: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    initial: dict[str, dict[str, Any]] = {}
    original = Wav2Vec2Classifier.from_pretrained.__func__  # type: ignore[attr-defined]

    def spy(cls: type, *args: Any, **kwargs: Any) -> Wav2Vec2Classifier:
        model = original(cls, *args, **kwargs)
        initial["head"] = copy.deepcopy(model.head.state_dict())
        initial["conv"] = copy.deepcopy(model.backbone.feature_extractor.state_dict())
        initial["encoder"] = copy.deepcopy(model.backbone.encoder.state_dict())
        return model

    monkeypatch.setattr(Wav2Vec2Classifier, "from_pretrained", classmethod(spy))
    waves, y = _tones(8, seed=0)
    ev_waves, ev_y = _tones(4, seed=1)
    steps: list[tuple[int, dict[str, float]]] = []
    trained = finetune(
        tiny_ln,
        waves,
        y,
        cfg=_cfg(),
        eval_waves=ev_waves,
        y_eval=ev_y,
        on_step=lambda s, rec: steps.append((s, rec)),
    )
    model = trained.model
    for k, v in model.backbone.feature_extractor.state_dict().items():
        assert torch.equal(v, initial["conv"][k]), f"conv encoder parameter {k} changed"
    assert not any(p.requires_grad for p in model.backbone.feature_extractor.parameters())
    assert any(
        not torch.equal(v, initial["encoder"][k])
        for k, v in model.backbone.encoder.state_dict().items()
    )
    for k, v in model.head.state_dict().items():
        assert not torch.equal(v, initial["head"][k]), f"head parameter {k} did not change"

    # 16 clips, batches of 8 → 2 steps per epoch; the linear schedule ends at 0.
    assert [s for s, _ in steps] == list(range(1, 7))
    assert steps[-1][1]["lr"] == pytest.approx(0.0)
    losses = [h["loss"] for h in trained.history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert {"eval_loss", "eval_accuracy", "eval_macro_f1"} <= set(trained.history[-1])
    assert trained.eval_logits is not None and trained.eval_logits.shape == (8, 2)
    np.testing.assert_allclose(
        predict_finetuned(trained, ev_waves, batch_size=3), trained.eval_logits, atol=1e-5
    )


def test_save_load_round_trip_gives_identical_logits(tiny_ln: Path, tmp_path: Path) -> None:
    waves, y = _tones(3, seed=2)
    trained = finetune(tiny_ln, waves, y, cfg=_cfg(epochs=1, max_seconds=0.3))
    out = trained.save(tmp_path / "ft")
    assert out is not None and (out / "backbone" / "preprocessor_config.json").is_file()
    loaded = TrainedClassifier.load(out, device="cpu")
    assert loaded.config == trained.config
    assert loaded.features == trained.features
    assert loaded.history == trained.history
    a = predict_finetuned(trained, waves, batch_size=4)
    b = predict_finetuned(loaded, waves, batch_size=4)
    assert a.dtype == np.float32 and a.shape == (6, 2)
    assert np.array_equal(a, b)


def test_masked_pooling_ignores_padding(tiny_ln: Path) -> None:
    torch.manual_seed(0)
    model = Wav2Vec2Classifier.from_pretrained(tiny_ln, n_classes=3, head_hidden=16).eval()
    assert model.use_attention_mask
    settings = FeatureSettings.from_pretrained(tiny_ln, model.backbone.config)
    waves, _ = _tones(3, seed=3)
    x, lengths = prepare_batch(waves, settings)
    assert int(lengths.max()) == x.shape[1] and len(set(lengths.tolist())) > 1
    with torch.no_grad():
        batched = model(x, lengths)
        for i, w in enumerate(waves):
            xi, li = prepare_batch([w], settings)
            alone = model(xi, li)
            torch.testing.assert_close(alone[0], batched[i], atol=1e-5, rtol=1e-5)


def test_group_norm_checkpoint_gets_no_mask(tiny_gn: Path) -> None:
    model = Wav2Vec2Classifier.from_pretrained(tiny_gn, n_classes=2, head_hidden=8).eval()
    assert not model.use_attention_mask
    settings = FeatureSettings.from_pretrained(tiny_gn, model.backbone.config)
    assert settings == FeatureSettings(return_attention_mask=False)
    waves, _ = _tones(2, seed=4)
    x, lengths = prepare_batch(waves, settings)
    # Per-clip normalisation over its own samples; padding stays at padding_value.
    short = int(lengths.argmin())
    assert torch.all(x[short, lengths[short] :] == 0)
    assert float(x[short, : lengths[short]].mean()) == pytest.approx(0.0, abs=1e-4)
    with torch.no_grad():
        assert model(x, lengths).shape == (4, 2)


def test_config_defaults_follow_the_paper() -> None:
    cfg = FinetuneConfig()
    assert (cfg.lr, cfg.betas, cfg.eps, cfg.batch_size, cfg.epochs, cfg.seed) == (
        1e-3,
        (0.9, 0.999),
        1e-6,
        100,
        10,
        2020,
    )
    assert cfg.head_hidden == 1024 and cfg.n_classes == 8 and cfg.freeze_feature_encoder
    assert FinetuneConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(InputError, match="unknown fine-tuning option"):
        FinetuneConfig.from_dict({"learning_rate": 1e-4})


def test_inputs_are_checked(tiny_ln: Path) -> None:
    waves, y = _tones(1, seed=5)
    with pytest.raises(InputError, match="at least"):
        finetune(tiny_ln, waves + [np.zeros(50, np.float32)], np.r_[y, 0], cfg=_cfg())
    with pytest.raises(InputError, match="0..1"):
        finetune(tiny_ln, waves, y + 2, cfg=_cfg())
    with pytest.raises(InputError, match="mono"):
        finetune(tiny_ln, [np.zeros((2, 8000), np.float32)] * 2, y, cfg=_cfg())


def test_finetune_runs_under_torch_distributed(tiny_ln: Path, tmp_path: Path) -> None:
    """A one-process gloo group exercises the DDP path (sampler, no_sync, rank-0 writes)."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        waves, y = _tones(4, seed=6)
        trained = finetune(
            tiny_ln, waves, y, cfg=_cfg(epochs=1, backbone_overrides={"layerdrop": 0.1})
        )
        assert isinstance(trained.model, Wav2Vec2Classifier)
        assert trained.save(tmp_path / "ddp") is not None
    finally:
        dist.destroy_process_group()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_finetune_on_cuda_with_bf16(tiny_ln: Path) -> None:
    waves, y = _tones(4, seed=7)
    trained = finetune(tiny_ln, waves, y, cfg=_cfg(device="cuda", epochs=2))
    assert trained.device.type == "cuda"
    logits = predict_finetuned(trained, waves, batch_size=3)
    assert np.isfinite(logits).all()
    alone = predict_finetuned(trained, waves, batch_size=1)
    np.testing.assert_allclose(alone, logits, atol=5e-2)  # bf16 rounding


def test_an_interrupted_finetune_resumes_from_its_last_epoch(tiny_ln: Path, tmp_path: Path) -> None:
    waves, y = _tones(6, seed=3)
    cfg = _cfg(epochs=3)
    whole = finetune(tiny_ln, waves, y, cfg=cfg)

    class Crash(Exception):
        pass

    steps_per_epoch = -(-len(waves) // cfg.batch_size)

    def crash_in_epoch_3(step: int, _: dict) -> None:
        if step > 2 * steps_per_epoch:
            raise Crash

    checkpoint = tmp_path / "fold.ckpt"
    with pytest.raises(Crash):
        finetune(tiny_ln, waves, y, cfg=cfg, on_step=crash_in_epoch_3, checkpoint=checkpoint)
    assert checkpoint.is_file()
    seen: list[int] = []
    resumed = finetune(
        tiny_ln, waves, y, cfg=cfg, checkpoint=checkpoint, on_step=lambda s, _: seen.append(s)
    )
    assert seen[0] == 2 * steps_per_epoch + 1  # epochs 1 and 2 were not trained again
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in whole.history]
    np.testing.assert_array_equal(
        predict_finetuned(resumed, waves[:4]), predict_finetuned(whole, waves[:4])
    )


def test_lr_schedule_is_transformers_and_keeps_the_linear_decay() -> None:
    """transformers' schedule gives exactly the values of the former hand-written one
    (linear decay to 0, no warm-up), and the Trainer's warm-up when one is asked for."""
    from mmemo.models.wav2vec2_finetune import lr_scheduler

    def rates(cfg: FinetuneConfig, total: int) -> list[float]:
        optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
        scheduler = lr_scheduler(optimizer, cfg, total)
        out = []
        for _ in range(total):
            out.append(scheduler.get_last_lr()[0])
            optimizer.step()
            scheduler.step()
        return out

    cfg = FinetuneConfig()
    # the former LambdaLR factor: max(0, (total - step) / max(1, total - warmup))
    assert rates(cfg, 37) == [cfg.lr * ((37 - step) / 37) for step in range(37)]
    assert rates(FinetuneConfig(lr_schedule="constant"), 5) == [cfg.lr] * 5
    warm = rates(FinetuneConfig(warmup_ratio=0.25), 8)  # ceil(2.0) = 2 warm-up steps
    decay = [cfg.lr * (8 - step) / 6 for step in range(3, 8)]
    assert warm == pytest.approx([0.0, cfg.lr / 2, cfg.lr, *decay])
    with pytest.raises(InputError, match="unknown lr_schedule 'cosine'"):
        rates(FinetuneConfig(lr_schedule="cosine"), 3)  # type: ignore[arg-type]
