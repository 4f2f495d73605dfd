"""The class vocabulary: the eight RAVDESS emotion labels in their canonical order.

Defined here, in the store layer, because the store's own views speak it (``scored`` names
each predicted class): every layer above (``corpora.ravdess``, jobs, reports) imports it from
here, and SQL reads it from the session's ``emotions`` table and ``emotion_label(code)`` macro
(made from these constants when a session creates its views), so that no list of labels is
written twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmemo.sqltext import literal

if TYPE_CHECKING:  # importing the labels must not load duckdb
    import duckdb

#: Class labels in the store's canonical order: index ``i`` is emotion code ``i + 1``.
EMOTIONS: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
)
#: Emotion codes in canonical order (1 = neutral ... 8 = surprised).
EMOTION_CODES: tuple[int, ...] = tuple(range(1, len(EMOTIONS) + 1))


def create_vocabulary(con: duckdb.DuckDBPyConnection) -> None:
    """Create the temporary table ``emotions(emotion, label)`` (one row per class, in
    canonical order) and the macro ``emotion_label(code)`` on ``con``.

    The macro inlines the labels as a constant list (DuckDB folds it: indexing it per row
    costs what the literal list in a view did); the table is for joins and listings.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE emotions AS "
        "SELECT unnest($codes)::TINYINT AS emotion, unnest($labels) AS label",
        {"codes": list(EMOTION_CODES), "labels": list(EMOTIONS)},
    )
    labels = ", ".join(literal(label) for label in EMOTIONS)
    con.execute(f"CREATE OR REPLACE TEMP MACRO emotion_label(code) AS ([{labels}])[code]")
