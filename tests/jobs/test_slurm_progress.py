"""What ``mmemo jobs`` says of a task's progress, from the store's claims alone (Slurm not
asked): an ``embed --layers`` job counts the sets of its family, as their records name it."""

from __future__ import annotations

import pytest

from mmemo.features.sets import (
    EncoderLayer,
    Shard,
    begin_feature_set,
    finish_shard,
    layer_set_name,
    write_feature_set,
)


def _layer_set(store, family: str, layer: str, *, shards: list[int] | None = None) -> None:
    """Layer ``layer`` of ``family``: made whole, or with the given shards of 2 finished."""
    name = layer_set_name(family, layer)
    kwargs = {
        "name": name, "kind": "embedding", "params": {"layer": layer}, "inputs": {},
        "clip_keys": [("a", "1")], "of": EncoderLayer(layer=layer, family=family),
    }  # fmt: skip
    if shards is None:
        job = begin_feature_set(store, **kwargs)
        write_feature_set(store, job, {}, "made whole", dim=1, n_clips=1)
        return
    for index in shards:
        shard = Shard.parse(f"{index}/2")
        job = begin_feature_set(store, shard=shard, **kwargs)
        finish_shard(store, job, shard, dim=1, n_clips=1)


def test_an_embed_layers_job_counts_the_sets_of_its_family(store, monkeypatch) -> None:
    from mmemo import scheduler
    from mmemo.jobs.slurm import job_states
    from mmemo.store.schema import SchedulerJob

    monkeypatch.setattr(scheduler, "available", lambda: False)
    _layer_set(store, "w_1", "conv", shards=[0, 1])  # complete
    _layer_set(store, "w_1", "1", shards=[0])  # shard 1 still to do
    # not of the family, though 'wx1/layer=1' is LIKE 'w_1/layer=%' ('_': any character)
    _layer_set(store, "wx1", "1")
    with store.session(write=True) as s, s.orm() as orm:
        orm.add(
            SchedulerJob(
                id="77", command=["embed", "M", "--name", "w_1", "--layers", "conv,1"],
                tasks=2, unit="shard", entry="w_1", submissions=[{"job": "77", "tasks": [0, 1]}],
                code_version="test",
            )
        )  # fmt: skip
        orm.commit()
    progress = {t.task: t.progress for t in job_states(store, ["77"])}
    assert progress == {0: "sets 2/2", 1: "sets 1/2"}


@pytest.mark.parametrize("entry, expected", [("one", "done"), ("none", "not started")])
def test_an_embed_job_of_one_set_says_done_or_not_started(
    store, monkeypatch, entry, expected
) -> None:
    from mmemo import scheduler
    from mmemo.jobs.slurm import job_states
    from mmemo.store.schema import SchedulerJob

    monkeypatch.setattr(scheduler, "available", lambda: False)
    job = begin_feature_set(
        store, name="one", kind="embedding", params={}, inputs={}, clip_keys=[("a", "1")]
    )
    write_feature_set(store, job, {}, "made whole", dim=1, n_clips=1)
    with store.session(write=True) as s, s.orm() as orm:
        orm.add(
            SchedulerJob(
                id="78", command=["embed", "M", "--name", entry], tasks=1, unit="shard",
                entry=entry, submissions=[{"job": "78", "tasks": [0]}], code_version="test",
            )
        )  # fmt: skip
        orm.commit()
    assert [t.progress for t in job_states(store, ["78"])] == [expected]
