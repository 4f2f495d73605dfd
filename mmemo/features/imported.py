"""``mmemo import features``: per-clip vectors a user already has (CSV or parquet)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import duckdb
import numpy as np
import pyarrow as pa

from mmemo.errors import InputError, listing
from mmemo.features.sets import (
    EncoderLayer,
    begin_feature_set,
    check_new_name,
    layer_set_name,
    write_feature_set,
)
from mmemo.hashing import sha256_file
from mmemo.store.store import Store

ID_CANDIDATES = ("clip_id", "name", "id", "file", "filename")
#: A clip id of a corpus other than RAVDESS: the dataset's name and a colon in front.
_PREFIXED = re.compile(r"^[a-z][a-z0-9_-]+:")
_MEDIA_EXT = re.compile(r"\.(wav|mp4|csv|flac|avi|mov|npy)$", re.IGNORECASE)


@dataclass
class ImportReport:
    name: str
    version: int
    existing: bool
    clips: int
    columns: list[str]
    skipped_unknown: list[str]
    snapshot_id: int | None = None


def read_table(path: Path, sep: str | None = None) -> pa.Table:
    """A CSV (separator sniffed unless given) or parquet file as an Arrow table.

    Raises:
        InputError: missing or unreadable file, naming it.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    con = duckdb.connect()
    try:
        if path.suffix.lower() == ".parquet":
            return con.execute("SELECT * FROM read_parquet(?)", [str(path)]).to_arrow_table()
        options = ", delim = ?" if sep else ""
        params = [str(path)] + ([sep] if sep else [])
        return con.execute(
            f"SELECT * FROM read_csv(?, header = true{options})", params
        ).to_arrow_table()
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot read ({str(exc).splitlines()[0]})") from None
    finally:
        con.close()


def clip_ids_from(values: list[object]) -> list[str]:
    """Clip ids from an id column, tolerating a file extension or a folder in front of a
    RAVDESS stem; an id with a corpus's prefix (``crema-d:1001_DFA_ANG_XX.wav``,
    ``mine:audio/a.wav``) is the whole id, suffix and folders included."""
    return [
        text if _PREFIXED.match(text) else _MEDIA_EXT.sub("", PurePosixPath(text).name)
        for text in (str(v).strip() for v in values)
    ]


def pick_id_column(table: pa.Table, id_col: str | None, path: Path) -> str:
    if id_col is not None:
        if id_col not in table.column_names:
            raise InputError(
                f"{path}: no column {id_col!r}; columns: {', '.join(table.column_names)}"
            )
        return id_col
    for candidate in ID_CANDIDATES:
        if candidate in table.column_names:
            return candidate
    raise InputError(f"{path}: no clip id column found; name it with --id-col")


def import_features(
    store: Store,
    path: Path,
    *,
    name: str,
    id_col: str | None = None,
    sep: str | None = None,
    columns: str | None = None,
    skip_unknown: bool = False,
    layer: str | None = None,
) -> ImportReport:
    """Import per-clip vectors from ``path`` as the feature set ``name``, or with ``layer``
    as the set ``NAME/layer=L`` of the family ``name`` (one layer of an encoder computed
    elsewhere: what a probe grid and ``plot layers`` take as a layer).

    Args:
        columns: regex selecting feature columns (default: every numeric column but the id).
        layer: the encoder layer the vectors are (``conv``, ``12``), recorded with the set.

    Raises:
        InputError: bad file, no matching columns, NaN values, duplicate or unknown clip ids
            (unless ``skip_unknown``), a name that is invalid or (without ``layer``) names a
            layer; the store is unchanged.
    """
    of = None if layer is None else EncoderLayer(layer=layer, family=name)
    if layer is not None:
        name = layer_set_name(name, layer)
    check_new_name(name, of)  # before the file is read
    table = read_table(path, sep)
    id_name = pick_id_column(table, id_col, path)
    pattern = re.compile(columns) if columns else None
    feature_cols = [
        c
        for c, t in zip(table.column_names, table.schema.types, strict=True)
        if c != id_name
        and (pattern.fullmatch(c) if pattern else pa.types.is_integer(t) or pa.types.is_floating(t))
    ]
    if not feature_cols:
        raise InputError(f"{path}: no feature columns match {columns or 'numeric columns'}")
    non_numeric = [
        c
        for c in feature_cols
        if not (pa.types.is_integer(table[c].type) or pa.types.is_floating(table[c].type))
    ]
    if non_numeric:
        raise InputError(f"{path}: column(s) {', '.join(non_numeric)} are not numeric")
    ids = clip_ids_from(table[id_name].to_pylist())
    matrix = np.column_stack([table[c].to_numpy(zero_copy_only=False) for c in feature_cols])
    matrix = matrix.astype(np.float64)
    if not np.isfinite(matrix).all():
        row = int(np.argwhere(~np.isfinite(matrix))[0][0])
        raise InputError(f"{path}: NaN or infinite value for clip {ids[row]} (row {row + 2})")
    seen: set[str] = set()
    for clip in ids:
        if clip in seen:
            raise InputError(f"{path}: clip {clip} appears twice")
        seen.add(clip)
    with store.session() as s:
        known = {r[0] for r in s.fetch("SELECT clip_id FROM clips")}
    unknown = [c for c in ids if c not in known]
    if unknown and not skip_unknown:
        raise InputError(
            f"{path}: {len(unknown)} clip id(s) unknown to the store: "
            f"{listing(unknown)} (--skip-unknown skips them)"
        )
    keep = [i for i, c in enumerate(ids) if c in known]
    if not keep:
        raise InputError(f"{path}: none of its clips is in the store")
    digest = sha256_file(path)
    job = begin_feature_set(
        store,
        name=name,
        kind="imported",
        params={"columns": feature_cols, "id_col": id_name},
        inputs={"file": str(path), "sha256": digest},
        clip_keys=[(ids[i], digest) for i in keep],
        of=of,
    )
    report = ImportReport(name, job.version, job.existing, len(keep), feature_cols, unknown)
    if job.existing:
        return report
    rows = pa.table(
        {
            "clip_id": pa.array([ids[i] for i in keep], pa.string()),
            "ordinal": pa.array(keep, pa.int32()),
            "vector": pa.array([matrix[i] for i in keep], pa.list_(pa.float64())),
        }
    )
    report.snapshot_id = write_feature_set(
        store,
        job,
        {"clip_vectors": rows},
        f"{len(keep)} clip(s) from {path.name}",
        dim=len(feature_cols),
        n_clips=len(keep),
    )
    return report
