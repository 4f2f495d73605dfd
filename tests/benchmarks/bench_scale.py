"""Benchmark: report and query times on stores of 10k, 30k and 100k clips with 20 runs each.

Run: python tests/benchmarks/bench_scale.py [--work DIR] [--sizes 10000,30000,100000]
     [--runs 20] [--splits test,all] [--repeat 5]

Each store is built through the project's write paths: clip metadata through the ingest's
commit (a staged ``ingests`` entry, rows appended to ``lake.clips``), posteriors through
``import_posteriors`` (one parquet file per run, fold and split columns, scheme luna2022).
Two shapes of posteriors (``--splits``): ``test`` (one test row per clip and run, as imported
posteriors usually are) and ``all`` (train and test rows of every fold in a trained run's
order, test rows of every fold first: five rows per clip and run).

Then, on a fresh ``Store`` and session per repetition (what one CLI command does), it times
opening a session with the views, the library call behind ``mmemo report '*'`` (all runs),
``SELECT count(*) FROM predictions`` and ``sql/analysis/accuracy_by_actor.sql``; best of
``--repeat``. It also times the whole ``mmemo report '*'`` command in a new process (Python
start-up and imports included). Stores are kept (and reused) only under ``--work DIR``;
without it they are built in a temporary folder that is removed at the end.

Why the clip ids are not all RAVDESS names: the name grammar allows 7,356 distinct stems
(actors 1-24, three modalities, two channels, 8 emotions, 2 intensities, 2 statements,
2 repetitions; ``parse_name`` refuses anything else, and even a wider actor range would stop
at the ``actor`` column's TINYINT: 127 actors x 312 names = 39,624).
A corpus of 100,000 clips therefore repeats the full RAVDESS set as numbered takes:
clip ``01-01-05-02-01-01-16-t03`` has the fields of ``01-01-05-02-01-01-16`` (actor 16 etc.).
Those rows go through ``ingest._commit``, the half of ``ingest_ravdess`` after name
validation; everything downstream (fold assignment by actor, import checks, views) is the
real code. Not collected by pytest (timings belong in benchmarks, not tests).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mmemo.corpora import ingest
from mmemo.corpora.adapters import get_corpus
from mmemo.corpora.folds import parse_scheme
from mmemo.corpora.ravdess import EMOTIONS, corpus_names, parse_name
from mmemo.corpora.sources import SourceFile
from mmemo.jobs.import_posteriors import import_posteriors
from mmemo.jobs.specs import ImportSpec
from mmemo.reports.report import report_rows
from mmemo.reports.tables import render
from mmemo.resources import read_sql
from mmemo.store.store import Store

SCHEME = "luna2022"
ANALYSIS = "analysis/accuracy_by_actor.sql"


def clip_rows(n_clips: int) -> list[dict]:
    """``n_clips`` clip rows: the RAVDESS corpus, then further takes of it (ids ``stem-tNN``)."""
    by_actor: dict[str, list[str]] = {}
    for stem in corpus_names():
        by_actor.setdefault(stem[-2:], []).append(stem)
    # round robin over the actors, so that a smaller corpus still has all of them
    stems = [s for group in itertools.zip_longest(*by_actor.values()) for s in group if s]
    rows = []
    for i in range(n_clips):
        take, stem = divmod(i, len(stems))
        clip = parse_name(stems[stem]).as_clip()
        row = ingest._row("ravdess", clip, SourceFile(stems[stem], None), None, version=1)
        if take:
            row["clip_id"] = f"{stems[stem]}-t{take:02d}"
        rows.append(row)
    return rows


def posterior_file(path: Path, clips: list[dict], fold_of: dict[int, int], run: int, splits):
    """A parquet file of generated logits for every clip of every fold (test, and train when
    ``splits == 'all'``): true class + noise, so each run has its own accuracy."""
    rng = np.random.default_rng(run)
    n = len(clips)
    ids = np.array([c["clip_id"] for c in clips], dtype=object)
    emotion = np.array([c["emotion"] for c in clips]) - 1
    test_fold = np.array([fold_of[c["actor"]] for c in clips])
    folds = sorted(set(fold_of.values()))
    parts = []
    for split in ("test", "train") if splits == "all" else ("test",):  # a job's order:
        for fold in folds:  # every fold's test rows, then the train rows
            mask = (test_fold == fold) if split == "test" else (test_fold != fold)
            m = int(mask.sum())
            logits = rng.normal(0.0, 1.0, (m, len(EMOTIONS)))
            logits[np.arange(m), emotion[mask]] += 1.0 + 0.05 * run
            columns = {
                "name": pa.array(ids[mask], pa.string()),
                "fold": pa.array(np.full(m, fold), pa.int16()),
                "split": pa.array([split] * m, pa.string()),
            }
            columns |= {label: pa.array(logits[:, k]) for k, label in enumerate(EMOTIONS)}
            parts.append(pa.table(columns))
    pq.write_table(pa.concat_tables(parts), path)
    return sum(p.num_rows for p in parts) if n else 0


def build(root: Path, n_clips: int, n_runs: int, splits: str) -> dict[str, float]:
    """Create the store at ``root``; return the seconds each part took."""
    t0 = time.perf_counter()
    store = Store.init(root)
    clips = clip_rows(n_clips)
    names = root / "names.txt"
    names.write_text("".join(c["clip_id"] + "\n" for c in clips), encoding="utf-8")
    adapter = get_corpus("ravdess")
    ingest._commit(store, adapter, [names], clips, ingest.IngestReport(files=n_clips))
    t_clips = time.perf_counter() - t0
    counts: dict[int, dict[int, int]] = {}
    for c in clips:
        counts.setdefault(c["actor"], {}).setdefault(c["emotion"], 0)
        counts[c["actor"]][c["emotion"]] += 1
    fold_of = parse_scheme(SCHEME).assign(counts)
    t0 = time.perf_counter()
    t_files = 0.0
    for run in range(n_runs):
        f0 = time.perf_counter()
        path = root / f"run{run:02d}.parquet"
        posterior_file(path, clips, fold_of, run, splits)
        t_files += time.perf_counter() - f0
        import_posteriors(
            store,
            ImportSpec(
                files=(str(path),),
                name=f"run{run:02d}",
                classes=",".join(EMOTIONS),
                fold_col="fold",
                split_col="split",
                scheme=SCHEME,
                kind="logits",
            ),
        )
        path.unlink()
    t_runs = time.perf_counter() - t0 - t_files
    (root / "built").write_text(f"{n_clips} {n_runs} {splits}\n", encoding="utf-8")
    return {"clips": t_clips, "files": t_files, "imports": t_runs}


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def measure(root: Path, repeat: int) -> dict[str, object]:
    analysis = read_sql(ANALYSIS)

    def open_session():
        with Store.open(root).session() as s:
            s.ensure_views()

    def query(sql):
        def run():
            with Store.open(root).session() as s:
                return s.fetch(sql)

        return run

    def report():
        rows = report_rows(Store.open(root), ["*"])
        return render(rows, fmt="markdown", per_class=False), len(rows)

    out: dict[str, object] = {}
    out["open"], _ = best(open_session, repeat)
    out["report"], (_, out["n_runs"]) = best(report, repeat)
    out["count"], rows = best(query("SELECT count(*) FROM predictions"), repeat)
    out["rows"] = rows[0][0]
    out["analysis"], _ = best(query(analysis), repeat)
    env = {**os.environ, "MMEMO_STORE": str(root)}
    command = [sys.executable, "-m", "mmemo", "report", "*", "--format", "csv"]
    out["cli"], _ = best(
        lambda: subprocess.run(command, env=env, check=True, capture_output=True), repeat
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, help="keep (and reuse) the stores here")
    parser.add_argument("--sizes", default="10000,30000,100000", help="clip counts")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--splits",
        default="test,all",
        help="posterior shapes: test (test rows only, as imported) and/or all (train + test, "
        "as a trained run writes: 5x the rows)",
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    shapes = [s.strip() for s in args.splits.split(",")]
    if not set(shapes) <= {"test", "all"}:
        parser.error(f"--splits {args.splits!r}: expected test, all or test,all")
    work = args.work or Path(tempfile.mkdtemp(prefix="mmemo-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    results: dict[str, dict[int, dict]] = {}
    try:
        for shape in shapes:
            for n in sizes:
                root = work / f"store-{n}-{args.runs}-{shape}"
                if not (root / "built").is_file():
                    shutil.rmtree(root, ignore_errors=True)
                    parts = build(root, n, args.runs, shape)
                    print(
                        f"built {n:,} clips x {args.runs} runs ({shape}): clips "
                        f"{parts['clips']:.1f} s, posterior files {parts['files']:.1f} s, "
                        f"imports {parts['imports']:.1f} s",
                        flush=True,
                    )
                else:
                    Store.open(root).upgrade()  # `mmemo migrate`, for a store kept from before
                results.setdefault(shape, {})[n] = measure(root, args.repeat)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print_table(results, args.repeat, (load, os.getloadavg()[0]))


def print_table(results: dict[str, dict[int, dict]], repeat: int, load: tuple) -> None:
    columns = ("open", "report", "count", "analysis", "cli")
    print(
        f"\nseconds, wall clock, best of {repeat}, each on a new Store and session "
        f"(1-min load average {load[0]:.1f} before, {load[1]:.1f} after, {os.cpu_count()} CPUs)"
    )
    print(
        "open = session + views; report = report_rows('*') + render; "
        "count = SELECT count(*) FROM predictions;\n"
        f"analysis = {ANALYSIS}; cli = `mmemo report '*'` in a new process"
    )
    print(
        f"{'splits':>6} {'clips':>8} {'runs':>4} {'posteriors':>11} "
        + " ".join(f"{c:>8}" for c in columns)
    )
    for shape, by_size in results.items():
        for n, r in by_size.items():
            print(
                f"{shape:>6} {n:>8,} {r['n_runs']:>4} {r['rows']:>11,} "
                + " ".join(f"{r[c]:>8.3f}" for c in columns)
            )
        if len(by_size) > 1:
            lo, hi = min(by_size), max(by_size)
            ratio = f"x{by_size[hi]['rows'] / by_size[lo]['rows']:.1f}"
            print(
                f"{shape:>6} {f'{hi // 1000}k/{lo // 1000}k':>8} {'':>4} {ratio:>11} "
                + " ".join(
                    f"{'x' + format(by_size[hi][c] / by_size[lo][c], '.2f'):>8}" for c in columns
                )
            )


if __name__ == "__main__":
    main()
