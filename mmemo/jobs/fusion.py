"""``mmemo fuse``: late fusion of stored runs into a new run (with lineage to its inputs)."""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from mmemo.errors import InputError
from mmemo.fusion.late import METHODS
from mmemo.jobs.cv import clip_labels, given_parts
from mmemo.jobs.runs import RunInfo, RunSpec, check_run_name
from mmemo.jobs.shared_runs import store_whole
from mmemo.jobs.specs import FuseSpec
from mmemo.models.base import FoldData, FoldResult
from mmemo.progress import NullProgress, Progress
from mmemo.resources import read_sql
from mmemo.store.runs import resolve_runs
from mmemo.store.schema import Run
from mmemo.store.store import Store
from mmemo.store.vocabulary import dataset_vocabulary


def fuse_runs(store: Store, spec: FuseSpec, *, progress: Progress | None = None) -> RunInfo:
    """Fuse the scores of ``spec.runs`` per fold into the run ``spec.name``.

    A trained method (logreg) fits each fold's model on the training clips' scores: as the
    paper did, the scores of the runs' fold models on the clips they were trained on
    (``spec.on`` ``train``), or their out-of-fold scores (``oof``, runs trained with
    ``--inner``: each clip scored by a model that never saw its actor), a stacking that does
    not learn from over-confident scores.

    Raises:
        InputError: fewer than two distinct runs, runs on different fold schemes or clip
            sets (naming what differs), runs without training-clip (or out-of-fold) scores
            for a trained method, an unknown method or ``on``.
    """
    method, on, runs = spec.method, spec.on, list(spec.runs)
    if method not in METHODS:
        raise InputError(f"--method {method!r}: expected one of {', '.join(METHODS)}")
    if on not in ("train", "oof"):
        raise InputError(f"--on {on!r}: expected train (the paper) or oof (stacking)")
    progress = progress or NullProgress()
    check_run_name(store, spec.name)
    started = time.perf_counter()
    with store.session() as s:
        chosen = resolve_runs(s, runs)
        if len(chosen) < 2:  # a "fusion" of one run is that run, recorded as something else
            given = ", ".join(repr(r) for r in runs)
            raise InputError(
                f"a fusion needs at least two runs, and {given} "
                f"{'matches' if len(runs) == 1 else 'match'} only '{chosen[0].name}'; give "
                "more runs (or a glob that matches several)"
            )
        _check_compatible(chosen, s, trained=method == "logreg", on=on)
        names = [r.name for r in chosen]
        rows = s.fetch(read_sql("fusion/fusion_input.sql"), {"runs": names})
        labels = clip_labels(s, chosen[0].dataset)
        vocabulary = dataset_vocabulary(s.con, chosen[0].dataset)
        snapshot = s.current_snapshot()
    if not rows:
        raise InputError("the chosen runs have no clips in common")
    by_fold: dict[int, dict[str, list[tuple]]] = defaultdict(lambda: defaultdict(list))
    for fold, split, clip_id, emotion, features in rows:
        by_fold[fold][split].append((clip_id, emotion, features))
    trained: dict[int, tuple[FoldResult, float]] = {}
    parts: dict[tuple[int, str], list[str]] = {}  # the clips each fold's scores are of
    with progress.task(f"fusing {len(chosen)} runs ({method})", len(by_fold)) as task:
        for fold, splits in sorted(by_fold.items()):
            t0 = time.perf_counter()
            if not splits.get("test"):
                raise InputError(f"fold {fold}: the chosen runs have no test clips in common")
            result, ids = _fuse_fold(chosen, splits, spec)
            trained[fold] = (result, time.perf_counter() - t0)
            parts |= {(fold, split): clips for split, clips in ids.items()}
            task.advance()
    params = {
        "method": method,
        **({"C": spec.C, "norm": spec.norm} if method == "logreg" else {}),
        **({"on": on} if on != "train" else {}),  # the paper's recipe keeps its params
    }
    run_spec = RunSpec(
        name=spec.name,
        kind="fusion",
        model=f"fusion-{method}",
        params=params,
        inputs={
            "runs": names,
            "run_ids": [r.id for r in chosen],
            "run_snapshots": {r.name: r.snapshot_id for r in chosen},
        },
        seed=spec.seed,
    )

    cv = given_parts(
        chosen[0].scheme, chosen[0].clips, snapshot, parts, labels, vocabulary=vocabulary
    )
    return store_whole(store, run_spec, cv, trained, started=started)


def _check_compatible(chosen: list[Run], session, *, trained: bool, on: str = "train") -> None:
    datasets = {r.dataset for r in chosen}
    if len(datasets) > 1:
        detail = ", ".join(f"{r.name}: {r.dataset}" for r in chosen)
        raise InputError(f"runs of different datasets ({detail}); fuse runs of one dataset")
    schemes = {r.scheme for r in chosen}
    if len(schemes) > 1:
        detail = ", ".join(f"{r.name}: {r.scheme}" for r in chosen)
        raise InputError(f"runs use different fold schemes ({detail}); fuse runs of one scheme")
    coverage = session.fetch(
        read_sql("fusion/run_coverage.sql"), {"runs": [r.name for r in chosen]}
    )
    per_run: dict[str, dict[tuple[int, str], tuple[int, int]]] = defaultdict(dict)
    for run, fold, split, n, clips_hash in coverage:
        per_run[run][(fold, split)] = (n, clips_hash)
    if trained:
        for run in chosen:
            folds = {f for f, _ in per_run[run.name]}
            lacking = sorted(f for f in folds if (f, on) not in per_run[run.name])
            if lacking and on == "oof":
                raise InputError(
                    f"run {run.name} has no out-of-fold scores in fold(s) {lacking}: train it "
                    "with --inner K for --on oof"
                )
            if lacking:
                raise InputError(
                    f"run {run.name} has no training-clip scores in fold(s) {lacking}: the "
                    "logreg fusion trains on them (use --method mean|product|vote instead)"
                )
    reference = chosen[0].name
    for run in chosen[1:]:
        for key in sorted(set(per_run[reference]) | set(per_run[run.name])):
            if key[1] != "test" and (not trained or key[1] != on):
                continue
            a, b = per_run[reference].get(key), per_run[run.name].get(key)
            if a != b:
                fold, split = key
                raise InputError(
                    f"runs score different clips in fold {fold} ({split}): "
                    f"{reference} has {a[0] if a else 0} clip(s), {run.name} "
                    f"{b[0] if b else 0}{' (other clips)' if a and b and a[0] == b[0] else ''}"
                )


def _fuse_fold(chosen: list[Run], splits, spec: FuseSpec):
    """One fold through the method's model kind (:mod:`mmemo.fusion.kinds`), trained on the
    ``spec.on`` scores of the training clips (stored as the fused run's ``train`` rows)."""
    from mmemo.models.registry import get_kind

    on = spec.on
    fit_on = {"train": on, "test": "test"}
    ids = {split: [r[0] for r in splits.get(fit_on[split], [])] for split in ("train", "test")}
    X = {
        split: np.array([r[2] for r in splits.get(fit_on[split], [])], dtype=np.float64)
        for split in ids
    }
    params: dict = {"C": spec.C, "norm": spec.norm}
    if spec.method != "logreg":
        params = {"blocks": [(run.classes, run.score_kind) for run in chosen]}
    data = FoldData(
        X_train=X["train"], y_train=np.array([r[1] for r in splits.get(on, [])]), X_test=X["test"]
    )
    result = get_kind(f"fusion-{spec.method}").fit(params, data, seed=spec.seed)
    return result, ids
