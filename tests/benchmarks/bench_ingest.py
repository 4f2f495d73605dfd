"""Benchmark: ingest a synthetic corpus of the full RAVDESS shape (7,356 files).

Run: python tests/benchmarks/bench_ingest.py [CORPUS_DIR]
Prints files per second with 1 and 4 probing threads, measured side by side, and their
ratio. Not collected by pytest (timings belong in benchmarks, not tests).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from mmemo.corpora.ingest import ingest_ravdess
from mmemo.corpora.synth import create_ravdess
from mmemo.store.store import Store


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mmemo-bench-"))
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else work / "corpus"
    if not (corpus / "Actor_24").is_dir():
        t0 = time.perf_counter()
        create_ravdess(corpus, actors=24, seconds=1.0, workers=2)
        print(f"synth 24 actors: {time.perf_counter() - t0:.1f} s")
    rates = {}
    for workers in (1, 4):
        store = Store.init(work / f"store-{workers}")
        t0 = time.perf_counter()
        report = ingest_ravdess(store, [corpus], workers=workers)
        seconds = time.perf_counter() - t0
        rates[workers] = report.files / seconds
        print(
            f"ingest, {workers} thread(s): {report.files} files in {seconds:.1f} s "
            f"= {rates[workers]:.0f} files/s"
        )
        t0 = time.perf_counter()
        again = ingest_ravdess(store, [corpus], workers=workers)
        print(f"  re-ingest (idempotent, {again.added} added): {time.perf_counter() - t0:.1f} s")
    print(f"speed-up of 4 threads over 1: {rates[4] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
