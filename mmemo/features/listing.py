"""``mmemo features``: the store's complete feature sets, one row each, with what made them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

import sqlalchemy as sa

from mmemo.errors import InputError
from mmemo.features.kinds import feature_kind
from mmemo.store.schema import FeatureSet
from mmemo.store.store import Store

#: Orders ``mmemo features`` lists in: newest first (by creation), or by name then version.
ORDERS = ("newest", "name")


@dataclass(frozen=True)
class FeatureSetRow:
    """One complete feature set as ``mmemo features`` shows it."""

    name: str
    version: int
    kind: str
    dim: int | None
    clips: int | None
    frames: bool  # holds frame-level rows (sequences, NAME:mean)
    model: str | None  # the encoder (embeddings), the source file's name (imported)
    layer: str | None
    pool: str | None
    created: datetime

    def cells(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.version,
            self.kind,
            self.dim,
            self.clips,
            "yes" if self.frames else "no",
            self.model,
            self.layer,
            self.pool,
            self.created.strftime("%Y-%m-%d %H:%M"),
        )


COLUMNS = ["name", "v", "kind", "dim", "clips", "frames", "model", "layer", "pool", "created"]


def list_feature_sets(store: Store, order: str = "newest") -> tuple[list[FeatureSetRow], int]:
    """The complete feature sets in ``order`` (see :data:`ORDERS`), and how many sets are
    unfinished (being made, or left by a job that died: ``mmemo gc``).

    Raises:
        InputError: an unknown order, listing the valid ones.
    """
    if order not in ORDERS:
        raise InputError(f"--sort {order!r}: expected one of {', '.join(ORDERS)}")
    with store.session() as s, s.orm() as orm:
        sets = list(orm.scalars(sa.select(FeatureSet)))
    done = [fs for fs in sets if fs.status == "complete"]
    if order == "name":
        done.sort(key=lambda fs: (fs.name, fs.version))
    else:
        done.sort(key=lambda fs: (fs.created_at, fs.id), reverse=True)
    return [_row(fs) for fs in done], len(sets) - len(done)


def _row(fs: FeatureSet) -> FeatureSetRow:
    """A set's row: its encoder, layer and pooling as recorded in its columns."""
    params, inputs = fs.params or {}, fs.inputs or {}
    model = fs.encoder
    if model is not None and PurePath(model).is_absolute():  # a local folder: its name
        model = PurePath(model).name
    if model is None and inputs.get("file"):
        model = PurePath(str(inputs["file"])).name
    return FeatureSetRow(
        name=fs.name,
        version=fs.version,
        kind=fs.kind,
        dim=fs.dim,
        clips=fs.n_clips,
        frames=feature_kind(fs.kind).has_frames(params),
        model=model,
        layer=fs.layer,
        pool=fs.pooling,
        created=fs.created_at,
    )
