"""Reports and views read the class vocabulary from the dataset's record: a record with
another order and other names flows through to ``scored``, ``predictions`` and a run's
summary (class names, confusion rows and columns), with nothing else changed."""

from __future__ import annotations

import numpy as np

from mmemo.reports.report import summarize_runs
from mmemo.store.schema import Dataset


def _rewrite_record(store, labels: list[dict]) -> None:
    """Give the store's ``ravdess`` record other classes, as another corpus would bring."""
    with store.session(write=True) as s, s.orm() as orm:
        orm.get(Dataset, "ravdess").labels = labels
        orm.commit()


def test_a_record_in_another_order_with_other_names_orders_and_names_the_report(zeror_store):
    with zeror_store.session() as s:
        stored = dict(s.fetch("SELECT DISTINCT emotion, label FROM clips"))
        pairs = s.fetch(
            "SELECT true_emotion, predicted_emotion, count(*) FROM test_predictions "
            "WHERE run = 'zeror' GROUP BY ALL"
        )
    (before,) = summarize_runs(zeror_store, ["zeror"])
    codes = sorted(stored, reverse=True)  # surprised first ... neutral last
    record = [{"code": c, "label": stored[c].upper()} for c in codes]
    _rewrite_record(zeror_store, record)

    with zeror_store.session() as s:
        table = s.fetch("SELECT emotion, label FROM emotions")
        named = s.fetch(
            "SELECT DISTINCT predicted_emotion, predicted_label FROM predictions "
            "WHERE run = 'zeror'"
        )
    assert sorted(table) == sorted((r["code"], r["label"]) for r in record)
    assert named and all(label == stored[code].upper() for code, label in named)

    (after,) = summarize_runs(zeror_store, ["zeror"])
    assert after.labels == tuple(r["label"] for r in record)
    expected = np.zeros((len(codes), len(codes)), dtype=np.int64)
    for true, predicted, n in pairs:  # rows and columns in the record's order
        expected[codes.index(true), codes.index(predicted)] += n
    np.testing.assert_array_equal(after.confusion_sum, expected)
    assert (after.accuracy, after.ci95, after.n, after.folds) == (
        before.accuracy,
        before.ci95,
        before.n,
        before.folds,
    )
    assert {k.upper(): v for k, v in before.per_class.items()} == after.per_class
