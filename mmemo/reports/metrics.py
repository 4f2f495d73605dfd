"""Cross-validation metrics in the shape Luna-Jiménez et al. (2022) report them.

Everything here works on plain arrays: a job (or the store layer) hands in the test-part
predictions of each fold as class indices (the columns of the dataset's vocabulary, as
:meth:`mmemo.store.vocabulary.Vocabulary.index_of` gives them) with the labels that name them,
and gets back a :class:`RunSummary`. A fold may come as
one entry per clip or, as the report sends it, as the distinct (true, predicted) pairs with the
number of clips of each (``counts``): every metric here depends on the fold's confusion matrix
only, so the counts go to scikit-learn as ``sample_weight`` and give the same numbers as the
clips themselves.

scikit-learn computes the metrics (``confusion_matrix``, ``balanced_accuracy_score`` for UAR,
``f1_score`` for macro-F1, ``precision_recall_fscore_support`` per class); what is written here
is the paper's part: the 95% interval, the per-fold averaging and the one-vs-rest accuracy.
The price is scikit-learn's argument checking, a few milliseconds per call: on this 2-core
machine under load, 20 runs of 5 folds took 2.5 s against 0.05 s for the NumPy code this
replaced, and importing ``sklearn.metrics`` 2.4 s. ``mmemo report`` pays both; ``mmemo --help``
neither, since the import happens inside :func:`summarize`.

Definitions (paper §3.1, §5, Table 3; DESIGN.md "Metrics"):

* ``accuracy``: mean over folds of the per-fold test accuracy, in %.
* ``ci95``: half-width of the 95% normal-approximation binomial interval,
  ``1.96 * sqrt(p * (1 - p) / N) * 100`` with ``p = accuracy / 100`` and ``N`` the number of
  clips evaluated over all folds (1,440 for RAVDESS audio-visual speech).
* ``uar``: unweighted average recall, per fold the mean recall over the classes that occur in
  that fold's test part, then averaged over folds.
* ``macro_f1``: per fold the mean F1 over the classes that occur in the fold's true or
  predicted labels (scikit-learn's default label set), then averaged over folds.
* ``per_class``: precision, recall and one-vs-rest accuracy of each class, in %, averaged over
  folds. Precision of a class that a fold never predicts is taken as 0 (scikit-learn's
  ``zero_division=0``); recall of a class absent from a fold's test part is undefined and that
  fold is left out of the class's recall average (NaN if it is absent from every fold).
* ``confusion_sum`` / ``confusion_mean``: the confusion matrix (rows = true, columns =
  predicted) summed over folds and averaged over folds.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmemo.errors import InputError

#: z value of the two-sided 95% normal interval, as the paper uses it.
Z95 = 1.96
#: Per-class metric names, in the row order of the paper's Table 3.
PER_CLASS_METRICS: tuple[str, ...] = ("precision", "recall", "accuracy")


@dataclass
class FoldPredictions:
    """The test-part predictions of one fold.

    Attributes:
        fold: Fold number (0-based, as in the paper).
        y_true: True class indices, shape ``(n,)``: columns of the dataset's vocabulary
            (RAVDESS: 0 = neutral ... 7 = surprised).
        y_pred: Predicted class indices, aligned with ``y_true``.
        counts: How many test clips each (``y_true``, ``y_pred``) entry stands for, aligned
            with ``y_true``; ``None`` means one clip each. Entries with count 0 are ignored.
    """

    fold: int
    y_true: np.ndarray
    y_pred: np.ndarray
    counts: np.ndarray | None = None


@dataclass
class RunSummary:
    """Cross-validated results of one run (see the module docstring for the definitions).

    Attributes:
        run: Name of the run.
        accuracy: Mean per-fold accuracy, % (unrounded).
        ci95: Half-width of the 95% binomial interval, % points.
        n: Number of clips evaluated over all folds.
        folds: Per-fold accuracy, %, in fold order.
        uar: Unweighted average recall, %, mean over folds.
        macro_f1: Macro F1, %, mean over folds.
        per_class: ``{label: {"precision", "recall", "accuracy"}}`` in %, mean over folds.
        fold_confusion: Confusion matrix of every fold, shape ``(n_folds, C, C)``.
        fold_ids: Fold numbers, aligned with ``folds`` and ``fold_confusion``.
        labels: Class labels, in the order of the class indices (the dataset's).
    """

    run: str
    accuracy: float
    ci95: float
    n: int
    folds: list[float]
    uar: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]
    fold_confusion: np.ndarray = field(repr=False)
    fold_ids: list[int] = field(default_factory=list)
    labels: tuple[str, ...] = ()

    @property
    def confusion_sum(self) -> np.ndarray:
        """Confusion matrix summed over folds (rows = true, columns = predicted)."""
        return self.fold_confusion.sum(axis=0)

    @property
    def confusion_mean(self) -> np.ndarray:
        """Confusion matrix averaged over folds, as in the paper's Figures 5, 6 and 8."""
        return self.fold_confusion.mean(axis=0)

    @property
    def fold_support(self) -> np.ndarray:
        """Number of test clips of each class in each fold, shape ``(n_folds, C)``."""
        return self.fold_confusion.sum(axis=2)

    def to_json(self, *, per_class: bool = False) -> dict[str, Any]:
        """Return the summary as a JSON-ready dict.

        Args:
            per_class: Add the ``per_class`` table (undefined values become ``None``).

        Returns:
            A dict with keys ``run``, ``accuracy``, ``ci95``, ``n``, ``folds``, ``uar``,
            ``macro_f1`` and, when asked, ``per_class``.
        """
        out: dict[str, Any] = {
            "run": self.run,
            "accuracy": self.accuracy,
            "ci95": self.ci95,
            "n": self.n,
            "folds": list(self.folds),
            "uar": self.uar,
            "macro_f1": self.macro_f1,
        }
        if per_class:
            out["per_class"] = {
                label: {k: (None if math.isnan(v) else v) for k, v in metrics.items()}
                for label, metrics in self.per_class.items()
            }
        return out


def ci95(accuracy: float, n: int) -> float:
    """Half-width of the 95% normal-approximation binomial interval, in % points.

    Args:
        accuracy: Accuracy in %.
        n: Number of evaluated clips.

    Returns:
        ``1.96 * sqrt(p * (1 - p) / n) * 100`` with ``p = accuracy / 100``.

    Raises:
        InputError: ``n`` is not positive or ``accuracy`` is outside [0, 100].
    """
    if n <= 0:
        raise InputError(f"confidence interval needs at least one clip; got n={n}")
    if not 0.0 <= accuracy <= 100.0:
        raise InputError(f"accuracy must be a percentage in [0, 100]; got {accuracy}")
    p = accuracy / 100.0
    return Z95 * math.sqrt(p * (1.0 - p) / n) * 100.0


def _labels_array(values: np.ndarray, what: str, fold: int, n_classes: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(f"fold {fold}: {what} must be 1-D; got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer) and not np.all(np.mod(arr, 1) == 0):
        raise InputError(f"fold {fold}: {what} must hold class indices (integers)")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        raise InputError(
            f"fold {fold}: {what} has class indices outside 0..{n_classes - 1} "
            f"(min {arr.min()}, max {arr.max()})"
        )
    return arr


def _counts_array(fp: FoldPredictions, size: int) -> np.ndarray:
    if fp.counts is None:
        return np.ones(size, dtype=np.int64)
    arr = np.asarray(fp.counts)
    if arr.shape != (size,):
        raise InputError(
            f"fold {fp.fold}: counts must give one clip count per label; got shape {arr.shape} "
            f"for {size} label(s)"
        )
    if arr.size and (np.any(arr < 0) or not np.all(np.mod(arr, 1) == 0)):
        raise InputError(f"fold {fp.fold}: counts must be non-negative whole numbers")
    return arr.astype(np.int64)


def _fold_scores(
    y_true: np.ndarray, y_pred: np.ndarray, counts: np.ndarray, n_classes: int
) -> dict[str, Any]:
    """Confusion matrix, accuracy, UAR, macro-F1 and per-class metrics of one fold.

    ``counts`` are the clips behind each (true, predicted) entry (all positive here), passed to
    scikit-learn as ``sample_weight``.
    """
    from sklearn.metrics import (
        balanced_accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    labels = np.arange(n_classes)
    cm = confusion_matrix(y_true, y_pred, labels=labels, sample_weight=counts)
    total = cm.sum()
    precision, recall, _, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, sample_weight=counts, average=None, zero_division=0
    )
    with warnings.catch_warnings():
        # Classes predicted but absent from the fold's test part have no recall; scikit-learn
        # leaves them out of the mean (as defined above) and warns about it, as it does when
        # a fold holds a single class (no `labels` argument here: UAR is over present classes).
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        warnings.filterwarnings("ignore", message="A single label was found")
        uar = balanced_accuracy_score(y_true, y_pred, sample_weight=counts)
    # Default labels: the classes present in the fold's true or predicted labels.
    macro_f1 = f1_score(y_true, y_pred, average="macro", sample_weight=counts, zero_division=0)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    return {
        "confusion": cm,
        "accuracy": tp.sum() / total * 100.0,
        "uar": float(uar) * 100.0,
        "macro_f1": float(macro_f1) * 100.0,
        "precision": precision * 100.0,
        "recall": np.where(support > 0, recall, np.nan) * 100.0,
        "ovr_accuracy": (total - fp - fn) / total * 100.0,
    }


def summarize(
    run: str,
    folds: Sequence[FoldPredictions],
    *,
    n_classes: int | None = None,
    labels: Sequence[str] | None = None,
) -> RunSummary:
    """Summarize the test predictions of every fold of a run.

    Args:
        run: Name of the run.
        folds: One :class:`FoldPredictions` per fold; fold numbers must be distinct.
        n_classes: Number of classes; defaults to the number of ``labels``.
        labels: Class labels in index order (the dataset's vocabulary: the report reads it
            from the dataset's record); defaults to ``"0"``, ``"1"``, ... of ``n_classes``.

    Returns:
        The :class:`RunSummary` (folds sorted by fold number).

    Raises:
        InputError: no folds, an empty fold, repeated fold numbers, misaligned arrays, class
            indices out of range or negative counts; neither ``labels`` nor ``n_classes``.
    """
    if not folds:
        raise InputError(f"run '{run}': no folds to summarize")
    if n_classes is None:
        if labels is None:
            raise InputError(f"run '{run}': give the class labels or their number")
        n_classes = len(labels)
    if labels is None:
        labels = tuple(str(i) for i in range(n_classes))
    if len(labels) != n_classes:
        raise InputError(f"run '{run}': {len(labels)} labels given for {n_classes} classes")
    ids = [f.fold for f in folds]
    if len(set(ids)) != len(ids):
        raise InputError(f"run '{run}': fold numbers repeat: {sorted(ids)}")

    matrices = []
    scores = []
    for fp in sorted(folds, key=lambda f: f.fold):
        y_true = _labels_array(fp.y_true, "y_true", fp.fold, n_classes)
        y_pred = _labels_array(fp.y_pred, "y_pred", fp.fold, n_classes)
        if y_true.shape != y_pred.shape:
            raise InputError(
                f"run '{run}', fold {fp.fold}: y_true has {y_true.size} labels, "
                f"y_pred {y_pred.size}"
            )
        counts = _counts_array(fp, y_true.size)
        seen = counts > 0
        if not np.any(seen):
            raise InputError(f"run '{run}', fold {fp.fold}: no test clips")
        score = _fold_scores(y_true[seen], y_pred[seen], counts[seen], n_classes)
        matrices.append(score["confusion"])
        scores.append(score)

    fold_acc = [float(s["accuracy"]) for s in scores]
    accuracy = float(np.mean(fold_acc))
    n = int(sum(int(cm.sum()) for cm in matrices))
    precision = np.mean([s["precision"] for s in scores], axis=0)
    recalls = np.array([s["recall"] for s in scores])
    recall = np.full(n_classes, np.nan)
    has_recall = ~np.all(np.isnan(recalls), axis=0)
    recall[has_recall] = np.nanmean(recalls[:, has_recall], axis=0)
    ovr = np.mean([s["ovr_accuracy"] for s in scores], axis=0)
    per_class = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "accuracy": float(ovr[i]),
        }
        for i, label in enumerate(labels)
    }
    return RunSummary(
        run=run,
        accuracy=accuracy,
        ci95=ci95(accuracy, n),
        n=n,
        folds=fold_acc,
        uar=float(np.mean([s["uar"] for s in scores])),
        macro_f1=float(np.mean([s["macro_f1"] for s in scores])),
        per_class=per_class,
        fold_confusion=np.stack(matrices),
        fold_ids=sorted(ids),
        labels=tuple(labels),
    )


def zeror(
    fold_support: np.ndarray,
    *,
    run: str = "ZeroR",
    labels: Sequence[str] | None = None,
) -> RunSummary:
    """The ZeroR baseline: every test clip gets its fold's training-majority class.

    The training part of a fold is taken to be the test parts of all the other folds, which
    holds for subject-wise cross-validation over one clip set (every clip is tested exactly
    once). Ties go to the first class in the vocabulary's order (``calm`` on RAVDESS speech, where
    seven classes tie and ``neutral`` has half as many clips).

    Args:
        fold_support: Test clips per class in each fold, shape ``(n_folds, C)`` — for example
            :attr:`RunSummary.fold_support` of any run on the same folds.
        run: Name of the baseline run.
        labels: Class labels, as in :func:`summarize`.

    Returns:
        The :class:`RunSummary` of the baseline.

    Raises:
        InputError: ``fold_support`` is not a 2-D array of non-negative counts.
    """
    counts = np.asarray(fold_support)
    if counts.ndim != 2 or counts.shape[0] == 0 or counts.shape[1] == 0:
        raise InputError(f"fold_support must have shape (n_folds, n_classes); got {counts.shape}")
    if np.any(counts < 0) or not np.all(np.mod(counts, 1) == 0):
        raise InputError("fold_support must hold non-negative clip counts")
    counts = counts.astype(np.int64)
    total = counts.sum(axis=0)
    n_classes = counts.shape[1]
    folds = []
    classes = np.arange(n_classes)
    for k, row in enumerate(counts):
        majority = int(np.argmax(total - row))
        folds.append(FoldPredictions(k, classes, np.full_like(classes, majority), counts=row))
    return summarize(run, folds, n_classes=n_classes, labels=labels)
