"""Action Unit frames read back from the store: the intensity curves of one clip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from mmemo.corpora.openface_columns import AU_INTENSITY_COLUMNS
from mmemo.errors import InputError, NotFoundError
from mmemo.features.loading import resolve_feature_set
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
        success: OpenFace's ``success`` per frame (1 tracked, 0 failed), shape ``(T,)``.
    """

    clip: str
    features: str
    times: np.ndarray
    curves: dict[str, np.ndarray]
    success: np.ndarray


#: The AU frame set used when none is named, if it exists (``mmemo ingest openface``'s default).
DEFAULT_AU_SET = "aus"


def default_au_set(store: Store) -> str:
    """The AU frame set to use when none is named: the one called :data:`DEFAULT_AU_SET`
    (its newest version), else the only one.

    Raises:
        NotFoundError: no AU frame set in the store.
        InputError: several AU frame sets and none named ``aus`` (listing them).
    """
    with store.session() as s, s.orm() as orm:
        sets = list(
            orm.scalars(
                sa.select(FeatureSet)
                .where(FeatureSet.kind == "au_frames", FeatureSet.status == "complete")
                .order_by(FeatureSet.id)
            )
        )
    if not sets:
        raise NotFoundError("no AU frame set in the store; run `mmemo ingest openface`")
    names = list(dict.fromkeys(fs.name for fs in sets))
    if DEFAULT_AU_SET in names:
        return DEFAULT_AU_SET
    if len(names) == 1:
        return names[0]
    raise InputError(
        f"several AU frame sets and none named '{DEFAULT_AU_SET}'; choose one with "
        f"--features: {', '.join(names)}"
    )


def clip_aus(store: Store, clip: str, *, features: str | None = None) -> ClipAus:
    """Read the AU intensity curves of ``clip`` from an AU frame set.

    Args:
        store: The store.
        clip: Clip id.
        features: AU frame set ``NAME[@V]``; default: :func:`default_au_set`.

    Returns:
        The clip's curves, frames in order.

    Raises:
        NotFoundError: no AU frame set in the store, or the clip has no frames in it.
        InputError: no set named and several to choose from (see :func:`default_au_set`).
    """
    if features is None:
        features = default_au_set(store)
    with store.session() as s:
        fs = resolve_feature_set(s, features)
        features = f"{fs.name}@{fs.version}"
        cols = ", ".join(AU_INTENSITY_COLUMNS)
        rows = s.fetch(
            f"SELECT timestamp, success, {cols} FROM au_frames "
            "WHERE feature_set = ? AND version = ? AND clip_id = ? ORDER BY frame",
            [fs.name, fs.version, clip],
        )
    if not rows:
        raise NotFoundError(f"clip '{clip}' has no frames in feature set {features}")
    data = np.array(rows, dtype=np.float64)
    curves = {name: data[:, i + 2] for i, name in enumerate(AU_INTENSITY_COLUMNS)}
    return ClipAus(clip, features, data[:, 0], curves, data[:, 1])
