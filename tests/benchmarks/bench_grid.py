"""Benchmark: the paper's 16 static configurations on the authors' averaged AUs, serial
against parallel (joblib over folds × configurations, as ``train_static_grid`` runs them), side
by side in one run; checks the results are identical.

Run: python tests/benchmarks/bench_grid.py
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from mmemo.corpora.folds import parse_scheme
from mmemo.corpora.ravdess import parse_name
from mmemo.models.sklearn_static import fit_fold

DATA = Path(__file__).resolve().parents[1] / "data" / "luna2022" / "openface_au_means.csv"
CONFIGS = [
    (model, {key: value}, norm)
    for model, key, values in (
        ("svc", "C", (0.1, 1.0, 10.0)),
        ("knn", "n_neighbors", (10, 20, 30)),
        ("mlp", "hidden_layer_sizes", ((80,), (80, 80))),
    )
    for value in values
    for norm in ("minmax", "none")
] + [("zeror", {}, "none")]


def run_grid(configs: list, X, y, folds, n_jobs: int) -> list[list]:
    """Folds × configurations through ``fit_fold`` in joblib workers (seed 2020)."""
    from joblib import Parallel, delayed

    fold_ids = sorted(set(folds.tolist()))
    tasks = [(config, fold) for config in configs for fold in fold_ids]
    results = Parallel(n_jobs=n_jobs, backend="loky")(
        delayed(fit_fold)(
            model,
            params,
            norm=norm,
            seed=2020,
            X_train=X[folds != fold],
            y_train=y[folds != fold],
            X_test=X[folds == fold],
        )
        for (model, params, norm), fold in tasks
    )
    n = len(fold_ids)
    return [list(results[i * n : (i + 1) * n]) for i in range(len(configs))]


def main() -> None:
    with DATA.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    columns = [c for c in rows[0] if c.startswith("AU")]
    X = np.array([[float(r[c]) for c in columns] for r in rows])
    names = [parse_name(r["name"]) for r in rows]
    y = np.array([n.emotion for n in names])
    counts: dict[int, dict[int, int]] = {}
    for n in names:
        counts.setdefault(n.actor, {}).setdefault(n.emotion, 0)
        counts[n.actor][n.emotion] += 1
    fold_of = parse_scheme("luna2022").assign(counts)
    folds = np.array([fold_of[n.actor] for n in names])
    timings, results = {}, {}
    for n_jobs in (1, 2):
        t0 = time.perf_counter()
        results[n_jobs] = run_grid(CONFIGS, X, y, folds, n_jobs)
        timings[n_jobs] = time.perf_counter() - t0
        print(f"{len(CONFIGS)} configs x 5 folds, n_jobs={n_jobs}: {timings[n_jobs]:.1f} s")
    same = all(
        np.array_equal(a.test_scores, b.test_scores)
        and np.array_equal(a.train_scores, b.train_scores)
        for ca, cb in zip(results[1], results[2], strict=True)
        for a, b in zip(ca, cb, strict=True)
    )
    print(f"speed-up of 2 workers over serial: {timings[1] / timings[2]:.2f}x; identical: {same}")


if __name__ == "__main__":
    main()
