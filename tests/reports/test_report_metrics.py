from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import f1_score, recall_score

from mmemo.corpora.ravdess import EMOTIONS
from mmemo.errors import InputError
from mmemo.reports.metrics import FoldPredictions, ci95, summarize, zeror


def _zeror_folds(labels: list[np.ndarray]) -> list[FoldPredictions]:
    folds = []
    for k, y_true in enumerate(labels):
        train = np.concatenate([y for j, y in enumerate(labels) if j != k])
        majority = int(np.argmax(np.bincount(train, minlength=8)))
        assert EMOTIONS[majority] == "calm"
        folds.append(FoldPredictions(k, y_true, np.full_like(y_true, majority)))
    return folds


def test_zeror_known_answer(fold_labels) -> None:
    s = summarize("ZeroR", _zeror_folds(fold_labels), labels=EMOTIONS)
    assert s.n == 1440
    assert f"{s.accuracy:.2f} ± {s.ci95:.2f}" == "13.33 ± 1.76"
    assert s.folds == pytest.approx([40 / 300 * 100] * 4 + [32 / 240 * 100])
    assert s.per_class["calm"]["recall"] == 100.0
    assert s.per_class["neutral"]["precision"] == 0.0  # never predicted -> 0 by definition


def test_zeror_from_fold_support_matches(fold_labels) -> None:
    s = summarize("x", _zeror_folds(fold_labels), labels=EMOTIONS)
    z = zeror(s.fold_support)
    assert z.accuracy == pytest.approx(s.accuracy)
    assert z.ci95 == pytest.approx(s.ci95)
    assert np.array_equal(z.confusion_sum, s.confusion_sum)


def test_ci_formula() -> None:
    assert ci95(50.0, 100) == pytest.approx(9.8)
    p = 0.6022
    assert ci95(60.22, 1440) == pytest.approx(1.96 * math.sqrt(p * (1 - p) / 1440) * 100)
    assert round(ci95(60.22, 1440), 2) == 2.53  # paper, Table 2
    assert round(ci95(81.82, 1440), 2) == 1.99  # paper, Table 1
    with pytest.raises(InputError):
        ci95(50.0, 0)


def _hand_example():
    folds = [
        FoldPredictions(0, np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 2, 0])),
        FoldPredictions(1, np.array([0, 1, 2, 2]), np.array([0, 0, 0, 2])),
    ]
    return summarize("hand", folds, n_classes=3, labels=["a", "b", "c"])


def test_per_class_hand_checked() -> None:
    s = _hand_example()
    assert s.accuracy == pytest.approx((4 / 6 + 2 / 4) / 2 * 100)
    assert s.n == 10
    expected = {
        "a": (5 / 12, 3 / 4, (4 / 6 + 2 / 4) / 2),
        "b": (1 / 3, 1 / 2, (5 / 6 + 3 / 4) / 2),  # fold 1 never predicts b: precision 0
        "c": (1.0, 1 / 2, (5 / 6 + 3 / 4) / 2),
    }
    for label, (prec, rec, acc) in expected.items():
        got = s.per_class[label]
        assert got["precision"] == pytest.approx(prec * 100)
        assert got["recall"] == pytest.approx(rec * 100)
        assert got["accuracy"] == pytest.approx(acc * 100)


def test_confusion_sum_and_mean() -> None:
    s = _hand_example()
    expected_sum = np.array([[2, 1, 0], [1, 2, 0], [2, 0, 2]])
    assert np.array_equal(s.confusion_sum, expected_sum)
    assert np.allclose(s.confusion_mean, expected_sum / 2)
    assert s.fold_confusion.shape == (2, 3, 3)


def test_uar_and_macro_f1_match_sklearn(make_folds) -> None:
    folds = make_folds(0.55, seed=3)
    # A fold that never predicts two classes and a fold without class 7 in its test part.
    y = folds[1].y_true
    folds[1] = FoldPredictions(1, y, np.where(np.isin(y, [2, 3]), 0, y))
    keep = folds[2].y_true != 7
    folds[2] = FoldPredictions(2, folds[2].y_true[keep], folds[2].y_pred[keep] % 7)
    s = summarize("r", folds, labels=EMOTIONS)
    uar = (
        np.mean([recall_score(f.y_true, f.y_pred, average="macro", zero_division=0) for f in folds])
        * 100
    )
    f1 = (
        np.mean([f1_score(f.y_true, f.y_pred, average="macro", zero_division=0) for f in folds])
        * 100
    )
    assert s.uar == pytest.approx(uar)
    assert s.macro_f1 == pytest.approx(f1)


def test_uar_skips_classes_absent_from_the_fold() -> None:
    # Class 2 is predicted but never true: it has no recall (left out of UAR), F1 = 0.
    y_true, y_pred = np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1])
    s = summarize("r", [FoldPredictions(0, y_true, y_pred)], n_classes=3)
    assert s.uar == pytest.approx((0.5 + 1.0) / 2 * 100)
    assert math.isnan(s.per_class["2"]["recall"])
    assert s.to_json(per_class=True)["per_class"]["2"]["recall"] is None
    assert s.macro_f1 == pytest.approx(f1_score(y_true, y_pred, average="macro") * 100)


def test_to_json_keys() -> None:
    s = _hand_example()
    assert list(s.to_json()) == ["run", "accuracy", "ci95", "n", "folds", "uar", "macro_f1"]
    with_pc = s.to_json(per_class=True)
    assert set(with_pc["per_class"]["a"]) == {"precision", "recall", "accuracy"}


def test_folds_are_sorted_and_the_given_labels_name_the_classes(make_folds) -> None:
    folds = make_folds(0.5, seed=1)[::-1]
    s = summarize("r", folds, labels=EMOTIONS)
    assert s.fold_ids == [0, 1, 2, 3, 4]
    assert s.labels == EMOTIONS
    assert list(s.per_class) == list(EMOTIONS)


def test_without_labels_the_classes_are_numbered_and_their_number_is_needed(make_folds) -> None:
    """No vocabulary in the metrics: the caller (the report, from the dataset's record)
    names the classes; without names they are numbered, and without a number refused."""
    folds = make_folds(0.5, seed=1)
    assert summarize("r", folds, n_classes=8).labels == tuple("01234567")
    with pytest.raises(InputError, match="give the class labels or their number"):
        summarize("r", folds)


def test_counts_give_the_numbers_of_the_clips_they_stand_for(make_folds) -> None:
    """The report sends distinct (true, predicted) pairs with their clip counts."""
    folds = make_folds(0.6, seed=4)
    counted = []
    for f in folds:
        pairs, n = np.unique(np.stack([f.y_true, f.y_pred]), axis=1, return_counts=True)
        counted.append(FoldPredictions(f.fold, pairs[0], pairs[1], counts=n))
    a, b = summarize("clips", folds, n_classes=8), summarize("counts", counted, n_classes=8)
    assert b.n == a.n == sum(f.y_true.size for f in folds)
    assert np.array_equal(a.fold_confusion, b.fold_confusion)
    assert (b.accuracy, b.ci95, b.uar, b.macro_f1, b.folds) == (
        a.accuracy,
        a.ci95,
        a.uar,
        a.macro_f1,
        a.folds,
    )
    assert b.to_json(per_class=True)["per_class"] == a.to_json(per_class=True)["per_class"]


def test_zero_counts_stand_for_no_clip() -> None:
    # Class 2 only appears with count 0: it must not enter macro-F1's label set (F1 0 there).
    y_true, y_pred = np.array([0, 0, 1]), np.array([0, 1, 1])
    plain = summarize("r", [FoldPredictions(0, y_true, y_pred)], n_classes=3)
    zero = np.array([1, 1, 1, 0])
    pairs = FoldPredictions(0, np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), zero)
    counted = summarize("r", [pairs], n_classes=3)
    assert counted.macro_f1 == plain.macro_f1 == pytest.approx((2 / 3 + 2 / 3) / 2 * 100)
    assert counted.n == 3


@pytest.mark.parametrize(
    ("folds", "message"),
    [
        ([], "no folds"),
        ([FoldPredictions(0, np.array([0, 1]), np.array([0]))], "y_pred 1"),
        ([FoldPredictions(0, np.array([0, 9]), np.array([0, 1]))], "outside 0..7"),
        ([FoldPredictions(0, np.array([], int), np.array([], int))], "no test clips"),
        (
            [FoldPredictions(0, np.array([0]), np.array([0]))] * 2,
            "fold numbers repeat",
        ),
        (
            [FoldPredictions(0, np.array([0, 1]), np.array([0, 1]), counts=np.array([2]))],
            "one clip count per label",
        ),
        (
            [FoldPredictions(0, np.array([0, 1]), np.array([0, 1]), counts=np.array([2, -1]))],
            "non-negative whole numbers",
        ),
        (
            [FoldPredictions(0, np.array([0]), np.array([1]), counts=np.array([0]))],
            "no test clips",
        ),
    ],
)
def test_invalid_input(folds, message: str) -> None:
    with pytest.raises(InputError, match=message):
        summarize("bad", folds, labels=EMOTIONS)
