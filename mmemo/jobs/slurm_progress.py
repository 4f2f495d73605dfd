"""What each task of a submitted job has done, read from the store's claims: the folds of its
run, its shard of the feature set(s), or the grid's runs it stored (``mmemo jobs``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from mmemo.store.schema import (
    FeatureSet,
    FeatureSetShard,
    FoldAssignment,
    Run,
    RunFold,
    SchedulerJob,
)


def task_progress(orm: Any, job: SchedulerJob) -> Callable[[int], str]:
    """A function giving a task's progress from the store's claims: folds of the run done,
    the state of the task's shard of the feature set(s), or the grid's runs it stored."""
    if job.entry is None:
        return lambda task: ""
    if job.unit == "fold":
        run = orm.scalars(sa.select(Run).where(Run.name == job.entry)).first()
        if run is None:
            return lambda task: "not started"
        folds = sorted(
            set(
                orm.scalars(
                    sa.select(FoldAssignment.fold).where(FoldAssignment.scheme == run.scheme)
                )
            )
        )
        done = set(
            orm.scalars(
                sa.select(RunFold.fold).where(
                    RunFold.run_id == run.id, RunFold.status == "complete"
                )
            )
        )
        if run.status == "complete":
            done = set(folds)

        def fold_progress(task: int) -> str:
            mine = folds[task :: job.tasks]
            return f"folds {sum(f in done for f in mine)}/{len(mine)}"

        return fold_progress
    if job.unit == "shard":  # the set of `embed --name E`, or the layers of `--layers`
        sets = list(
            orm.scalars(
                sa.select(FeatureSet).where(
                    sa.or_(FeatureSet.name == job.entry, FeatureSet.family == job.entry)
                )
            )
        )
        if not sets:
            return lambda task: "not started"
        latest: dict[str, FeatureSet] = {}
        for fs in sets:
            if fs.name not in latest or fs.version > latest[fs.name].version:
                latest[fs.name] = fs
        ids = [fs.id for fs in latest.values()]
        shards = list(
            orm.scalars(sa.select(FeatureSetShard).where(FeatureSetShard.feature_set_id.in_(ids)))
        )
        complete = {fs.id for fs in latest.values() if fs.status == "complete"}

        def shard_progress(task: int) -> str:
            done = sum(
                fs_id in complete
                or any(
                    r.feature_set_id == fs_id and r.shard == task and r.status == "complete"
                    for r in shards
                )
                for fs_id in ids
            )
            return f"sets {done}/{len(ids)}" if len(ids) > 1 else ("done" if done else "to do")

        return shard_progress
    # config: the runs of the grid that the task's attempts stored (their holder's job)
    made = orm.execute(
        sa.select(Run.job).where(
            Run.status == "complete",
            sa.or_(*[Run.job.like(f"{s['job']}\\_%", escape="\\") for s in job.submissions]),
        )
    )
    counts: dict[int, int] = {}
    for (holder,) in made:
        task = int(holder.rsplit("_", 1)[1])
        counts[task] = counts.get(task, 0) + 1
    return lambda task: f"runs {counts.get(task, 0)}"
