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


#: The report table and the fusion's confusion matrix, written inside the store folder.
REPORT_FILE = "demo-report.md"
CONFUSION_FILE = "demo-fusion-confusion.png"


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
    figure into the store folder too (:data:`REPORT_FILE`, :data:`CONFUSION_FILE`), so that a
    demo leaves nothing in the current folder. Deep models (bi-LSTM, a tiny wav2vec2
    fine-tune) run when torch is installed.

    Running again on the same store says what it found and reuses it: a finished demo only
    remakes the report; runs of an interrupted one are kept and the rest are made.

    Raises:
        InputError: the store holds a demo of another ``actors`` or ``seed`` (or runs of the
            demo's names made otherwise): it names the fix, another ``--store``.
    """
    from mmemo.corpora.ingest import ingest_ravdess
    from mmemo.corpora.synth import create_ravdess
    from mmemo.features.openface import AuIngestSpec, ingest_openface
    from mmemo.jobs.fusion import fuse_runs
    from mmemo.jobs.specs import FuseSpec, StaticSpec
    from mmemo.reports.figures import plot_confusion
    from mmemo.reports.report import report_rows
    from mmemo.reports.rows import baseline_rows
    from mmemo.reports.tables import render
    from mmemo.store.store import Store

    started = time.perf_counter()
    scheme = f"kfold:2:{seed}"  # two actor-disjoint folds keep the demo quick
    # out-of-fold scores for a stacked fusion need two training actors per fold (--inner 2)
    inner = 2 if actors >= 4 else None
    deep = can_train_deep()
    planned = _planned_runs(deep, inner)
    store = Store.init(store_dir)
    fusions = _fusions(deep)
    found = _found_runs(store, planned, scheme=scheme, actors=actors, fusions=fusions)
    runs = [name for name in planned if name != "zeror"]
    if set(planned) <= found:
        say(
            f"found a finished demo in {store.root} (runs {', '.join(planned)}): reusing it; "
            "for a fresh one, give another --store or remove this folder"
        )
    else:
        if found:
            say(
                f"found {len(found)} run(s) of an earlier demo in {store.root} "
                f"({', '.join(n for n in planned if n in found)}): reusing them, making the rest"
            )
        say(f"init: store in {store.root}")
        corpus_dir = store.root / "demo-corpus"
        say(f"synth: RAVDESS-shaped corpus of {actors} actors in {corpus_dir}")
        corpus = create_ravdess(corpus_dir, actors=actors, seed=seed, seconds=0.8)
        ingested = ingest_ravdess(store, [corpus.root], progress=progress)
        say(
            f"ingest ravdess: {ingested.added} clip version(s) added, "
            f"{ingested.unchanged} unchanged"
        )
        speech_csvs = str(corpus.openface_dir / "01-01-*.csv")  # the full-AV speech videos
        aus = ingest_openface(
            store, AuIngestSpec(sources=[speech_csvs], name="aus"), progress=progress
        )
        say(f"ingest openface: AU frames of {aus.clips} videos as aus v{aus.version}")

        def train_static(name: str, model: str, params: list[str], norm="none", features=None):
            command = " ".join(
                [
                    f"train static --model {model}",
                    *([f"--features {features}"] if features else []),
                    *(f"--param {p}" for p in params),
                    f"--norm {norm}{_run_options(scheme, seed)}",
                    *([f"--inner {inner}"] if inner and features else []),
                    f"--name {name}",
                ]
            )
            if _reused(name, found, command, say):
                return
            say(command)
            spec = StaticSpec.parse(
                param_specs=params,
                norms=[norm],
                name=name,
                model=model,
                features=features,
                scheme=scheme,
                seed=seed,
                inner=inner if features else None,
            )
            spec.run(store, progress=progress)

        train_static("zeror", "zeror", [])
        train_static("aus-svc", "svc", ["C=1"], "minmax", "aus")
        train_static("aus-mlp", "mlp", ["hidden_layer_sizes=80"], "minmax", "aus")
        if deep:
            _deep_models(store, found, scheme, seed, say, progress, actors)
        else:
            say("torch/transformers not installed: skipping the bi-LSTM and the fine-tune")
        # the AU models fused the paper's way and stacked on out-of-fold scores (with inner)
        for name, on in (("aus-fusion", "train"), ("aus-stacked", "oof"), ("fusion", "train")):
            if name not in planned:
                continue
            command = f"fuse {' '.join(fusions[name])} --seed {seed} --name {name}" + (
                " --on oof" if on == "oof" else ""
            )
            if not _reused(name, found, command, say):
                say(command)
                spec = FuseSpec(runs=tuple(fusions[name]), name=name, seed=seed, on=on)
                fuse_runs(store, spec, progress=progress)

    rows = report_rows(store, runs)
    rows = baseline_rows([r.summary for r in rows if r.summary is not None], human=()) + rows
    table = store.root / REPORT_FILE
    table.write_text(render(rows, fmt="markdown") + "\n", encoding="utf-8")
    fusion = next(r.summary for r in rows if r.summary is not None and r.summary.run == "fusion")
    confusion = plot_confusion(fusion, store.root / CONFUSION_FILE)
    seconds = time.perf_counter() - started
    say(
        f"report (in the store folder): {table}; confusion matrix of the fusion: {confusion} "
        f"({seconds:.1f} s in all)"
    )
    return DemoResult(store.root, rows, confusion, table, seconds, ["zeror", *runs])


def can_train_deep() -> bool:
    """Whether torch and transformers are installed: the bi-LSTM and the fine-tune run."""
    return bool(importlib.util.find_spec("torch") and importlib.util.find_spec("transformers"))


def _fusions(deep: bool) -> dict[str, list[str]]:
    """The runs each fusion of the demo fuses (the first two only with ``--inner``)."""
    aus = ["aus-svc", "aus-mlp"]
    return {
        "aus-fusion": aus,
        "aus-stacked": aus,
        "fusion": [*aus, *(["aus-bilstm", "audio-ft"] if deep else [])],
    }


def _planned_runs(deep: bool, inner: int | None) -> list[str]:
    """Every run the demo makes, in the order it makes them (and reports them)."""
    stacked = ["aus-fusion", "aus-stacked"] if inner else []
    return ["zeror", *_fusions(deep)["fusion"], *stacked, "fusion"]


def _found_runs(
    store, planned: list[str], *, scheme: str, actors: int, fusions: dict[str, list[str]]
) -> set[str]:
    """The demo's runs that a demo with these settings finished before in ``store``
    (``fusions``: the runs each fusion of the demo fuses).

    Raises:
        InputError: a run of one of the demo's names that another demo (other ``actors`` or
            ``seed``, other fused runs) or another command made.
    """
    import sqlalchemy as sa

    from mmemo.errors import InputError
    from mmemo.store.schema import Run

    with store.session() as s, s.orm() as orm:
        existing = list(orm.scalars(sa.select(Run).where(Run.name.in_(planned))))
        stored_actors = s.fetch("SELECT count(DISTINCT actor) FROM clips")[0][0]
    if existing and stored_actors not in (0, actors):
        raise InputError(
            f"{store.root} holds a demo on {stored_actors} actors, not {actors}: give "
            "another --store for this one (or remove that folder)"
        )
    found = set()
    for run in existing:
        fused = fusions.get(run.name)
        if (run.scheme, run.clips) != (scheme, "av-speech") or (
            fused is not None and (run.inputs or {}).get("runs") != fused
        ):
            raise InputError(
                f"{store.root} holds a run '{run.name}' that this demo did not make "
                f"(scheme {run.scheme}, clips {run.clips}): give the demo its own --store"
            )
        if run.status == "complete":
            found.add(run.name)
    return found


def _run_options(scheme: str, seed: int) -> str:
    """The options every demo run shares, as the command line gives them (so that a printed
    command makes the same run)."""
    return f" --scheme {scheme} --seed {seed}"


def _reused(name: str, found: set[str], command: str, say: Say) -> bool:
    """Say that the run ``name`` is reused (and return True) when an earlier demo made it."""
    if name not in found:
        return False
    say(f"{command}: found run {name}, reusing it")
    return True


def _deep_models(
    store, found: set[str], scheme: str, seed: int, say: Say, progress, actors: int
) -> None:
    from mmemo.demo.tiny_wav2vec2 import build_tiny_wav2vec2
    from mmemo.jobs.specs import BiLSTMSpec, FinetuneSpec

    # early stopping on held-out training actors needs at least two of them per fold
    early_stop_on = "inner" if actors >= 4 else "test"
    command = (
        "train bilstm --features aus --param max_epochs=10 --param patience=5 "
        f"--early-stop-on {early_stop_on}{_run_options(scheme, seed)} --name aus-bilstm"
    )
    if not _reused("aus-bilstm", found, command, say):
        say(command)
        BiLSTMSpec(
            name="aus-bilstm",
            features="aus",
            scheme=scheme,
            seed=seed,
            params={"max_epochs": 10, "patience": 5},
            early_stop_on=early_stop_on,
        ).run(store, progress=progress)
    tiny = store.root / "demo-tiny-wav2vec2"
    command = (
        f"train finetune {tiny} --epochs 2 --batch-size 16 --param max_seconds=0.5"
        f"{_run_options(scheme, seed)} --name audio-ft (tiny model)"
    )
    if _reused("audio-ft", found, command, say):
        return
    if not (tiny / "config.json").exists():
        build_tiny_wav2vec2(tiny, seed=seed)
    say(command)
    FinetuneSpec(
        name="audio-ft",
        model=str(tiny),
        scheme=scheme,
        seed=seed,
        params={"epochs": 2, "batch_size": 16, "max_seconds": 0.5},
    ).run(store, progress=progress)
