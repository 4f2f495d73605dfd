"""The registry of feature-set kinds: for each, the lake table its rows go to and how one
vector per clip, or one frame sequence per clip, is read back.

Loading code asks the kind, never tests its name, so a new kind of feature set is one entry
here (and the job that writes it).
"""

from __future__ import annotations

from dataclasses import dataclass

from mmemo.corpora.openface_columns import AU_COLUMNS
from mmemo.errors import InputError


@dataclass(frozen=True)
class FeatureKind:
    """How feature sets of one kind are stored and read.

    Attributes:
        name: the kind as the registry records it (``feature_sets.kind``).
        table: the lake table that holds the set's rows (resumed jobs look there for done clips).
        clip_query: SQL giving ``(clip_id, ordinal, vector)`` per clip of the set whose name and
            version are bound as the two parameters.
        sequence_query: SQL giving ``(clip_id, frames)`` per clip, or ``None`` for kinds that
            have no frames.
    """

    name: str
    table: str
    clip_query: str
    sequence_query: str | None


_AU_LIST = ", ".join(AU_COLUMNS)
_CLIP_VECTORS = (
    "SELECT clip_id, ordinal, vector FROM clip_vectors WHERE feature_set = ? AND version = ?"
)

FEATURE_KINDS: dict[str, FeatureKind] = {
    kind.name: kind
    for kind in (
        FeatureKind(
            name="embedding",
            table="clip_vectors",
            clip_query=_CLIP_VECTORS,
            sequence_query=(
                "SELECT clip_id, list(vector ORDER BY frame) FROM frame_vectors "
                "WHERE feature_set = ? AND version = ? GROUP BY clip_id"
            ),
        ),
        FeatureKind(
            name="imported",
            table="clip_vectors",
            clip_query=_CLIP_VECTORS,
            sequence_query=None,
        ),
        FeatureKind(
            name="au_frames",
            table="au_frames",
            clip_query=(
                f"SELECT clip_id, row_number() OVER (ORDER BY clip_id), [{_AU_LIST}]::DOUBLE[] "
                "FROM au_means WHERE feature_set = ? AND version = ?"
            ),
            sequence_query=(
                "SELECT clip_id, frames FROM au_sequences WHERE feature_set = ? AND version = ?"
            ),
        ),
    )
}


def feature_kind(name: str) -> FeatureKind:
    """The registered kind ``name``."""
    try:
        return FEATURE_KINDS[name]
    except KeyError:
        raise InputError(
            f"unknown feature-set kind {name!r}; known kinds: {', '.join(sorted(FEATURE_KINDS))}"
        ) from None


def sequence_query(name: str, ref: str) -> str:
    """The frame-sequence query of kind ``name``; a clear error for kinds without frames."""
    query = feature_kind(name).sequence_query
    if query is None:
        raise InputError(
            f"feature set '{ref}' ({name}) has one vector per clip, no frame sequences; "
            "sequential models need frame-level features (AU frames or `embed --frames`)"
        )
    return query
