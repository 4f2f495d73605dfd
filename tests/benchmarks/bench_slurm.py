"""Benchmark: an embedding as a 3-task Slurm job array against one process, side by side.

Starts a real single-node Slurm on loopback (as the tests do: root and `apt-get install
slurm-wlm munge`), synthesizes full-AV speech clips, builds a wav2vec2-shaped model from a
config (``--size small`` or ``large``, see bench_embed.py) and times, whole process each:
``mmemo embed --layer conv`` in one process, then ``--slurm --tasks 3`` from submission until
the last task ends. Prints both and their ratio; the sets are checked equal. Nothing asserted
beyond that: on a 2-core machine three tasks share two cores, so the array pays three model
loads for no extra compute; on a cluster each task has its own node.

Run: python tests/benchmarks/bench_slurm.py [--size small|large] [--actors 1] [--tasks 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_embed import SIZES, _model  # noqa: E402


def _mmemo(store: Path, *args: str) -> str:
    """Run mmemo in the store's folder (Slurm writes the array's logs where it was submitted)."""
    done = subprocess.run(
        [sys.executable, "-m", "mmemo", "--store", str(store), *args], cwd=store.parent,
        capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    return done.stdout


def main() -> None:
    from mmemo.corpora.ingest import ingest_ravdess
    from mmemo.corpora.synth import create_ravdess
    from mmemo.store.store import Store
    from mmemo.testing.slurm import slurm_cluster

    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=list(SIZES), default="small")
    parser.add_argument("--actors", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.7)
    parser.add_argument("--tasks", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mmemo-bench-slurm-"))
    corpus = create_ravdess(work / "corpus", actors=args.actors, seconds=args.seconds)
    store = Store.init(work / "store")
    ingest_ravdess(store, [corpus.root])
    model = str(_model(work / "model", args.size))
    with slurm_cluster() as cluster:
        os.environ.update(cluster.env, MMEMO_LOCK_TIMEOUT="300")
        t0 = time.perf_counter()
        _mmemo(store.root, "embed", model, "--name", "one", "--clips", "av-speech")
        one = time.perf_counter() - t0
        t0 = time.perf_counter()
        _mmemo(store.root, "embed", model, "--name", "arr", "--clips", "av-speech", "--slurm",
               "--tasks", str(args.tasks))  # fmt: skip
        cluster.wait_idle(timeout=3600)
        array = time.perf_counter() - t0
        print(_mmemo(store.root, "jobs"))
    with store.session() as s:
        rows = {
            name: s.fetch(
                "SELECT v.clip_id, v.vector FROM lake.clip_embeddings v JOIN feature_sets f "
                "ON f.id = v.feature_set_id WHERE f.name = ? AND f.status = 'complete' "
                "ORDER BY 1",
                [name],
            )
            for name in ("one", "arr")
        }
    same = bool(rows["one"]) and rows["one"] == rows["arr"]
    print(f"{len(rows['one'])} clips, {args.size} model, {os.cpu_count()} cores")
    print(f"one process          {one:7.1f} s")
    print(f"{args.tasks}-task Slurm array   {array:7.1f} s   ({array / one:.2f}× one process)")
    print(f"sets equal float for float: {same}")


if __name__ == "__main__":
    main()
