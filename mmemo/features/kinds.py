"""The registry of feature-set kinds: for each, the lake table its rows go to and how one
vector per clip, or one frame sequence per clip, is read back.

Loading code asks the kind, never tests its name, so a new kind of feature set is one entry
here (and the job that writes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
        mean_query: SQL giving ``(clip_id, ordinal, vector)``, the mean of each clip's frames
            (what ``NAME:mean`` loads), or ``None`` for kinds that have no frames.
        frames_param: the parameter that says whether a set of this kind stored frames
            (``embed --frames``); ``None`` where every set of the kind has them.
        older_tables: lake tables that hold rows of this kind written by older stores (read,
            never written: a resumed job looks there too for done clips).
    """

    name: str
    table: str
    clip_query: str
    sequence_query: str | None
    mean_query: str | None = None
    frames_param: str | None = None
    older_tables: tuple[str, ...] = ()

    def has_frames(self, params: dict[str, Any] | None) -> bool:
        """Whether a set of this kind made with ``params`` holds frame-level rows."""
        if self.sequence_query is None:
            return False
        return self.frames_param is None or bool((params or {}).get(self.frames_param))


_AU_LIST = ", ".join(AU_COLUMNS)
_AU_MEANS = (
    f"SELECT clip_id, row_number() OVER (ORDER BY clip_id), [{_AU_LIST}]::DOUBLE[] "
    "FROM au_means WHERE feature_set = ? AND version = ?"
)
#: Element-wise mean of each clip's frame vectors, in DOUBLE, in clip order. Each clip's
#: frames are averaged within one row, in frame order: the same bits on every run (a parallel
#: GROUP BY would sum in varying order).
_FRAME_MEANS = (
    "SELECT clip_id, row_number() OVER (ORDER BY clip_id), "
    "list_transform(range(1, len(frames[1]) + 1), "
    "lambda i: list_avg(list_transform(frames, lambda f: f[i]::DOUBLE))) "
    "FROM (SELECT clip_id, list(vector ORDER BY frame) AS frames FROM frame_vectors "
    "WHERE feature_set = ? AND version = ? GROUP BY clip_id)"
)

FEATURE_KINDS: dict[str, FeatureKind] = {
    kind.name: kind
    for kind in (
        FeatureKind(
            name="embedding",
            table="clip_embeddings",
            clip_query=(
                "SELECT clip_id, ordinal, vector FROM clip_embeddings "
                "WHERE feature_set = ? AND version = ?"
            ),
            sequence_query=(
                "SELECT clip_id, list(vector ORDER BY frame) FROM frame_vectors "
                "WHERE feature_set = ? AND version = ? GROUP BY clip_id"
            ),
            mean_query=_FRAME_MEANS,
            frames_param="frames",
            older_tables=("clip_vectors",),
        ),
        FeatureKind(
            name="imported",
            table="clip_vectors",
            clip_query=(
                "SELECT clip_id, ordinal, vector FROM clip_vectors "
                "WHERE feature_set = ? AND version = ?"
            ),
            sequence_query=None,
        ),
        FeatureKind(
            name="au_frames",
            table="au_frames",
            clip_query=_AU_MEANS,  # AU sets are frame-level: per clip, the mean of the frames
            sequence_query=(
                "SELECT clip_id, frames FROM au_sequences WHERE feature_set = ? AND version = ?"
            ),
            mean_query=_AU_MEANS,
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
