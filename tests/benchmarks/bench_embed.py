"""Benchmark: ``mmemo embed`` against the reference approach, side by side in one run.

On a synthetic corpus (full-AV speech clips of ``--seconds`` s) and a wav2vec2-large-SHAPED
model built from a config with random weights (315 M parameters; ``--size small`` for a quick
run), prints per clip: the reference (one clip at a time, full forward, mean of
``extract_features``), ``--layer conv``, ``--layer N`` (the last layer) and ``--layers all``
(every layer of one pass; goal within 10 % of the last-layer pass), the whole-process time of a
no-op re-run (goal under 2 s, no model loaded), and the peak RSS of a process embedding few vs
many clips. Ratios only; nothing is asserted.

Run: python tests/benchmarks/bench_embed.py [--size large|small] [--actors 1] [--seconds 3.7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = {  # hidden, layers, heads, ffn, conv width
    "large": (1024, 24, 16, 4096, 512),
    "small": (256, 4, 4, 1024, 128),
}
FEW = "modality = 1 AND vocal_channel = 1 AND emotion <= 2"


def _model(out: Path, size: str) -> Path:
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    hidden, layers, heads, ffn, conv = SIZES[size]
    config = Wav2Vec2Config(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=ffn, conv_dim=(conv,) * 7, feat_extract_norm="layer",
        do_stable_layer_norm=True, conv_bias=True,
    )  # fmt: skip
    torch.manual_seed(0)
    model = Wav2Vec2Model(config).eval()
    print(f"model: {size}, {sum(p.numel() for p in model.parameters()) / 1e6:.0f} M parameters")
    model.save_pretrained(out)
    Wav2Vec2FeatureExtractor(return_attention_mask=True, do_normalize=True).save_pretrained(out)
    return out


def _reference(model_dir: Path, paths: list[Path]) -> float:
    """Seconds per clip of the authors' recipe: one clip, full forward, mean of extract_features."""
    import torch
    from transformers import AutoFeatureExtractor, Wav2Vec2Model

    from mmemo.features.audio import decode_audio

    fe = AutoFeatureExtractor.from_pretrained(model_dir)
    model = Wav2Vec2Model.from_pretrained(model_dir).eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        for path in paths:
            values = fe(decode_audio(path), sampling_rate=16000, return_tensors="pt")
            model(values.input_values).extract_features[0].mean(0)
    return (time.perf_counter() - t0) / len(paths)


def _process(store: Path, *args: str) -> tuple[float, int]:
    """Whole-process seconds and peak RSS (MiB) of one ``mmemo`` command."""
    # VmHWM is this process's own peak; getrusage's ru_maxrss can carry over the peak of the
    # (large) benchmark process that forked it, and reported the same 5.8 GB for every command
    code = (
        "import sys, runpy; sys.argv = ['mmemo'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('mmemo', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print('RSS', hwm, file=sys.stderr)"
    )
    env = dict(os.environ, MMEMO_STORE=str(store))
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - t0
    rss = int(done.stderr.rsplit("RSS", 1)[1]) // 1024
    return seconds, rss


def main() -> None:
    from mmemo.corpora.ingest import ingest_ravdess
    from mmemo.corpora.synth import create_ravdess
    from mmemo.features.embed import embed_clips, embed_layers
    from mmemo.store.store import Store

    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=list(SIZES), default="large")
    parser.add_argument("--actors", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.7)
    parser.add_argument("--reference-clips", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mmemo-bench-embed-"))
    corpus = create_ravdess(work / "corpus", actors=args.actors, seconds=args.seconds)
    store = Store.init(work / "store")
    ingest_ravdess(store, [corpus.root])
    model = _model(work / "model", args.size)
    last = SIZES[args.size][1]
    speech = "av-speech"
    with store.session() as s:
        paths = [Path(p) for (p,) in s.fetch(
            "SELECT path FROM clips WHERE modality = 1 AND vocal_channel = 1 ORDER BY clip_id"
        )]  # fmt: skip
    import torch

    print(f"{len(paths)} clips of {args.seconds} s; torch threads: {torch.get_num_threads()}")
    ref = _reference(model, paths[: args.reference_clips])
    timings = {"reference (1 clip, full forward)": ref}
    for label, call in (
        ("--layer conv", lambda: embed_clips(store, str(model), name="c", clips=speech)),
        (f"--layer {last}", lambda: embed_clips(
            store, str(model), name="l", layer=str(last), clips=speech)),
        ("--layers all", lambda: embed_layers(
            store, str(model), name="a", layers="all", clips=speech)),
    ):  # fmt: skip
        t0 = time.perf_counter()
        call()
        timings[label] = (time.perf_counter() - t0) / len(paths)  # model load included
    for label, seconds in timings.items():
        print(f"{label:34} {seconds:7.3f} s/clip   {ref / seconds:5.2f}× the reference")
    ratio = timings["--layers all"] / timings[f"--layer {last}"]
    print(f"--layers all / --layer {last}: {ratio:.2f} (goal <= 1.10)")
    noop, _ = _process(work / "store", "embed", str(model), "--name", "c", "--clips", speech)
    print(f"no-op re-run, whole process: {noop:.2f} s (goal < 2 s)")
    few_s, few_rss = _process(work / "store", "embed", str(model), "--name", "f", "--clips", FEW)
    many_s, many_rss = _process(
        work / "store", "embed", str(model), "--name", "m", "--clips", speech
    )
    print(
        f"peak RSS --layer conv: {few_rss} MiB (few clips, {few_s:.1f} s) vs {many_rss} MiB "
        f"({len(paths)} clips, {many_s:.1f} s): {many_rss / few_rss:.2f}× (goal <= 1.10)"
    )


if __name__ == "__main__":
    main()
