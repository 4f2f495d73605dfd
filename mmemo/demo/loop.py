"""The demo loop: synth → init → ingest → train → fuse → report, on a synthetic corpus."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mmemo.progress import Progress
from mmemo.reports.rows import RunRow

Say = Callable[[str], None]


@dataclass
class DemoResult:
    store: Path
    rows: list[RunRow]
    confusion: Path | None
    table: Path
    seconds: float
    runs: list[str] = field(default_factory=list)


def run_demo(
    store_dir: Path,
    *,
    actors: int = 4,
    seed: int = 2020,
    say: Say = lambda _: None,
    progress: Progress | None = None,
) -> DemoResult:
    """synth → init → ingest (clips, OpenFace AUs) → models → fusion → report and figure.

    The synthetic corpus goes to ``<store_dir>/demo-corpus``, the report table and confusion
    figure next to the store. Deep models (bi-LSTM, a tiny wav2vec2 fine-tune) run when torch
    is installed. Running again on the same folder reuses corpus and store and adds new runs.
    """
    from mmemo.corpora.ingest import ingest_ravdess
    from mmemo.corpora.synth import create_ravdess
    from mmemo.features.openface import ingest_openface
    from mmemo.jobs.fusion import fuse_runs
    from mmemo.jobs.static import train_static_grid
    from mmemo.reports.figures import plot_confusion
    from mmemo.reports.report import report_rows
    from mmemo.reports.rows import baseline_rows
    from mmemo.reports.tables import render
    from mmemo.store.store import Store

    started = time.perf_counter()
    scheme = f"kfold:2:{seed}"  # two actor-disjoint folds keep the demo quick
    corpus_dir = store_dir / "demo-corpus"
    say(f"synth: RAVDESS-shaped corpus of {actors} actors in {corpus_dir}")
    corpus = create_ravdess(corpus_dir, actors=actors, seed=seed, seconds=0.8)
    store = Store.init(store_dir)
    say(f"init: store in {store.root}")
    ingested = ingest_ravdess(store, [corpus.root], progress=progress)
    say(f"ingest ravdess: {ingested.added} clip version(s) added, {ingested.unchanged} unchanged")
    speech_csvs = str(corpus.openface_dir / "01-01-*.csv")  # the full-AV speech videos
    aus = ingest_openface(store, [speech_csvs], name="aus", progress=progress)
    say(f"ingest openface: AU frames of {aus.clips} videos as aus v{aus.version}")
    tag = _free_tag(store)
    runs: list[str] = []
    # out-of-fold scores for a stacked fusion need two training actors per fold (--inner 2)
    inner = 2 if actors >= 4 else None

    def train_static(name: str, model: str, params: list[str], norm: str = "none", features=None):
        more = f" --inner {inner}" if inner and features else ""
        say(f"train static --model {model} {' '.join(params)} --norm {norm}{more} --name {name}")
        train_static_grid(
            store,
            name=name,
            model=model,
            param_specs=params,
            norms=[norm],
            features=features,
            scheme=scheme,
            clips="av-speech",
            seed=seed,
            inner=inner if features else None,
            progress=progress,
        )
        runs.append(name)

    train_static(f"zeror{tag}", "zeror", [])
    train_static(f"aus-svc{tag}", "svc", ["C=1"], "minmax", "aus")
    train_static(f"aus-mlp{tag}", "mlp", ["hidden_layer_sizes=80"], "minmax", "aus")
    if importlib.util.find_spec("torch") and importlib.util.find_spec("transformers"):
        runs += _deep_models(store, store_dir, tag, scheme, seed, say, progress, actors)
    else:
        say("torch/transformers not installed: skipping the bi-LSTM and the fine-tune")
    if inner:  # the AU models fused the paper's way and stacked on out-of-fold scores
        aus_runs = [f"aus-svc{tag}", f"aus-mlp{tag}"]
        for name, on in ((f"aus-fusion{tag}", "train"), (f"aus-stacked{tag}", "oof")):
            say(f"fuse {' '.join(aus_runs)} --name {name}" + (" --on oof" if on == "oof" else ""))
            fuse_runs(store, aus_runs, name=name, seed=seed, on=on, progress=progress)
    say(f"fuse {' '.join(runs[1:])} --name fusion{tag}")
    fuse_runs(store, runs[1:], name=f"fusion{tag}", seed=seed, progress=progress)
    if inner:
        runs += [f"aus-fusion{tag}", f"aus-stacked{tag}"]
    runs.append(f"fusion{tag}")

    rows = report_rows(store, runs[1:])
    rows = baseline_rows([r.summary for r in rows if r.summary is not None], human=()) + rows
    table = store_dir.parent / f"{store_dir.name}-report.md"
    table.write_text(render(rows, fmt="markdown") + "\n", encoding="utf-8")
    fusion = next(r.summary for r in rows if r.summary is not None and r.summary.run == runs[-1])
    confusion = plot_confusion(fusion, store_dir.parent / f"{store_dir.name}-fusion-confusion.png")
    seconds = time.perf_counter() - started
    say(f"report: {table}; confusion matrix of the fusion: {confusion} ({seconds:.1f} s in all)")
    return DemoResult(store.root, rows, confusion, table, seconds, runs)


def _deep_models(
    store, store_dir: Path, tag: str, scheme: str, seed: int, say, progress, actors: int
) -> list[str]:
    from mmemo.demo.tiny_wav2vec2 import build_tiny_wav2vec2
    from mmemo.jobs.deep import train_bilstm_job, train_finetune_job

    say(f"train bilstm --features aus --param max_epochs=10 --name aus-bilstm{tag}")
    train_bilstm_job(
        store,
        name=f"aus-bilstm{tag}",
        features="aus",
        scheme=scheme,
        clips="av-speech",
        seed=seed,
        overrides={"max_epochs": 10, "patience": 5},
        # early stopping on held-out training actors needs at least two of them per fold
        early_stop_on="inner" if actors >= 4 else "test",
        progress=progress,
    )
    tiny = store_dir / "demo-tiny-wav2vec2"
    if not (tiny / "config.json").exists():
        build_tiny_wav2vec2(tiny, seed=seed)
    say(f"train finetune {tiny} --epochs 2 --batch-size 16 --name audio-ft{tag} (tiny model)")
    train_finetune_job(
        store,
        str(tiny),
        name=f"audio-ft{tag}",
        scheme=scheme,
        clips="av-speech",
        seed=seed,
        overrides={"epochs": 2, "batch_size": 16, "max_seconds": 0.5},
        progress=progress,
    )
    return [f"aus-bilstm{tag}", f"audio-ft{tag}"]


def _free_tag(store) -> str:
    """'' for the first demo in a store, '-2', '-3' ... for later ones."""
    from mmemo.store.inventory import run_list

    taken = {row[0] for row in run_list(store)}
    tag, n = "", 1
    while f"fusion{tag}" in taken:
        n += 1
        tag = f"-{n}"
    return tag
