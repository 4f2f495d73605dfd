"""Store configs: mmemo.toml, environment overrides, and the checks that keep secrets out."""

from __future__ import annotations

import pytest

from mmemo.errors import StoreError
from mmemo.store.config import StoreConfig, libpq, load_config, save_config

PG = "postgresql://mmemo@db.lab:5432/emotion"


def test_a_folder_without_config_is_a_local_store(tmp_path) -> None:
    config = load_config(tmp_path, environ={})
    assert config == StoreConfig() and config.is_local


def test_saved_config_reads_back_in_canonical_form(tmp_path) -> None:
    save_config(tmp_path, StoreConfig(registry=PG, catalog=PG, data="s3://bucket/team/"))
    config = load_config(tmp_path, environ={})
    assert config.registry == "postgresql+psycopg://mmemo@db.lab:5432/emotion"
    assert config.catalog == PG
    assert config.data == "s3://bucket/team"
    assert "[store]" in (tmp_path / "mmemo.toml").read_text()


def test_environment_overrides_the_file(tmp_path) -> None:
    save_config(tmp_path, StoreConfig(registry=PG, catalog=PG, data="s3://bucket/team"))
    config = load_config(tmp_path, environ={"MMEMO_DATA": "s3://other/x", "MMEMO_CATALOG": ""})
    assert config.data == "s3://other/x"
    assert config.catalog == PG  # an empty variable overrides nothing


@pytest.mark.parametrize("part", ["registry", "catalog"])
@pytest.mark.parametrize(
    "url", ["postgresql://mmemo:s3cret@db/x", "postgresql://mmemo@db/x?password=s3cret"]
)
def test_a_password_in_a_url_is_refused(tmp_path, part, url) -> None:
    parts = {"registry": PG, "catalog": PG, "data": "s3://b/p"} | {part: url}
    with pytest.raises(StoreError, match="PGPASSWORD") as caught:
        save_config(tmp_path, StoreConfig(**parts))
    assert "s3cret" not in str(caught.value)
    assert not (tmp_path / "mmemo.toml").exists()


def test_a_shared_registry_needs_a_shared_catalog_and_data(tmp_path) -> None:
    with pytest.raises(StoreError, match="give --catalog and --data"):
        save_config(tmp_path, StoreConfig(registry=PG))
    with pytest.raises(StoreError, match="give --catalog and --data"):
        save_config(tmp_path, StoreConfig(registry=PG, catalog=str(tmp_path / "c.ducklake")))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[store]\nregistry = "mysql://db/x"\n', "expected a PostgreSQL URL"),
        ('[store]\ndata = "gs://bucket/x"\n', "s3://bucket/prefix"),
        ('[store]\ndata = "s3:///x"\n', "no bucket"),
        ('[store]\nregistri = "postgresql://db/x"\n', "unknown key(s) registri"),
        ("[store\n", "not a valid mmemo config"),
    ],
)
def test_bad_configs_are_one_line_errors_naming_the_file(tmp_path, text, message) -> None:
    (tmp_path / "mmemo.toml").write_text(text)
    with pytest.raises(StoreError) as caught:
        load_config(tmp_path, environ={})
    assert message in str(caught.value)
    assert str(tmp_path / "mmemo.toml") in str(caught.value)


def test_libpq_keywords_from_a_url() -> None:
    assert libpq("postgresql://me@h:5433/db?sslmode=require") == (
        "host=h port=5433 user=me dbname=db connect_timeout=10 sslmode=require"
    )
    assert libpq("postgresql://h/my%20db?connect_timeout=3") == (
        "host=h dbname='my db' connect_timeout=3"
    )
