"""``mmemo demo``: the whole loop on a synthetic corpus, from nothing to a paper-style report."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from mmemo.progress import Progress
from mmemo.reports.metrics import RunSummary

Say = Callable[[str], None]


def run_demo(
    store_dir: Path,
    *,
    actors: int = 4,
    seed: int = 2020,
    say: Say = lambda _: None,
    progress: Progress | None = None,
) -> list[RunSummary]:
    """synth → init → ingest → baseline → report; returns the report's summaries.

    The synthetic corpus is written to ``<store_dir>/demo-corpus``. Running the demo again on
    the same folder reuses what is there (ingestion is idempotent) and adds a new run.
    """
    from mmemo.corpora.ingest import ingest_ravdess
    from mmemo.jobs.static import train_static
    from mmemo.reports.report import summarize_runs
    from mmemo.store.store import Store
    from mmemo.testing.synth import create_ravdess

    started = time.perf_counter()
    corpus_dir = store_dir / "demo-corpus"
    say(f"1/4 synth: RAVDESS-shaped corpus of {actors} actors in {corpus_dir}")
    corpus = create_ravdess(corpus_dir, actors=actors, seed=seed)
    say(f"    {len(corpus.files)} files")
    say(f"2/4 init: store in {store_dir}")
    store = Store.init(store_dir)
    say("3/4 ingest ravdess")
    ingested = ingest_ravdess(store, [corpus.root], progress=progress)
    say(f"    {ingested.added} clip version(s) added, {ingested.unchanged} unchanged")
    name = _free_name(store, "demo-zeror")
    say(f"4/4 train static --model zeror --scheme kfold:2:{seed} --clips av-speech --name {name}")
    train_static(
        store,
        name=name,
        model="zeror",
        scheme=f"kfold:2:{seed}",
        clips="av-speech",
        seed=seed,
        progress=progress,
    )
    summaries = summarize_runs(store, [name])
    say(f"done in {time.perf_counter() - started:.1f} s")
    return summaries


def _free_name(store, base: str) -> str:
    from mmemo.store.catalog import run_list

    taken = {row[1] for row in run_list(store)}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name
