"""Reports read from the store: which runs, and their cross-validated test predictions."""

from __future__ import annotations

from collections import defaultdict
from fnmatch import fnmatchcase

import numpy as np
import sqlalchemy as sa

from mmemo.errors import NotFoundError
from mmemo.models.params import format_value
from mmemo.reports.metrics import FoldPredictions, RunSummary, summarize
from mmemo.reports.tables import RunRow
from mmemo.store.registry import Run
from mmemo.store.store import Session, Store


def resolve_runs(session: Session, patterns: list[str]) -> list[Run]:
    """Complete runs whose names match any of ``patterns`` (shell globs), in pattern order.

    Raises:
        NotFoundError: a pattern that matches no complete run (listing the runs there are).
    """
    with session.orm() as orm:
        runs = list(orm.scalars(sa.select(Run).where(Run.status == "complete").order_by(Run.id)))
    chosen: dict[int, Run] = {}
    for pattern in patterns:
        matched = [r for r in runs if fnmatchcase(r.name, pattern)]
        if not matched:
            names = ", ".join(r.name for r in runs[:20]) or "none yet"
            raise NotFoundError(f"no complete run matches '{pattern}'; runs: {names}")
        for run in matched:
            chosen.setdefault(run.id, run)
    return list(chosen.values())


def summarize_runs(store: Store, patterns: list[str]) -> list[RunSummary]:
    """Cross-validated summary (accuracy ± CI, UAR, macro-F1, per class) of each run."""
    return [summary for _, summary in summarize_matching(store, patterns)]


def report_rows(store: Store, patterns: list[str]) -> list[RunRow]:
    """Rows of a paper-style comparison table: inputs, model, parameters, norm, results.

    Runs are grouped by their inputs (the best of each group is set in bold).
    """
    rows = []
    for run, summary in summarize_matching(store, patterns):
        params = {k: v for k, v in (run.params or {}).items() if k not in ("norm", "config")}
        norm = (run.params or {}).get("norm")
        inputs = _inputs_label(run)
        rows.append(
            RunRow(
                summary=summary,
                inputs=inputs,
                model=run.model,
                params=", ".join(f"{k} = {format_value(v)}" for k, v in params.items()) or "-",
                norm={"minmax": "Yes", "none": "No", None: "-"}.get(norm, str(norm)),
                group=inputs,
                ranked=run.model != "zeror",
            )
        )
    return rows


def _inputs_label(run: Run) -> str:
    inputs = run.inputs or {}
    if "features" in inputs:
        return f"{inputs['features']['name']}@{inputs['features']['version']}"
    if "runs" in inputs:
        return "fusion of " + ", ".join(inputs["runs"])
    return "-"


def summarize_matching(store: Store, patterns: list[str]) -> list[tuple[Run, RunSummary]]:
    """(run, summary) of every complete run matching ``patterns``."""
    with store.session() as s:
        runs = resolve_runs(s, patterns)
        rows = s.fetch(
            "SELECT run_id, fold, true_emotion, predicted_emotion FROM predictions "
            "WHERE split = 'test' AND run_id IN (SELECT unnest(?)) ORDER BY run_id, fold",
            [[r.id for r in runs]],
        )
    per_run: dict[int, dict[int, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for run_id, fold, true, predicted in rows:
        per_run[run_id][fold].append((true, predicted))
    summaries = []
    for run in runs:
        folds = [
            FoldPredictions(
                fold=fold,
                y_true=np.array([t for t, _ in pairs]) - 1,
                y_pred=np.array([p for _, p in pairs]) - 1,
            )
            for fold, pairs in sorted(per_run[run.id].items())
        ]
        if not folds:
            raise NotFoundError(f"run '{run.name}' has no test posteriors")
        summaries.append((run, summarize(run.name, folds)))
    return summaries
