"""Reading feature sets back: resolving ``NAME[@V][:mean]`` references to complete sets and
loading one vector or one frame sequence per clip, through the feature-kind registry
(:mod:`mmemo.features.kinds`). Writing sets (versions, chunks, shards) is :mod:`.sets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from mmemo.errors import InputError, NotFoundError, listing
from mmemo.features.kinds import feature_kind, sequence_query
from mmemo.store.schema import FeatureSet
from mmemo.store.store import Session, Store


def resolve_feature_set(session: Session, ref: str) -> FeatureSet:
    """The complete feature set ``NAME`` (newest version) or ``NAME@V``.

    Raises:
        NotFoundError: no such complete set (listing the sets there are).
    """
    name, _, version = ref.partition("@")
    with session.orm() as orm:
        query = sa.select(FeatureSet).where(
            FeatureSet.name == name, FeatureSet.status == "complete"
        )
        if version:
            if not version.isdigit():
                raise InputError(f"feature set {ref!r}: version must be a number (NAME@2)")
            query = query.where(FeatureSet.version == int(version))
        found = orm.scalars(query.order_by(FeatureSet.version.desc())).first()
        if found is None:
            names = sorted(
                {
                    f"{fs.name}@{fs.version}"
                    for fs in orm.scalars(
                        sa.select(FeatureSet).where(FeatureSet.status == "complete")
                    )
                }
            )
            raise NotFoundError(
                f"no feature set {ref!r}; complete sets: {', '.join(names) or 'none yet'}"
            )
    return found


#: Suffixes of a reference (``NAME:mean``) that reduce a frame-level set to one vector per clip.
REDUCTIONS = ("mean",)


@dataclass(frozen=True)
class FeatureRef:
    """A resolved reference ``NAME[@V][:mean]``: the complete set and how it is read."""

    set: FeatureSet
    reduce: str | None = None  # "mean": the per-clip mean of the set's frames

    @property
    def text(self) -> str:
        """The reference pinned to the version, e.g. ``aus@2:mean``."""
        return f"{self.set.name}@{self.set.version}" + (f":{self.reduce}" if self.reduce else "")

    @property
    def vector_query(self) -> str:
        """SQL giving ``(clip_id, ordinal, vector)``, bound to the set's name and version."""
        kind = feature_kind(self.set.kind)
        query = kind.mean_query if self.reduce == "mean" else kind.clip_query
        assert query is not None  # resolve_feature_ref refused a set without frames
        return query

    @property
    def params(self) -> list[Any]:
        return [self.set.name, self.set.version]


def split_ref(ref: str) -> tuple[str, str | None]:
    """``NAME[@V]`` and the reduction suffix of ``NAME[@V][:SUFFIX]`` (None without one).

    Raises:
        InputError: an unknown suffix, listing the known ones.
    """
    base, colon, suffix = ref.partition(":")
    if not colon:
        return ref, None
    if suffix not in REDUCTIONS:
        known = ", ".join(f":{r}" for r in REDUCTIONS)
        raise InputError(f"feature set {ref!r}: unknown suffix ':{suffix}'; known: {known}")
    return base, suffix


def resolve_feature_ref(session: Session, ref: str) -> FeatureRef:
    """The complete set that ``NAME[@V][:mean]`` names and how its per-clip vectors are read:
    the one place a reference's suffix is understood.

    Raises:
        InputError: an unknown suffix, or ``:mean`` on a set without frames.
        NotFoundError: no such complete set.
    """
    base, reduce = split_ref(ref)
    fs = resolve_feature_set(session, base)
    if reduce == "mean" and not feature_kind(fs.kind).has_frames(fs.params):
        raise InputError(
            f"feature set {ref!r}: ':mean' averages frames, and {fs.name} v{fs.version} "
            f"({fs.kind}) has one vector per clip; use {base!r}"
        )
    return FeatureRef(fs, reduce)


def feature_ref(info: dict[str, Any]) -> str:
    """The reference a run recorded (its ``inputs["features"]``), to load the same vectors."""
    reduce = info.get("reduce")
    return f"{info['name']}@{info['version']}" + (f":{reduce}" if reduce else "")


def _info(found: FeatureRef | FeatureSet) -> dict[str, Any]:
    fs = found.set if isinstance(found, FeatureRef) else found
    info = {
        "name": fs.name,
        "version": fs.version,
        "id": fs.id,
        "kind": fs.kind,
        "snapshot_id": fs.snapshot_id,
        "fingerprint": fs.fingerprint,
    }
    if isinstance(found, FeatureRef) and found.reduce:
        info["reduce"] = found.reduce  # only then: runs made before keep their exact inputs
    return info


def _require_all(ref: str, clip_ids: np.ndarray, found: dict[str, Any]) -> None:
    missing = [c for c in clip_ids.tolist() if c not in found]
    if missing:
        raise InputError(
            f"feature set '{ref}' has no features for {len(missing)} selected clip(s): "
            f"{listing(missing)}"
        )


def clips_with_features(store: Store, ref: str) -> set[str]:
    """The clips that feature set ``ref`` holds a vector (or frames) for."""
    with store.session() as s:
        found = resolve_feature_ref(s, ref)
        return {c for (c,) in s.fetch(f"SELECT clip_id FROM ({found.vector_query})", found.params)}


def load_clip_vectors(
    store: Store, ref: str, clip_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """One row per clip (in ``clip_ids`` order): pooled/imported vectors, AU means, or with
    ``ref`` = ``NAME:mean`` the mean of each clip's frames.

    Returns:
        The matrix, each clip's ordinal in the feature set (the order in which models should
        see the clips), and a description of the set for lineage.

    Raises:
        InputError: clips without features (named).
    """
    with store.session() as s:
        ref_ = resolve_feature_ref(s, ref)
        rows = s.fetch(ref_.vector_query, ref_.params)
    found = {clip: (ordinal, vector) for clip, ordinal, vector in rows}
    _require_all(ref, clip_ids, found)
    matrix = np.array([found[c][1] for c in clip_ids.tolist()], dtype=np.float64)
    ordinals = np.array([found[c][0] for c in clip_ids.tolist()], dtype=np.int64)
    return matrix, ordinals, _info(ref_)


def load_sequences(
    store: Store, ref: str, clip_ids: np.ndarray
) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Per clip (in ``clip_ids`` order) its frame sequence: AU frames or frame embeddings."""
    base, reduce = split_ref(ref)
    if reduce is not None:
        raise InputError(
            f"feature set {ref!r} is one vector per clip; sequential models take the frames: "
            f"use {base!r}"
        )
    with store.session() as s:
        fs = resolve_feature_set(s, ref)
        rows = s.fetch(sequence_query(fs.kind, ref), [fs.name, fs.version])
    found = dict(rows)
    _require_all(ref, clip_ids, found)
    seqs = [np.asarray(found[c], dtype=np.float32) for c in clip_ids.tolist()]
    return seqs, _info(fs)
