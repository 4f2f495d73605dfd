"""Team mode against real servers: PostgreSQL (registry and lake catalog) and an S3 server
(lake files and models), started by the test setup on loopback.

The rest of the suite already runs every store fixture on these backends too; these tests
cover what only team stores do: configs, `mmemo connect`, doctor's backend checks, model files
on S3, concurrent writers in separate processes, and sharded jobs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mmemo.store.config import load_config, tomllib
from mmemo.store.store import Store

TEAM = pytest.mark.parametrize("backend", ["team"], indirect=True)


def test_init_writes_a_config_without_secrets_and_doctor_reaches_every_backend(
    team_backends, cli, tmp_path
) -> None:
    config = team_backends.config("cli_init")
    folder = tmp_path / "team"
    registry = config.registry.replace("+psycopg", "")
    args = ["--registry", registry, "--catalog", config.catalog, "--data", config.data]
    created = cli("--store", folder, "init", *args)
    assert created.code == 0, created.err
    assert "store ready" in created.out_text
    saved = tomllib.loads((folder / "mmemo.toml").read_text())["store"]
    assert saved == {"registry": config.registry, "catalog": config.catalog, "data": config.data}
    assert "testing" not in (folder / "mmemo.toml").read_text()  # the S3 key stays in the env
    assert not (folder / "registry.duckdb").exists() and not (folder / "lake.ducklake").exists()

    doctor = cli("--store", folder, "doctor")
    assert doctor.code == 0, doctor.out
    assert doctor.out_text.count("PostgreSQL 1") == 2  # registry and catalog, with versions
    for part in ("lake data (S3)", "postgres extension", "httpfs extension", "registry schema"):
        assert part in doctor.out

    again = cli("--store", folder, "init")  # idempotent: the config is read back
    assert again.code == 0, again.err
    other = cli("--store", tmp_path / "elsewhere", "init", *args[:4], "--data", "s3://x/y")
    assert other.code == 2
    assert "s3://x/y" in other.err_text and "s3://mmemo-tests/cli_init" in other.err_text
    assert not (tmp_path / "elsewhere" / "mmemo.toml").exists()  # a failed init leaves nothing


def test_doctor_names_an_unreachable_registry(team_backends, cli, tmp_path) -> None:
    folder = tmp_path / "lost"
    folder.mkdir()
    url = "postgresql://mmemo@127.0.0.1:1/none"
    (folder / "mmemo.toml").write_text(
        f'[store]\nregistry = "{url}"\ncatalog = "{url}"\ndata = "s3://none/x"\n'
    )
    doctor = cli("--store", folder, "doctor")
    assert doctor.code == 1
    assert "FAIL" in doctor.out and "registry" in doctor.out


@TEAM
def test_connect_by_registry_url_or_folder_sees_the_same_store(zeror_store, cli, tmp_path) -> None:
    registry = zeror_store.config.registry
    laptop = tmp_path / "laptop"
    connected = cli("--store", laptop, "connect", registry)
    assert connected.code == 0, connected.err
    assert load_config(laptop, environ={}) == zeror_store.config
    runs = cli("--store", laptop, "sql", "SELECT name, status FROM runs")
    assert "zeror" in runs.out and "complete" in runs.out

    second = cli("--store", tmp_path / "second", "connect", laptop)
    assert second.code == 0, second.err
    assert load_config(tmp_path / "second", environ={}) == zeror_store.config

    local = cli("--store", tmp_path / "third", "init")
    refused = cli("--store", tmp_path / "fourth", "connect", tmp_path / "third")
    assert local.code == 0 and refused.code == 2
    assert "local store" in refused.err_text


@TEAM
def test_models_are_published_to_s3_and_fetched_by_another_host(
    zeror_store, team_backends, cli, tmp_path
) -> None:
    prefix = zeror_store.config.data.removeprefix(f"s3://{team_backends.bucket}/")
    keys = [
        o["Key"]
        for o in team_backends.s3.client().list_objects_v2(
            Bucket=team_backends.bucket, Prefix=f"{prefix}/models/"
        )["Contents"]
    ]
    assert any(k.endswith(".joblib") for k in keys)

    host_b = tmp_path / "host-b"
    assert cli("--store", host_b, "connect", zeror_store.config.registry).code == 0
    assert not (host_b / "models" / "run-1").exists()
    here = cli("--store", zeror_store.root, "predict", "zeror", "--format", "json")
    there = cli("--store", host_b, "predict", "zeror", "--format", "json")
    assert there.code == 0, there.err
    assert there.out == here.out
    assert (host_b / "models" / "run-1").is_dir()  # fetched on demand


@TEAM
def test_concurrent_writers_in_separate_processes_lose_nothing(ingested_store) -> None:
    names = [[f"w{p}-{i}" for i in range(3)] for p in range(2)]
    command = f"{sys.executable} -m mmemo --store {ingested_store.root} train static "
    command += "--model zeror --scheme kfold:2:0 --clips all --name "
    writers = [  # two processes, each committing three runs while the other does too
        subprocess.Popen(
            " && ".join(command + n for n in batch),
            shell=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for batch in names
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=600)
        assert writer.returncode == 0, out + err
    with ingested_store.session() as s:
        stored = s.fetch("SELECT name, status FROM runs ORDER BY name")
        rows = s.fetch("SELECT run_id, count(*) FROM posteriors GROUP BY run_id ORDER BY 1")
        folds = s.fetch("SELECT count(*) FROM fold_assignments WHERE scheme = 'kfold:2:0'")
    assert stored == [(n, "complete") for n in sorted(names[0] + names[1])]
    assert [r[1] for r in rows] == [2 * 624] * 6  # train and test rows of every clip
    assert folds == [(2,)]  # the scheme's assignment was recorded once


def test_shard_option_is_checked(cli, tmp_path) -> None:
    result = cli("--store", tmp_path / "s", "embed", "m", "--name", "x", "--shard", "2/2")
    assert result.code == 2
    assert "--shard '2/2'" in result.err_text


@TEAM
def test_gc_removes_orphan_model_folders_on_s3(zeror_store, team_backends, cli) -> None:
    orphan = Path(zeror_store.root, "models", "run-99")
    orphan.mkdir(parents=True)
    (orphan / "fold-0.joblib").write_bytes(b"x")
    zeror_store.artefacts.publish(orphan)
    assert "run-99" in zeror_store.artefacts.run_dirs()
    result = cli("--store", zeror_store.root, "gc")
    assert result.code == 0, result.err
    assert "1 orphan model folder" in result.out_text
    assert zeror_store.artefacts.run_dirs() == {"run-1"}


def test_a_team_store_object_names_its_parts(team_backends) -> None:
    store = Store("/nonexistent", team_backends.config("names"))
    assert store.is_team and store.exists()
    assert "s3://mmemo-tests/names/lake/" in store.describe()
