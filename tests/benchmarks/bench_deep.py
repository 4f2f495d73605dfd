"""Benchmark: wall time per epoch of the bi-LSTM (AU frames) and of a tiny wav2vec2 fine-tune
on a synthetic corpus (4 actors, 240 full-AV speech clips, 2 folds), on this machine.

Run: python tests/benchmarks/bench_deep.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from mmemo.corpora.ingest import ingest_ravdess
from mmemo.corpora.synth import create_ravdess
from mmemo.features.openface import AuIngestSpec, ingest_openface
from mmemo.models.bilstm import train_bilstm
from mmemo.models.wav2vec2_finetune import FinetuneConfig, finetune
from mmemo.store.store import Store
from mmemo.testing.tiny_models import build_tiny_wav2vec2


def main() -> None:
    from mmemo.features.audio import decode_audio
    from mmemo.features.loading import load_sequences
    from mmemo.jobs.cv import load_cv
    from mmemo.models.bilstm import BiLSTMConfig

    work = Path(tempfile.mkdtemp(prefix="mmemo-bench-"))
    corpus = create_ravdess(work / "corpus", actors=4, seconds=1.0)
    store = Store.init(work / "store")
    ingest_ravdess(store, [corpus.root])
    ingest_openface(
        store, AuIngestSpec(sources=[str(corpus.openface_dir / "01-01-*.csv")], name="aus")
    )
    cv = load_cv(store, "kfold:2:2020", "av-speech")
    train = cv.folds != 0
    seqs, _ = load_sequences(store, "aus", cv.clip_ids)
    y = cv.emotions - 1
    epochs = 5
    t0 = time.perf_counter()
    train_bilstm(
        [s for s, t in zip(seqs, train, strict=True) if t], y[train], None, None,
        BiLSTMConfig(max_epochs=epochs, device="cpu"),
    )  # fmt: skip
    print(f"bi-LSTM: {(time.perf_counter() - t0) / epochs:.2f} s/epoch on {train.sum()} clips")
    tiny = build_tiny_wav2vec2(work / "tiny")
    with store.session() as s:
        paths = dict(s.fetch("SELECT clip_id, path FROM clips WHERE modality = 1"))
    waves = [decode_audio(paths[c]) for c in cv.clip_ids[train]]
    t0 = time.perf_counter()
    finetune(tiny, waves, y[train], cfg=FinetuneConfig(epochs=2, batch_size=16, device="cpu"))
    print(
        f"tiny wav2vec2 fine-tune: {(time.perf_counter() - t0) / 2:.2f} s/epoch "
        f"on {train.sum()} clips of ~1 s"
    )


if __name__ == "__main__":
    main()
