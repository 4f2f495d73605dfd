"""The Slurm front end without a cluster: task slices from the environment, the command a
task runs, the store's [slurm] defaults, and one-line errors where Slurm is missing."""

from __future__ import annotations

import re

import pytest

from mmemo.errors import InputError, StoreError
from mmemo.scheduler import Slice, array_task
from mmemo.store.config import slurm_options


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, (2, 4)),
        (
            {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2"},
            (1, 3),
        ),
        ({"RANK": "1", "WORLD_SIZE": "2"}, (1, 2)),
        ({}, None),
    ],
)
def test_an_array_task_finds_its_slice_in_the_environment(env, expected) -> None:
    assert array_task(env) == expected


def test_a_slice_of_an_array_that_does_not_run_from_zero_is_refused() -> None:
    env = {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "1"}
    with pytest.raises(InputError, match=r"SLURM_ARRAY_TASK_ID/N"):
        array_task(env)


def test_fold_slices_ignore_torchrun_ranks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ranks of a DDP fine-tune train the same folds, so --folds auto needs an array."""
    for key in ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert Slice.parse("auto") == Slice(1, 2)
    with pytest.raises(InputError, match="--folds auto: not in a Slurm array task"):
        Slice.parse("auto", "--folds", torchrun=False)
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "0")
    monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "5")
    assert Slice.parse("auto", "--folds", torchrun=False).take([0, 1, 2, 3, 4, 5, 6]) == [0, 5]
    with pytest.raises(InputError, match="--folds '5/5'"):
        Slice.parse("5/5", "--folds")


def test_every_spec_comes_back_from_its_json_as_it_was() -> None:
    """What a Slurm task runs is the spec as the command built it: data, not command text."""
    import json

    from mmemo.features.embed import EmbedSpec
    from mmemo.features.openface import AuIngestSpec
    from mmemo.jobs.specs import BiLSTMSpec, FinetuneSpec, FuseSpec, ImportSpec, StaticSpec
    from mmemo.specs import BUILTIN_SPECS, spec_from_json

    specs = [
        StaticSpec.parse(param_specs=["C=1,10"], norms=["minmax"], name="s", model="svc"),
        BiLSTMSpec(name="b", features="aus", params={"max_epochs": 3}, inner=2),
        FinetuneSpec(name="f", model="./xlsr", keep="none"),
        EmbedSpec(name="e", model="m", layers="conv,1-2", frames=True, clips=None),
        AuIngestSpec(name="a", sources=["of/", "more/*.csv"], min_confidence=0.8),
        FuseSpec(name="u", runs=("audio", "aus-*"), method="mean", on="oof"),
        ImportSpec(name="i", files=("f0.csv", "f1.csv"), classes="neutral,calm", fold_col="k"),
    ]
    assert sorted(s.job for s in specs) == sorted(BUILTIN_SPECS)
    for spec in specs:
        assert spec_from_json(json.loads(json.dumps(spec.to_json()))) == spec


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"job": "train stat"}, "unknown job 'train stat'; expected one of embed"),
        ({"job": "embed", "name": "e", "model": "m", "pool": 3}, "pool=3: expected text"),
        ({"job": "embed", "name": "e", "model": "m", "layerz": "1"}, "option(s) layerz"),
    ],
)
def test_a_spec_that_does_not_read_back_is_one_line(data, message) -> None:
    from mmemo.specs import spec_from_json

    with pytest.raises(InputError, match=re.escape(message)):
        spec_from_json(data)


def test_a_job_that_runs_whole_takes_one_task(tmp_path) -> None:
    """A fusion or an import writes one run in one process: no slices of it exist."""
    from mmemo.jobs.slurm import submit
    from mmemo.jobs.specs import FuseSpec

    spec = FuseSpec(name="u", runs=("a", "b"))
    with pytest.raises(InputError, match=r"--tasks 2: fuse runs in one process \(--tasks 1\)"):
        submit(None, spec, tasks=2)  # type: ignore[arg-type]  # refused before the store
    with pytest.raises(InputError, match="fuse runs in one process: one task, no --shard"):
        spec.run(None, part=Slice(1, 2))  # type: ignore[arg-type]


def test_the_store_config_holds_sbatch_defaults(tmp_path) -> None:
    assert slurm_options(tmp_path) == []
    (tmp_path / "mmemo.toml").write_text('[slurm]\noptions = "--partition=gpu --time=4:00:00"\n')
    assert slurm_options(tmp_path) == ["--partition=gpu", "--time=4:00:00"]
    (tmp_path / "mmemo.toml").write_text('[slurm]\noptions = ["--qos=low"]\nqueue = "x"\n')
    with pytest.raises(StoreError, match=r"\[slurm\] has unknown key\(s\) queue"):
        slurm_options(tmp_path)


def test_without_slurm_submitting_and_following_say_so_in_one_line(
    store, store_cli, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, no squeue
    before = store_cli(store, "jobs")
    assert before.code == 0 and "no job was submitted" in before.out_text
    result = store_cli(store, "ingest", "openface", str(tmp_path), "--name", "x", "--slurm",
                       "--tasks", "2")  # fmt: skip
    assert result.code == 2
    assert "sbatch not found" in result.err_text and len(result.err.strip().splitlines()) == 1
    no_tasks = store_cli(store, "ingest", "openface", str(tmp_path), "--name", "x", "--slurm")
    assert no_tasks.code == 2 and "--slurm needs --tasks N" in no_tasks.err_text
    unknown = store_cli(store, "jobs", "resubmit", "77")
    assert unknown.code == 2 and "no submitted job '77'" in unknown.err_text
    outside = store_cli(store, "jobs", "task", "77")
    assert outside.code == 2 and "inside a Slurm array task" in outside.err_text
