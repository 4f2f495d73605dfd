"""Named clip selections and the SQL WHERE clauses they stand for."""

from __future__ import annotations

#: Named selections, usable everywhere a ``--clips`` option is taken.
SELECTIONS: dict[str, str] = {
    "all": "TRUE",
    "av-speech": "modality = 1 AND vocal_channel = 1",  # the paper's 1,440 clips
    "av": "modality = 1",
    "speech": "vocal_channel = 1",
    "song": "vocal_channel = 2",
    "audio": "has_audio",
    "video": "has_video",
    "audio-speech": "modality = 3 AND vocal_channel = 1",
}


def selection_where(clips: str | None) -> str:
    """The WHERE clause (over the ``clips`` view) of a named selection or a SQL condition."""
    if clips is None or not clips.strip():
        return SELECTIONS["all"]
    return SELECTIONS.get(clips.strip(), clips)
