"""Benchmark: ``mmemo ingest openface`` against the authors' pandas loop, as whole processes.

Run: python tests/benchmarks/bench_aus.py [--actors 24] [--seconds 3.7] [--work DIR]
Writes the OpenFace CSVs of the full-AV speech clips of actors 1..N (60 per actor: 1,440 at
the full size) with the synthetic corpus' own CSV writer (no media files: the store learns the
clips from their names), then times, side by side and each as a fresh Python process:

- the authors' loop: one ``pandas.read_csv`` per file, keep the AU intensity columns, mean;
- ``mmemo ingest openface DIR --name aus`` into a fresh store holding the clips.

Prints both wall times and their ratio. Needs pandas (``pip install -e '.[bench]'``: the
comparison's reference, not a dependency of mmemo). Not collected by pytest (timings belong
in benchmarks).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The authors' feature extraction: one pandas read per file, AU intensities, per-clip mean.
PANDAS_LOOP = """
import sys
from pathlib import Path

import pandas as pd

means = {}
for path in sorted(Path(sys.argv[1]).glob("*.csv")):
    frame = pd.read_csv(path, skipinitialspace=True)
    aus = [c for c in frame.columns if c.startswith("AU") and c.endswith("_r")]
    means[path.stem] = frame[aus].mean().to_numpy()
print(f"{len(means)} clip(s) x {len(aus)} AU means")
"""


def write_csvs(out: Path, actors: int, seconds: float, seed: int = 2020) -> list[str]:
    """The OpenFace CSVs of the full-AV speech clips of actors 1..``actors``; their stems."""
    from mmemo.corpora.synth.openface import openface_csv
    from mmemo.corpora.synth.recordings import actor_recordings, actor_traits, recording_duration

    out.mkdir(parents=True, exist_ok=True)
    stems = []
    for actor in range(1, actors + 1):
        traits = actor_traits(actor, seed)
        for rec, names in actor_recordings(actor):
            for stem in names:
                if stem.startswith("01-01-"):  # full-AV speech
                    duration = recording_duration(rec, seed, seconds)
                    text = openface_csv(rec, traits, seed, duration)
                    (out / f"{stem}.csv").write_text(text, encoding="ascii", newline="\n")
                    stems.append(stem)
    return stems


def timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds of one process, and its last output line."""
    t0 = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:4])} ... failed ({done.returncode}):\n{done.stderr}")
    return seconds, (done.stdout.strip().splitlines() or [""])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actors", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=3.7)
    parser.add_argument("--work", type=Path, default=None, help="Folder to work in (kept).")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mmemo-bench-aus-"))
    csvs = work / f"openface-{args.actors}-{args.seconds}"
    t0 = time.perf_counter()
    if not csvs.is_dir():
        stems = write_csvs(csvs, args.actors, args.seconds)
    else:
        stems = sorted(p.stem for p in csvs.glob("*.csv"))
    size = sum(p.stat().st_size for p in csvs.glob("*.csv")) / 1e6
    made = time.perf_counter() - t0
    print(f"{len(stems)} OpenFace CSVs ({size:.0f} MB) in {csvs} ({made:.1f} s)")

    env = dict(os.environ)
    store = work / f"store-{os.getpid()}"
    names = work / "clips.txt"
    names.write_text("\n".join(stems) + "\n")
    mmemo = [sys.executable, "-m", "mmemo", "--store", str(store)]
    subprocess.run([*mmemo, "init"], env=env, check=True, capture_output=True)
    subprocess.run([*mmemo, "ingest", "ravdess", str(names)], env=env, check=True,
                   capture_output=True)  # fmt: skip

    pandas_s, pandas_out = timed([sys.executable, "-c", PANDAS_LOOP, str(csvs)], env)
    print(f"pandas loop (one read_csv per file): {pandas_s:6.1f} s  ({pandas_out})")
    mmemo_s, mmemo_out = timed([*mmemo, "ingest", "openface", str(csvs), "--name", "aus"], env)
    print(f"mmemo ingest openface:               {mmemo_s:6.1f} s  ({mmemo_out})")
    again_s, _ = timed([*mmemo, "ingest", "openface", str(csvs), "--name", "aus"], env)
    print(f"  re-run with nothing to do:         {again_s:6.1f} s")
    print(f"ingest openface vs pandas loop: {pandas_s / mmemo_s:.2f}x faster (goal: >= 10x)")


if __name__ == "__main__":
    main()
