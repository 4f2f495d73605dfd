"""Benchmark: the same jobs and queries on an embedded store and on a team store (PostgreSQL
registry and DuckLake catalog, data on an S3 server), measured side by side in one run.

Run: python tests/benchmarks/bench_team.py [--actors N] [--repeat R]
Starts a throwaway PostgreSQL and moto's S3 server on loopback (as the tests do), so the S3
figures include moto's own cost (a Python server, slower than MinIO or AWS). Prints seconds for
each step on both backends and the team/embedded ratio. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mmemo.corpora.ingest import ingest_ravdess
from mmemo.corpora.synth import create_ravdess
from mmemo.jobs.specs import StaticSpec
from mmemo.jobs.static import train_static
from mmemo.reports.report import report_rows
from mmemo.store.store import Store
from mmemo.testing.servers import postgres_server, s3_server
from mmemo.testing.stores import TeamBackends

QUERIES = {
    "count clips": "SELECT count(*) FROM clips",
    "predictions (all rows)": "SELECT count(*) FROM predictions",
    "accuracy per run and actor": (
        "SELECT p.run, c.actor, avg(p.correct::INT) FROM predictions p "
        "JOIN clips c USING (clip_id) GROUP BY ALL ORDER BY ALL"
    ),
}


def best(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(store: Store, corpus: Path, repeat: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    t0 = time.perf_counter()
    ingest_ravdess(store, [corpus])
    figures["ingest corpus"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(3):
        train_static(
            store, StaticSpec.one(name=f"zeror{i}", model="zeror", scheme="kfold:2:0", clips="all")
        )
    figures["train zeror (per run)"] = (time.perf_counter() - t0) / 3

    def open_session() -> None:
        with store.session():
            pass

    figures["open a read session"] = best(repeat, open_session)
    for label, query in QUERIES.items():

        def run(query: str = query) -> None:
            with store.session() as s:
                s.fetch(query)

        figures[f"session + {label}"] = best(repeat, run)
    figures["report over all runs"] = best(repeat, lambda: report_rows(store, ["zeror*"]))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="mmemo-bench-team-"))
    corpus = create_ravdess(work / "RAVDESS", actors=args.actors, seconds=0.5).root
    with postgres_server() as pg, s3_server() as s3:
        os.environ.update({**s3.env, **pg.env})
        backends = TeamBackends(pg, s3)
        s3.create_bucket(backends.bucket)
        local = measure(Store.init(work / "local"), corpus, args.repeat)
        team = measure(Store.init(work / "team", backends.config("bench")), corpus, args.repeat)
    width = max(map(len, local))
    print(f"{'step':<{width}}  {'embedded s':>10}  {'team s':>8}  {'team/embedded':>13}")
    for step in local:
        ratio = team[step] / local[step]
        print(f"{step:<{width}}  {local[step]:>10.3f}  {team[step]:>8.3f}  {ratio:>12.2f}x")
    ratios = [team[s] / local[s] for s in local]
    print(f"geometric mean ratio: {statistics.geometric_mean(ratios):.2f}x")


if __name__ == "__main__":
    main()
