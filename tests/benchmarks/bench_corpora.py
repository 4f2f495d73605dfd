"""Benchmark: a store of EmoBox scale (issue 25) beside a RAVDESS-sized one.

Builds, in a work folder, (a) a store of ``--rows`` clips (default 250,000) from synthetic
manifests of ``--datasets`` corpora (default 32), each of 20 speakers and 4-8 classes, every
clip a short WAV file of its own, ingested with ``mmemo ingest manifest``'s code; and (b) a
RAVDESS-sized store (the corpus's 7,356 names). Each gets ``--runs`` imported runs (test
scores of one corpus's clips under ``kfold:5:0``). Then it prints, side by side:

* the manifest ingest time (goal: under 60 s for 250,000 rows), and clips per second;
* ``report_rows('*')`` + render over the runs (goal: under 1 s);
* ``mmemo runs`` and ``mmemo features`` in a new process, start-up included (goal: under 1 s).

Times are wall clock, best of ``--repeat``, on whatever else the machine is doing (the
1-minute load average is printed). Not collected by pytest: timings belong in benchmarks.

Run: ``python tests/benchmarks/bench_corpora.py [--rows 250000] [--work DIR]``
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mmemo.corpora.ingest import ingest_corpus
from mmemo.corpora.manifest import ManifestAdapter, ManifestOptions
from mmemo.corpora.ravdess import EMOTIONS, corpus_names
from mmemo.jobs.import_posteriors import import_posteriors
from mmemo.jobs.specs import ImportSpec
from mmemo.reports.report import report_rows
from mmemo.reports.tables import render
from mmemo.store.store import Store

LABELS = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised", "calm")
SPEAKERS = 20
SCHEME = "kfold:5:0"


def _wav_template() -> bytearray:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(160, np.int16), 8000, format="WAV", subtype="PCM_16")
    return bytearray(buffer.getvalue())


def write_corpora(root: Path, rows: int, datasets: int) -> list[tuple[str, Path, int]]:
    """Manifests and WAV files of ``datasets`` corpora holding ``rows`` clips in all:
    ``(name, manifest, clips)`` each."""
    template = _wav_template()
    made = []
    per = rows // datasets
    for d in range(datasets):
        name = f"corpus{d:02d}"
        n = per + (1 if d < rows % datasets else 0)
        labels = LABELS[: 4 + d % 5]
        entries = []
        for s in range(SPEAKERS):
            (root / name / f"s{s:02d}").mkdir(parents=True, exist_ok=True)
        for i in range(n):
            speaker = f"s{i % SPEAKERS:02d}"
            path = f"{name}/{speaker}/{i:06d}.wav"
            template[-4:] = (d * 1_000_000 + i).to_bytes(4, "little")  # a file of its own
            (root / path).write_bytes(template)
            entries.append({"path": path, "label": labels[i % len(labels)], "speaker": speaker})
        manifest = root / f"{name}.parquet"
        pq.write_table(pa.Table.from_pylist(entries), manifest)
        made.append((name, manifest, n))
    return made


def import_runs(store: Store, runs: int, classes: tuple[str, ...], dataset: str) -> None:
    """``runs`` imported runs of test scores over ``dataset``'s clips under :data:`SCHEME`."""
    from mmemo.jobs.cv import load_cv

    cv = load_cv(store, SCHEME, f"dataset = '{dataset}'")
    truth = cv.vocabulary.index_of(cv.emotions)
    for run in range(runs):
        rng = np.random.default_rng(run)
        logits = rng.normal(0, 1, (len(cv.clip_ids), len(classes)))
        logits[np.arange(len(truth)), truth] += 1.0 + 0.05 * run
        table = pa.table(
            {"name": cv.clip_ids, "fold": cv.folds, "split": ["test"] * len(truth)}
            | {label: logits[:, k] for k, label in enumerate(classes)}
        )
        path = store.root / f"run{run:02d}.parquet"
        pq.write_table(table, path)
        spec = ImportSpec(
            files=(str(path),),
            name=f"run{run:02d}",
            classes=",".join(classes),
            fold_col="fold",
            split_col="split",
            scheme=SCHEME,
            kind="logits",
        )
        import_posteriors(store, spec)
        path.unlink()


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(root: Path, repeat: int) -> dict[str, float]:
    env = {**os.environ, "MMEMO_STORE": str(root)}

    def cli(*args: str):
        command = [sys.executable, "-m", "mmemo", *args]
        return lambda: subprocess.run(command, env=env, check=True, capture_output=True)

    def report():
        render(report_rows(Store.open(root), ["*"]), fmt="markdown")

    return {
        "report": best(report, repeat),
        "runs": best(cli("runs"), repeat),
        "features": best(cli("features"), repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--datasets", type=int, default=32)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mmemo-bench-corpora-"))
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]

    t0 = time.perf_counter()
    corpora = write_corpora(work / "media", args.rows, args.datasets)
    t_write = time.perf_counter() - t0
    big = Store.init(work / "big")
    t0 = time.perf_counter()
    for name, manifest, _ in corpora:
        adapter = ManifestAdapter(manifest, ManifestOptions(name))
        ingest_corpus(big, adapter, [manifest])
    t_ingest = time.perf_counter() - t0
    first = corpora[0][0]
    import_runs(big, args.runs, LABELS[:4], first)

    small = Store.init(work / "ravdess")
    names = work / "ravdess-names.txt"
    names.write_text("".join(n + "\n" for n in corpus_names()), encoding="utf-8")
    t0 = time.perf_counter()
    ingest_corpus(small, "ravdess", [names])
    t_small = time.perf_counter() - t0
    import_runs(small, args.runs, EMOTIONS, "ravdess")

    print(
        f"wrote {args.rows:,} WAV files and {args.datasets} manifests in {t_write:.1f} s "
        f"(1-min load average {load:.1f} before, {os.getloadavg()[0]:.1f} after, "
        f"{os.cpu_count()} CPUs); best of {args.repeat}"
    )
    print(
        f"{'store':>10} {'clips':>9} {'ingest s':>9} {'clips/s':>8} "
        f"{'report s':>9} {'runs s':>7} {'features s':>10}"
    )
    for label, store, clips, seconds in (
        ("ravdess", small, 7356, t_small),
        (f"{args.datasets} corpora", big, args.rows, t_ingest),
    ):
        m = measure(store.root, args.repeat)
        print(
            f"{label:>10} {clips:>9,} {seconds:>9.1f} {clips / seconds:>8.0f} "
            f"{m['report']:>9.3f} {m['runs']:>7.3f} {m['features']:>10.3f}"
        )
    print("goals: ingest of 250,000 manifest rows under 60 s; report, runs, features under 1 s")


if __name__ == "__main__":
    main()
