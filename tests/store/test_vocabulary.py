"""The class vocabulary is the dataset's: recorded in the registry, read by SQL and Python,
and the one place a class code becomes a column and back."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import mmemo
from mmemo.errors import InputError, NotFoundError, StoreError
from mmemo.store.vocabulary import (
    Vocabulary,
    dataset_vocabulary,
    read_vocabularies,
    record_dataset,
)

#: RAVDESS's file names code the emotion as 01 = neutral ... 08 = surprised (Livingstone &
#: Russo, 2018): the columns of its scores are those codes less one.
RAVDESS_LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")


def test_ravdess_codes_are_their_columns_plus_one() -> None:
    ravdess = Vocabulary(tuple(range(1, 9)), RAVDESS_LABELS)
    codes = np.array([[1, 8], [5, 2]])
    np.testing.assert_array_equal(ravdess.index_of(codes), codes - 1)
    np.testing.assert_array_equal(ravdess.code_at(codes - 1), codes)
    assert [ravdess.label_of(c) for c in (1, 5, 8)] == ["neutral", "angry", "surprised"]


def test_a_vocabulary_in_another_order_maps_codes_to_its_own_columns() -> None:
    other = Vocabulary((8, 3, 1), ("surprised", "happy", "neutral"))
    assert other.index_of([1, 8, 3, 3]).tolist() == [2, 0, 1, 1]
    assert other.code_at([2, 0, 1]).tolist() == [1, 8, 3]
    assert other.index_of(np.array([3.0, 1.0])).tolist() == [1, 2]  # whole floats are codes
    assert other.index_of([]).tolist() == []
    assert Vocabulary.from_record(other.record()) == other
    assert Vocabulary.from_record('[{"code": 2, "label": "b"}]') == Vocabulary((2,), ("b",))
    assert Vocabulary.of_codes(np.array([9, 2, 9, 4])) == Vocabulary((2, 4, 9), ("2", "4", "9"))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Vocabulary((1, 2), ("a",)), "a vocabulary of 2 codes has 1 labels"),
        (lambda: Vocabulary((1, 1), ("a", "b")), "class code 1 named twice"),
        (lambda: Vocabulary((1, 2), ("a", "a")), "class label a named twice"),
        (lambda: Vocabulary((1, 2), ("a", "b")).index_of([2, 7, 9]), "class code 7, 9 is not in"),
        (lambda: Vocabulary((1, 2), ("a", "b")).index_of(["a"]), "must be integer codes"),
        (lambda: Vocabulary((1, 2), ("a", "b")).index_of([1.5]), "must be integer codes"),
        (lambda: Vocabulary((1, 2), ("a", "b")).code_at([2]), r"class index outside 0\.\.1"),
        (lambda: Vocabulary((1, 2), ("a", "b")).label_of(3), "class code 3 is not in"),
        (lambda: Vocabulary((), ()).index_of([1]), r"class code 1 is not in the vocabulary \(\)"),
    ],
)
def test_bad_vocabularies_and_codes_are_one_line_errors(make, message: str) -> None:
    with pytest.raises(InputError, match=message):
        make()


def test_a_dataset_is_recorded_once_and_never_with_other_classes(store) -> None:
    ravdess = Vocabulary(tuple(range(1, 9)), RAVDESS_LABELS)
    with store.session() as s:
        assert read_vocabularies(s.con) == {}
        with pytest.raises(NotFoundError, match="records no dataset"):
            dataset_vocabulary(s.con)
    with store.session(write=True) as s:
        record_dataset(s, "ravdess", ravdess)
        record_dataset(s, "ravdess", ravdess)  # the same again: nothing changes
        with pytest.raises(StoreError, match="'ravdess' is recorded with classes 1 neutral, 2"):
            record_dataset(s, "ravdess", Vocabulary((1, 2), ("neutral", "calm")))
    with store.session() as s:
        assert read_vocabularies(s.con) == {"ravdess": ravdess}
        assert dataset_vocabulary(s.con) == dataset_vocabulary(s.con, "ravdess") == ravdess
        with pytest.raises(NotFoundError, match="dataset 'crema' is not in the store; recorded"):
            dataset_vocabulary(s.con, "crema")


def test_the_sql_vocabulary_lists_every_dataset_and_the_first_names_a_shared_code(store):
    """Two recorded datasets: ``emotions`` holds both; runs do not record their dataset yet,
    so Python refuses to guess and the macro names a code by the first dataset by name."""
    with store.session(write=True) as s:
        record_dataset(s, "ravdess", Vocabulary(tuple(range(1, 9)), RAVDESS_LABELS))
        record_dataset(s, "cremad", Vocabulary((3, 1, 20), ("happy", "anger", "sad")))
    with store.session() as s:
        table = s.fetch("SELECT dataset, emotion, label FROM emotions")
        named = s.fetch("SELECT emotion_label(1), emotion_label(2), emotion_label(20)")
        with pytest.raises(InputError, match=r"several datasets \(cremad, ravdess\)"):
            dataset_vocabulary(s.con)
    assert sorted(table) == sorted(
        [("cremad", 3, "happy"), ("cremad", 1, "anger"), ("cremad", 20, "sad")]
        + [("ravdess", i, x) for i, x in enumerate(RAVDESS_LABELS, start=1)]
    )
    assert named == [("anger", "calm", "sad")]


#: Where a corpus's constants may be used: its own module (RAVDESS's, CREMA-D's), the synthetic
#: corpora that write their files (synthetic CREMA-D takes borrow RAVDESS's synthetic voices by
#: label), and the reproduction of a paper on RAVDESS (its tables' per-class cells are
#: RAVDESS's labels); the migration, outside the package, spells them out. Everything else
#: reads the dataset's record.
ALLOWED = {
    "corpora/ravdess.py",
    "corpora/crema_d.py",
    "corpora/synth/recordings.py",
    "corpora/synth/crema_d.py",
    "corpora/synth/manifest.py",
    "corpora/synth/iemocap.py",
    "reports/reproduce.py",
}


def test_ravdess_constants_are_used_only_where_they_are_ravdess_data() -> None:
    root = Path(mmemo.__file__).parent
    uses = {
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if re.search(r"\bEMOTION(S|_CODES)\b", path.read_text(encoding="utf-8"))
    }
    assert uses <= ALLOWED, sorted(uses - ALLOWED)
