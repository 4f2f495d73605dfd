"""A corpus stored as an audformat database (the audb/audformat convention): ``mmemo ingest
audformat ROOT``, read with the ``audformat`` package (``pip install 'mmemo[audformat]'``).

audformat keeps a database's media beside a ``db.yaml`` header and its tables; each column
follows a scheme. The adapter asks the database for three schemes over its files
(``Database.get``, which also reads labels that hang off another scheme, such as a speaker's
gender): the class (``--label-scheme``, default ``emotion``), the speaker (``speaker``) and,
where it has one, ``gender``. The classes are the label scheme's labels in its order; clip ids
are ``DATASET:FILE`` with the file as the database names it. Segmented tables (start and end
times within a file) are refused: a clip is a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmemo.corpora.adapters import register_corpus
from mmemo.corpora.classes import ALIASES
from mmemo.corpora.manifest import ManifestAdapter, ManifestOptions
from mmemo.errors import InputError, MissingDependencyError


@register_corpus
class AudformatAdapter(ManifestAdapter):
    """An audformat database (see the module docstring)."""

    name = "audformat"
    title = "audformat"

    def __init__(
        self,
        root: Path | None = None,
        dataset: str | None = None,
        *,
        label_scheme: str = "emotion",
        speaker_scheme: str = "speaker",
    ):
        if root is None:
            super().__init__()
            return
        try:
            import audformat
        except ImportError:
            raise MissingDependencyError("audformat", "audformat") from None
        import pyarrow as pa

        root = Path(root).expanduser().absolute()
        try:
            db = audformat.Database.load(str(root), load_data=True)
        except Exception as exc:  # noqa: BLE001 - any failure to read the header: one line
            raise InputError(f"{root}: not an audformat database ({exc})") from None
        labels = _scheme(db, root, label_scheme)
        speakers = _scheme(db, root, speaker_scheme).reindex(labels.index)
        try:
            genders = db.get("gender").reindex(labels.index)["gender"].tolist()
        except Exception:  # noqa: BLE001 - no gender anywhere in the database: none recorded
            genders = [None] * len(labels)
        files = [str(f) for f in labels.index]
        label_values = [_label(x) for x in labels[label_scheme].tolist()]
        table = pa.table(
            {
                "path": files,
                "label": label_values,
                "speaker": [None if _missing(s) else str(s) for s in speakers[speaker_scheme]],
                "gender": [None if _missing(g) else str(g) for g in genders],
                "key": [f.replace("\\", "/") for f in files],
            }
        )
        scheme = db.schemes[label_scheme]
        declared = [_label(x) for x in (scheme.labels or [])] if scheme.labels else []
        present = set(label_values) - {""}
        order = tuple(x for x in declared if x in present) or tuple(sorted(present))
        options = ManifestOptions(
            dataset=dataset or str(db.name).lower(),
            path_column="path",
            label_column="label",
            speaker_column="speaker",
            gender_column="gender",
            key_column="key",
            root=root,
            labels=order,
        )
        super().__init__(root / "db.yaml", options, table=table)
        self.title = f"audformat {options.dataset}"


def _scheme(db: Any, root: Path, scheme: str) -> Any:
    """The values of ``scheme`` per file.

    Raises:
        InputError: the database has no such scheme, or it is segmented.
    """
    import pandas as pd

    if scheme not in db.schemes:
        raise InputError(f"{root}: no scheme {scheme!r}; it has {', '.join(db.schemes)}")
    frame = db.get(scheme)
    if isinstance(frame.index, pd.MultiIndex):
        raise InputError(
            f"{root}: scheme {scheme!r} is in segmented tables; mmemo takes a file per clip"
        )
    return frame


def _label(value: Any) -> str:
    if _missing(value):
        return ""
    key = str(value).strip().lower()
    return ALIASES.get(key, key)


def _missing(value: Any) -> bool:
    return value is None or value != value  # None, or NaN
