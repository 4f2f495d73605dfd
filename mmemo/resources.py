"""Locate the SQL files and Alembic migrations, installed (in the wheel) or in a checkout."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


def _resource_dir(name: str) -> Path:
    packaged = resources.files("mmemo") / name
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"mmemo is installed without its '{name}' folder")


def sql_dir() -> Path:
    """The folder of named ``.sql`` files (views, checks, analysis, lake schema)."""
    return _resource_dir("sql")


def migrations_dir() -> Path:
    """The Alembic environment of the registry schema."""
    return _resource_dir("migrations")


@cache
def read_sql(relative: str) -> str:
    """Text of ``sql/<relative>``, e.g. ``read_sql("views/10_clips.sql")``."""
    return (sql_dir() / relative).read_text(encoding="utf-8")
