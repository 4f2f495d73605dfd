"""The class vocabulary of a dataset: its class codes and labels, in the dataset's order.

A dataset's ingest records its vocabulary in the registry (``datasets``,
:class:`~mmemo.store.schema.Dataset`) before its first clips, and everything that needs class
names or the class order reads it from there: SQL through the session's ``emotions`` table and
``emotion_label(code)`` macro (:func:`create_vocabulary`, made from the registry's rows when a
session creates its views), Python through :func:`dataset_vocabulary`. RAVDESS's eight labels
are RAVDESS's data (:mod:`mmemo.corpora.ravdess`), not a constant of the store, so that another
corpus can bring its own.

A :class:`Vocabulary` is also the one place where a class code becomes a column of a score or
confusion matrix and back (:meth:`~Vocabulary.index_of`, :meth:`~Vocabulary.code_at`): a model
takes its vocabulary from the codes it is trained on (:meth:`~Vocabulary.of_codes`), a report
from the record.

>>> v = Vocabulary((5, 3), ("angry", "happy"))
>>> v.index_of([3, 5, 5]).tolist()
[1, 0, 0]
>>> v.code_at([0, 1]).tolist()
[5, 3]
>>> v.label_of(3)
'happy'
>>> Vocabulary.of_codes([8, 1, 8, 2]).codes
(1, 2, 8)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mmemo.errors import InputError, NotFoundError, StoreError, listing
from mmemo.sqltext import literal

if TYPE_CHECKING:  # importing a vocabulary must load neither duckdb nor numpy
    import duckdb
    import numpy as np

    from mmemo.store.session import Session


@dataclass(frozen=True)
class Vocabulary:
    """Classes in a fixed order: ``codes[i]`` is the code of column ``i`` (of a score or
    confusion matrix), ``labels[i]`` its name.

    Raises:
        InputError: codes and labels of different lengths, a code or a label named twice.
    """

    codes: tuple[int, ...]
    labels: tuple[str, ...]
    #: The dataset that records this vocabulary (None for one made from codes alone).
    dataset: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        codes, labels = tuple(int(c) for c in self.codes), tuple(str(x) for x in self.labels)
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "labels", labels)
        if len(codes) != len(labels):
            raise InputError(f"a vocabulary of {len(codes)} codes has {len(labels)} labels")
        for what, values in (("code", codes), ("label", labels)):
            twice = sorted({v for v in values if values.count(v) > 1}, key=str)
            if twice:
                raise InputError(f"class {what} {listing(twice)} named twice in a vocabulary")

    @classmethod
    def of_codes(cls, values: Any) -> Vocabulary:
        """The classes of a set of labels (a model's training labels), in ascending code
        order and named by their codes, as scikit-learn's ``classes_`` orders them."""
        import numpy as np

        codes = np.unique(_codes(values)).tolist()
        return cls(tuple(codes), tuple(str(c) for c in codes))

    @classmethod
    def from_record(cls, rows: Sequence[dict[str, Any]] | str) -> Vocabulary:
        """The vocabulary a registry row holds (:meth:`record`; JSON text as some drivers
        hand it back)."""
        if isinstance(rows, str):
            rows = json.loads(rows)
        return cls(tuple(r["code"] for r in rows), tuple(r["label"] for r in rows))

    def record(self) -> list[dict[str, Any]]:
        """The registry's form: ``[{"code": 1, "label": "neutral"}, ...]``, in order."""
        return [{"code": c, "label": x} for c, x in zip(self.codes, self.labels, strict=True)]

    def __len__(self) -> int:
        return len(self.codes)

    def index_of(self, values: Any) -> np.ndarray:
        """The column of each class code in ``values`` (an int64 array of their shape).

        Raises:
            InputError: a value is not an integer code, or a code is not in the vocabulary.
        """
        import numpy as np

        codes = _codes(values)
        known = np.asarray(self.codes, dtype=np.int64)
        order = np.argsort(known, kind="stable")
        at = np.clip(np.searchsorted(known[order], codes), 0, max(len(known) - 1, 0))
        found = known[order][at] == codes if len(known) else np.zeros(codes.shape, bool)
        if not np.all(found):
            unknown = sorted(set(codes[~found].tolist()))
            raise InputError(
                f"class code {listing(unknown)} is not in the vocabulary "
                f"({', '.join(map(str, self.codes))})"
            )
        return order[at]

    def code_at(self, index: Any) -> np.ndarray:
        """The class code of each column index in ``index`` (an int64 array of its shape).

        Raises:
            InputError: an index outside ``0..len - 1``.
        """
        import numpy as np

        index = np.asarray(index, dtype=np.int64)
        if index.size and (index.min() < 0 or index.max() >= len(self.codes)):
            raise InputError(f"class index outside 0..{len(self.codes) - 1}")
        return np.asarray(self.codes, dtype=np.int64)[index]

    def label_of(self, code: int) -> str:
        """The label of class ``code``.

        Raises:
            InputError: ``code`` is not in the vocabulary.
        """
        return self.labels[int(self.index_of(code))]


def _codes(values: Any) -> np.ndarray:
    """Class codes as an int64 array; whole-number floats are taken, anything else refused."""
    import numpy as np

    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        return array.astype(np.int64)
    raise InputError(f"class labels must be integer codes; got {array.dtype} values")


def read_records(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    """Every recorded dataset's registry rows (``[{"code", "label", ...}]``), by name (in name
    order); none on a registry that ``mmemo migrate`` has not brought to revision 0006 yet."""
    import duckdb

    try:
        rows = con.execute(
            "SELECT name, CAST(labels AS VARCHAR) FROM datasets ORDER BY name"
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return {name: json.loads(labels) for name, labels in rows}


def read_vocabularies(con: duckdb.DuckDBPyConnection) -> dict[str, Vocabulary]:
    """Every recorded dataset's vocabulary, by dataset name (in name order); none on a
    registry that ``mmemo migrate`` has not brought to revision 0006 yet."""
    return {
        name: replace(Vocabulary.from_record(rows), dataset=name)
        for name, rows in read_records(con).items()
    }


def dataset_vocabulary(con: duckdb.DuckDBPyConnection, dataset: str | None = None) -> Vocabulary:
    """The vocabulary of ``dataset`` (a run's ``dataset``), or of the store's one dataset when
    ``dataset`` is None (a run made before runs recorded theirs, a job choosing clips): with
    several recorded, that is refused, not guessed.

    Raises:
        NotFoundError: ``dataset`` is not recorded, or no dataset is (nothing ingested).
        InputError: no ``dataset`` given and the store records several.
    """
    found = read_vocabularies(con)
    if dataset is not None:
        if dataset not in found:
            recorded = listing(found) or "none"
            raise NotFoundError(f"dataset '{dataset}' is not in the store; recorded: {recorded}")
        return found[dataset]
    if not found:
        raise NotFoundError("the store records no dataset: ingest one first")
    if len(found) > 1:
        raise InputError(
            f"the store holds several datasets ({listing(found)}): name the one whose classes "
            "are meant"
        )
    return next(iter(found.values()))


def record_dataset(
    session: Session, name: str, vocabulary: Vocabulary, record: list[dict] | None = None
) -> None:
    """Record dataset ``name`` with its vocabulary: once (the same again changes nothing).
    ``record`` is what to store, when more than the vocabulary's rows (a label map's rows
    name the labels each class takes).

    Two ingests racing to record it: the registry's primary key lets one in and the other
    compares with what it wrote.

    Raises:
        StoreError: ``name`` is recorded with another vocabulary (a dataset's classes never
            change under clips that use them).
    """
    from sqlalchemy.exc import IntegrityError

    from mmemo.store.schema import Dataset

    with session.orm() as orm:
        found = orm.get(Dataset, name)
        if found is None:
            orm.add(Dataset(name=name, labels=record or vocabulary.record()))
            try:
                orm.commit()
                return
            except IntegrityError:
                orm.rollback()
                found = orm.get(Dataset, name)
        recorded = Vocabulary.from_record(found.labels) if found is not None else vocabulary
    if recorded != vocabulary:
        raise StoreError(
            f"dataset '{name}' is recorded with classes {_shown(recorded)}; this ingest has "
            f"{_shown(vocabulary)}"
        )


def _shown(vocabulary: Vocabulary) -> str:
    return ", ".join(f"{c} {x}" for c, x in zip(vocabulary.codes, vocabulary.labels, strict=True))


def create_vocabulary(con: duckdb.DuckDBPyConnection) -> None:
    """Create, from the registry's ``datasets``, the temporary table ``emotions(emotion,
    label, dataset)`` (each dataset's classes in its order) and the macro
    ``emotion_label(code, dataset := NAME)`` on ``con``.

    The macro is a ``CASE`` over the recorded codes (as fast per row as indexing a constant
    list, measured on 20 million rows, and right for codes that do not run 1..K). Where two
    datasets give one code different labels (RAVDESS's 1 is neutral, CREMA-D's angry), the
    label is the one of ``dataset``; without it, the first dataset by name names it.
    """
    records = read_records(con)
    rows = [(r["code"], r["label"], name) for name, found in records.items() for r in found]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE emotions (emotion TINYINT, label VARCHAR, dataset VARCHAR)"
    )
    _create_label_codes(con, records)
    if rows:
        con.execute(
            "INSERT INTO emotions SELECT unnest($codes), unnest($labels), unnest($datasets)",
            {
                "codes": [r[0] for r in rows],
                "labels": [r[1] for r in rows],
                "datasets": [r[2] for r in rows],
            },
        )
    by_code: dict[int, dict[str, str]] = {}
    for code, label, dataset in rows:
        by_code.setdefault(code, {})[dataset] = label
    cases = " ".join(f"WHEN {int(c)} THEN {_by_dataset(named)}" for c, named in by_code.items())
    body = f"CASE code {cases} END" if by_code else "CAST(NULL AS VARCHAR)"
    con.execute(f"CREATE OR REPLACE TEMP MACRO emotion_label(code, dataset := NULL) AS {body}")


def _create_label_codes(con: duckdb.DuckDBPyConnection, records: dict[str, list[dict]]) -> None:
    """The temporary table ``label_codes(map, dataset, code, target)``: for every label map
    recorded (rows that name the labels they take, ``from``) and every other dataset, the
    class each of the dataset's codes becomes in the map (codes it does not take: no row)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE label_codes "
        "(map VARCHAR, dataset VARCHAR, code TINYINT, target TINYINT)"
    )
    maps = {name: rows for name, rows in records.items() if rows and "from" in rows[0]}
    found = []
    for name, targets in maps.items():
        takes = {source: row["code"] for row in targets for source in row["from"]}
        for dataset, rows in records.items():
            if dataset in maps:
                continue
            for row in rows:
                target = takes.get(str(row["label"]).lower())
                if target is not None:
                    found.append((name, dataset, row["code"], target))
    if found:
        con.executemany("INSERT INTO label_codes VALUES (?, ?, ?, ?)", found)


def _by_dataset(labels: dict[str, str]) -> str:
    """The label of one code: a constant where every dataset agrees, else a ``CASE`` over
    the datasets (the first by name where none is given)."""
    first = literal(next(iter(labels.values())))
    if len(set(labels.values())) == 1:
        return first
    cases = " ".join(f"WHEN {literal(d)} THEN {literal(x)}" for d, x in labels.items())
    return f"CASE dataset {cases} ELSE {first} END"


__all__ = [
    "Vocabulary",
    "create_vocabulary",
    "dataset_vocabulary",
    "read_records",
    "read_vocabularies",
    "record_dataset",
]
