"""Action Unit frames read back from the store: the intensity curves of one clip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from mmemo.corpora.openface_columns import AU_INTENSITY_COLUMNS
from mmemo.errors import NotFoundError
from mmemo.features.sets import resolve_feature_set
from mmemo.store.schema import FeatureSet
from mmemo.store.store import Store


@dataclass
class ClipAus:
    """The AU intensity curves of one clip.

    Attributes:
        clip: Clip id.
        features: The AU frame set they come from, as ``NAME@VERSION``.
        times: Frame times in seconds, shape ``(T,)``.
        curves: ``{AUxx_r: intensities}`` (0-5), the 17 intensity AUs, each of shape ``(T,)``.
    """

    clip: str
    features: str
    times: np.ndarray
    curves: dict[str, np.ndarray]


def clip_aus(store: Store, clip: str, *, features: str | None = None) -> ClipAus:
    """Read the AU intensity curves of ``clip`` from an AU frame set.

    Args:
        store: The store.
        clip: Clip id.
        features: AU frame set ``NAME[@V]``; default: the newest complete one.

    Returns:
        The clip's curves, frames in order.

    Raises:
        NotFoundError: no AU frame set in the store, or the clip has no frames in it.
    """
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
    return ClipAus(clip, features, data[:, 0], curves)
