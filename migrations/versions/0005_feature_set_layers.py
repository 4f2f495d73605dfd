"""Layers are data: which encoder layer a feature set holds, as columns of its record.

Until now the layer of a per-layer set was written into its name (``NAME/layer=L``) and parsed
back wherever it was needed. ``feature_sets`` now records it: ``encoder`` (the model id or
folder of an embedding set), ``layer`` (``conv``, ``1``, ...: the set is one layer of an
encoder), ``pooling`` (``mean``, ``mean+std``) and ``family`` (the NAME of ``NAME/layer=L``:
the name given to ``embed --layers`` or ``import features --layer``), so that probe grids,
``plot layers``, ``mmemo sql -f layer_accuracy`` and the progress of ``embed --layers`` jobs
query them.

Existing rows are filled in from what made them: an embedding set's parameters (``model``,
``layer``, ``pool``). The family, and the layer of a set imported under a ``NAME/layer=L``
name (there was no ``import features --layer``), are written nowhere but in the name: this
one-time data migration parses the names of the rows it finds; no code reads a name back
afterwards. A set gets its family only where its name is ``family/layer=`` its layer (an
embedding set named for another layer than it holds keeps its layer and no family), the
invariant new sets keep too.

DuckDB cannot drop a column of a table that another table references, so there the
downgrade sets ``feature_set_shards`` aside while it drops the columns, and puts it back with
its foreign key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: The new columns of ``feature_sets``, in order.
_COLUMNS = {
    "encoder": sa.Text(),
    "layer": sa.String(64),
    "pooling": sa.String(16),
    "family": sa.String(255),
}
#: The names ``embed --layers`` gave its sets, read once here (see the module docstring).
_LAYER_NAME = re.compile(r"^(?P<family>.+)/layer=(?P<layer>[^/]+)$")


def upgrade() -> None:
    for name, kind in _COLUMNS.items():
        op.add_column("feature_sets", sa.Column(name, kind))
    bind = op.get_bind()
    table = sa.table(
        "feature_sets",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("kind", sa.String),
        sa.column("params", sa.JSON),
        *(sa.column(name, kind) for name, kind in _COLUMNS.items()),
    )
    rows = bind.execute(sa.select(table.c.id, table.c.name, table.c.kind, table.c.params)).all()
    for id_, name, kind, params in rows:
        values = _backfill(name, kind, params)
        if any(v is not None for v in values.values()):
            bind.execute(sa.update(table).where(table.c.id == id_).values(**values))


def _backfill(name: str, kind: str, params: Any) -> dict[str, str | None]:
    """The new columns of a set made before them, from its parameters and its name."""
    if isinstance(params, str):  # a JSON column some drivers hand back as text
        params = json.loads(params)
    params = params or {}
    values: dict[str, str | None] = dict.fromkeys(_COLUMNS)
    if kind == "embedding":
        values["encoder"] = None if params.get("model") is None else str(params["model"])
        values["pooling"] = params.get("pool")
        values["layer"] = None if params.get("layer") is None else str(params["layer"])
    named = _LAYER_NAME.match(name)
    if named is not None and values["layer"] in (None, named["layer"]):
        values["family"], values["layer"] = named["family"], named["layer"]
    return values


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in reversed(_COLUMNS):
            op.drop_column("feature_sets", name)
        return
    child = "feature_set_shards"
    definitions = [
        f'"{name}" {kind}{"" if nullable == "YES" else " NOT NULL"}'
        for name, kind, nullable in bind.exec_driver_sql(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
            (child,),
        )
    ]
    definitions += [
        "PRIMARY KEY (feature_set_id, shard)",
        'FOREIGN KEY ("feature_set_id") REFERENCES "feature_sets" (id)',
    ]
    bind.exec_driver_sql(f'CREATE TEMPORARY TABLE "{child}_before_0005" AS SELECT * FROM {child}')
    bind.exec_driver_sql(f'DROP TABLE "{child}"')
    for name in reversed(_COLUMNS):
        op.drop_column("feature_sets", name)
    bind.exec_driver_sql(f'CREATE TABLE "{child}" ({", ".join(definitions)})')
    bind.exec_driver_sql(f'INSERT INTO "{child}" SELECT * FROM "{child}_before_0005"')
    bind.exec_driver_sql(f'DROP TABLE "{child}_before_0005"')
