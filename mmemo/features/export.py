"""``mmemo export features``: a feature set's per-clip vectors as parquet or CSV.

One row per clip, in the order the set gives clips to models. Parquet keeps ``vector`` as a
list column at the set's stored precision (FLOAT for computed embeddings, DOUBLE otherwise);
CSV, which has no lists, gets one column per dimension, ``v0`` ... ``v{d-1}``. With
``with_clips`` the clip metadata columns of ``sql/export/clip_metadata.sql`` come between
``clip_id`` and the vector.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from mmemo.errors import InputError
from mmemo.features.loading import resolve_feature_ref
from mmemo.resources import read_sql
from mmemo.store.store import Store

#: File extensions ``export features`` writes.
EXPORT_FORMATS = (".parquet", ".csv")


@dataclass
class FeatureExport:
    ref: str  # pinned: NAME@V[:mean]
    rows: int
    dim: int
    path: Path


def export_format(out: Path) -> str:
    """``parquet`` or ``csv`` from the file's extension.

    Raises:
        InputError: another extension, listing the valid ones.
    """
    suffix = out.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise InputError(
            f"--out {out}: unknown extension {suffix or '(none)'!r}; "
            f"expected {' or '.join(EXPORT_FORMATS)}"
        )
    return suffix[1:]


def feature_table(store: Store, ref: str, *, with_clips: bool = False) -> tuple[pa.Table, str]:
    """The vectors of ``NAME[@V][:mean]``: ``clip_id`` (then the clip metadata columns with
    ``with_clips``) and ``vector``, one row per clip in the set's order; and the pinned ref."""
    with store.session() as s:
        found = resolve_feature_ref(s, ref)
        vectors = f"SELECT * FROM ({found.vector_query}) AS q(clip_id, ordinal, vector)"
        if with_clips:
            metadata = read_sql("export/clip_metadata.sql").strip().rstrip(";")
            query = (
                f"WITH v AS ({vectors}), c AS ({metadata}) "
                "SELECT v.clip_id, c.* EXCLUDE (clip_id), v.vector "
                "FROM v LEFT JOIN c USING (clip_id) ORDER BY v.ordinal, v.clip_id"
            )
        else:
            query = f"SELECT clip_id, vector FROM ({vectors}) ORDER BY ordinal, clip_id"
        s.ensure_views(query)
        table = s.con.execute(query, found.params).to_arrow_table()
    return table, found.text


def export_features(
    store: Store, ref: str, out: Path, *, with_clips: bool = False
) -> FeatureExport:
    """Write the feature set ``ref`` (``NAME[@V][:mean]``) to ``out`` (.parquet or .csv).

    Raises:
        InputError: an unknown extension, a bad reference (see
            :func:`mmemo.features.loading.resolve_feature_ref`).
        NotFoundError: no such complete set.
    """
    fmt = export_format(out)  # before any work
    table, pinned = feature_table(store, ref, with_clips=with_clips)
    vectors = table["vector"].combine_chunks()
    lengths = set(vectors.value_lengths().to_pylist()) if len(vectors) else {0}
    if len(lengths) != 1:  # never for a set the store made; refuse rather than pad
        raise InputError(f"feature set '{pinned}': vectors of different lengths {sorted(lengths)}")
    dim = lengths.pop()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, out)
    else:
        import pyarrow.csv as pacsv

        matrix = np.asarray(vectors.flatten().to_numpy(zero_copy_only=False)).reshape(-1, dim)
        columns = {n: table[n] for n in table.column_names if n != "vector"}
        columns |= {f"v{j}": pa.array(matrix[:, j]) for j in range(dim)}
        pacsv.write_csv(pa.table(columns), out)
    return FeatureExport(pinned, table.num_rows, dim, out)
