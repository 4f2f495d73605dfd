"""Action Unit frames read back from the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sqlalchemy as sa

from mmemo.corpora.openface_columns import AU_INTENSITY_COLUMNS
from mmemo.errors import NotFoundError
from mmemo.features.sets import resolve_feature_set
from mmemo.store.schema import FeatureSet
from mmemo.store.store import Store


def plot_clip_aus(store: Store, clip: str, out: Path, *, features: str | None = None) -> Path:
    """Draw the AU intensity curves of ``clip`` from an AU frame set into ``out``."""
    from mmemo.reports.figures import plot_aus

    with store.session() as s:
        if features is None:
            with s.orm() as orm:
                newest = orm.scalars(
                    sa.select(FeatureSet)
                    .where(FeatureSet.kind == "au_frames", FeatureSet.status == "complete")
                    .order_by(FeatureSet.id.desc())
                ).first()
            if newest is None:
                raise NotFoundError("no AU frame set in the store; run `mmemo ingest openface`")
            features = f"{newest.name}@{newest.version}"
        fs = resolve_feature_set(s, features)
        cols = ", ".join(AU_INTENSITY_COLUMNS)
        rows = s.fetch(
            f"SELECT timestamp, {cols} FROM au_frames WHERE feature_set = ? AND version = ? "
            "AND clip_id = ? ORDER BY frame",
            [fs.name, fs.version, clip],
        )
    if not rows:
        raise NotFoundError(f"clip '{clip}' has no frames in feature set {features}")
    data = np.array(rows, dtype=np.float64)
    curves = {name: data[:, i + 1] for i, name in enumerate(AU_INTENSITY_COLUMNS)}
    return plot_aus(data[:, 0], curves, out, title=f"{clip} ({features})")
