"""Unit tests of ``mmemo.fusion.late``: the paper's logistic-regression fusion of one fold and
the rule-based alternatives, on small arrays (no store)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from mmemo.errors import InputError
from mmemo.fusion.late import METHODS, NORMS, combine_rule, fit_logreg_fold, to_probabilities


def _fold(seed: int = 0, n_train: int = 40, n_test: int = 12, width: int = 6, classes=(1, 3, 5)):
    """Concatenated scores of two 3-class runs for one fold; rows of a class share a centre."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 2.0, size=(len(classes), width))
    y_train = np.array([classes[i % len(classes)] for i in range(n_train)])
    y_test = np.array([classes[i % len(classes)] for i in range(n_test)])
    index = {c: k for k, c in enumerate(classes)}

    def rows(y: np.ndarray) -> np.ndarray:
        return np.array([centres[index[c]] for c in y]) + rng.normal(0.0, 0.5, (len(y), width))

    return rows(y_train), y_train, rows(y_test), y_test


# -- the logistic regression of one fold ------------------------------------------------------


def test_min_max_scaler_is_fitted_on_the_training_rows_only() -> None:
    X_train, y_train, X_test, _ = _fold()
    X_test = X_test * 10.0  # far outside the training range
    result = fit_logreg_fold(X_train, y_train, X_test)
    scaler = result.model[0]
    assert isinstance(scaler, MinMaxScaler)
    np.testing.assert_array_equal(scaler.data_min_, X_train.min(axis=0))
    np.testing.assert_array_equal(scaler.data_max_, X_train.max(axis=0))
    assert scaler.n_samples_seen_ == len(X_train)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    X_train=arrays(
        np.float64,
        (12, 3),
        elements=st.floats(-100, 100, allow_nan=False, allow_infinity=False, width=32),
        unique=True,
    ),
    beyond=st.floats(0.5, 50.0),
)
def test_test_rows_outside_the_training_range_leave_zero_one(
    X_train: np.ndarray, beyond: float
) -> None:
    """Scaling uses the training part's minimum and maximum, so test values beyond them scale
    to below 0 or above 1 (linearly), and training values stay within [0, 1]."""
    y_train = np.array([0, 1] * 6)
    low, high = X_train.min(axis=0), X_train.max(axis=0)
    span = high - low
    # a span of a few float32 ulps (distinct values 1e-30 apart) leaves nothing to compare at
    # rtol 1e-6 once scaled: the property is about real ranges
    assume(span.min() > 1e-3)
    X_test = np.vstack([high + beyond * span, low - beyond * span])
    scaler = fit_logreg_fold(X_train, y_train, X_test).model[0]
    train_scaled = scaler.transform(X_train)
    # MinMaxScaler computes (x - min) * scale + offset: the maximum may land an ulp above 1
    eps = 4 * np.finfo(np.float64).eps
    assert train_scaled.min() >= -eps and train_scaled.max() <= 1.0 + eps
    test_scaled = scaler.transform(X_test)
    np.testing.assert_allclose(test_scaled[0], 1.0 + beyond, rtol=1e-6)
    np.testing.assert_allclose(test_scaled[1], -beyond, rtol=1e-6, atol=1e-9)


def test_test_rows_do_not_change_the_fitted_model() -> None:
    X_train, y_train, X_test, _ = _fold()
    a = fit_logreg_fold(X_train, y_train, X_test)
    b = fit_logreg_fold(X_train, y_train, X_test[:3] * -7.0 + 3.0)
    np.testing.assert_array_equal(a.train_scores, b.train_scores)
    np.testing.assert_array_equal(a.model[-1].coef_, b.model[-1].coef_)
    np.testing.assert_array_equal(a.model.predict_proba(X_test), a.test_scores)


def test_logistic_regression_defaults_are_scikit_learns_with_c_one() -> None:
    X_train, y_train, X_test, _ = _fold()
    classifier = fit_logreg_fold(X_train, y_train, X_test, seed=7).model[-1]
    assert isinstance(classifier, LogisticRegression)
    assert classifier.C == 1.0
    assert classifier.get_params() == LogisticRegression(C=1.0, random_state=7).get_params()
    other = fit_logreg_fold(X_train, y_train, X_test, C=0.01).model[-1]
    assert other.C == 0.01


def test_fold_scores_equal_a_hand_built_pipeline() -> None:
    """Fit on the fold's training rows, evaluate on its test rows: the same numbers as min-max
    scaling plus a logistic regression fitted by hand."""
    X_train, y_train, X_test, y_test = _fold(seed=3)
    result = fit_logreg_fold(X_train, y_train, X_test)
    scaler = MinMaxScaler().fit(X_train)
    reference = LogisticRegression(C=1.0, random_state=2020).fit(scaler.transform(X_train), y_train)
    np.testing.assert_allclose(
        result.train_scores, reference.predict_proba(scaler.transform(X_train))
    )
    np.testing.assert_allclose(
        result.test_scores, reference.predict_proba(scaler.transform(X_test))
    )
    assert result.kind == "probs"
    assert result.test_scores.shape == (len(X_test), 3)
    np.testing.assert_allclose(result.test_scores.sum(axis=1), 1.0)
    # well-separated synthetic classes: the fold's test rows are (nearly) all right
    assert (result.predict("test") == y_test).mean() >= 0.9


def test_classes_are_emotion_codes_in_ascending_order() -> None:
    """Score columns follow the sorted codes of the training labels, whatever order they come
    in, and ``predict`` maps the argmax column back to its code."""
    X_train, y_train, X_test, y_test = _fold(classes=(7, 2, 4))
    result = fit_logreg_fold(X_train, y_train, X_test)
    assert result.classes == [2, 4, 7]
    assert all(type(c) is int for c in result.classes)
    codes = np.array(result.classes)[np.argmax(result.test_scores, axis=1)]
    np.testing.assert_array_equal(result.predict("test"), codes)
    assert set(result.predict("train")) <= {2, 4, 7}
    assert (result.predict("test") == y_test).mean() >= 0.9


@pytest.mark.parametrize(("norm", "step"), [("standard", StandardScaler), ("none", None)])
def test_other_norms(norm: str, step) -> None:
    X_train, y_train, X_test, _ = _fold()
    model = fit_logreg_fold(X_train, y_train, X_test, norm=norm).model
    if step is None:
        assert len(model.steps) == 1 and isinstance(model[0], LogisticRegression)
    else:
        assert isinstance(model[0], step)
        np.testing.assert_allclose(model[0].mean_, X_train.mean(axis=0))


def test_unknown_norm_is_an_input_error_listing_the_choices() -> None:
    X_train, y_train, X_test, _ = _fold()
    with pytest.raises(InputError) as err:
        fit_logreg_fold(X_train, y_train, X_test, norm="robust")
    message = str(err.value)
    assert "'robust'" in message and all(n in message for n in NORMS)
    assert "\n" not in message


# -- raw scores (logits, decision values) versus probabilities --------------------------------


def test_probabilities_are_kept_as_they_are() -> None:
    probs = np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]])
    out = to_probabilities(probs, "probs")
    np.testing.assert_array_equal(out, probs)
    assert out.dtype == np.float64


def test_raw_scores_are_soft_maxed() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-4.0, 10.0, 2.0]])
    out = to_probabilities(logits, "decision")
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected)
    np.testing.assert_allclose(out[1], [1 / 3] * 3)


@settings(max_examples=50, deadline=None)
@given(
    logits=arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(2, 8)),
        elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
    ),
    shift=st.floats(-1e3, 1e3),
)
def test_soft_max_is_a_distribution_that_keeps_the_order(logits: np.ndarray, shift: float):
    """Rows sum to one, large logits do not overflow, adding a constant to a row changes
    nothing, and the best-scoring class stays the most probable one."""
    out = to_probabilities(logits, "logits")
    assert np.isfinite(out).all() and (out >= 0).all()
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(to_probabilities(logits + shift, "logits"), out, atol=1e-9)
    best = np.argmax(logits, axis=1)
    np.testing.assert_array_equal(out[np.arange(len(out)), best], out.max(axis=1))


def test_probabilities_are_not_soft_maxed_again() -> None:
    """Soft-maxing probabilities would flatten them: ``probs`` must be taken as stored."""
    probs = np.array([[0.9, 0.05, 0.05]])
    flattened = to_probabilities(probs, "decision")
    assert flattened[0, 0] < 0.6  # exp(0.9) / (exp(0.9) + 2 exp(0.05)) = 0.54
    np.testing.assert_array_equal(to_probabilities(probs, "probs"), probs)


def test_votes_agree_on_raw_and_soft_maxed_scores_but_means_do_not() -> None:
    """Soft-max keeps each row's best class, so votes are the same before and after it, while
    averaging raw logits weighs runs by their scale."""
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [-20.0, 0.0, -30.0]])
    probs = np.array([[0.2, 0.7, 0.1], [0.5, 0.3, 0.2], [0.6, 0.3, 0.1]])
    as_probs = to_probabilities(logits, "logits")
    np.testing.assert_array_equal(
        combine_rule([as_probs, probs], "vote"), combine_rule([logits, probs], "vote")
    )
    assert not np.allclose(
        combine_rule([as_probs, probs], "mean"), combine_rule([logits, probs], "mean")
    )
    np.testing.assert_allclose(combine_rule([as_probs, probs], "mean").sum(axis=1), 1.0)


# -- rule-based fusion ------------------------------------------------------------------------

A = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]])
B = np.array([[0.2, 0.7, 0.1], [0.1, 0.3, 0.6], [0.1, 0.8, 0.1]])
C = np.array([[0.5, 0.4, 0.1], [0.3, 0.6, 0.1], [0.2, 0.3, 0.5]])


def test_mean_rule_averages_probabilities() -> None:
    np.testing.assert_allclose(combine_rule([A, B, C], "mean"), (A + B + C) / 3)


def test_product_rule_sums_log_probabilities() -> None:
    fused = combine_rule([A, B], "product")
    np.testing.assert_allclose(fused, np.log(A) + np.log(B))
    np.testing.assert_array_equal(np.argmax(fused, axis=1), np.argmax(A * B, axis=1))
    zero = combine_rule([np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])], "product")
    assert np.isfinite(zero).all() and zero[0, 1] > zero[0, 0]


def test_vote_rule_counts_each_runs_best_class() -> None:
    fused = combine_rule([A, B, C], "vote")
    # row 0: A→0, B→1, C→0; row 1: A→2, B→2, C→1; row 2: A→0, B→1, C→2
    np.testing.assert_allclose(fused, [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3], [1 / 3] * 3])
    tie = combine_rule([np.array([[0.4, 0.4, 0.2]])], "vote")
    np.testing.assert_array_equal(tie, [[1.0, 0.0, 0.0]])  # ties go to the first class


@pytest.mark.parametrize("method", ["max", "logreg", ""])
def test_unknown_rule_is_an_input_error_listing_the_methods(method: str) -> None:
    with pytest.raises(InputError) as err:
        combine_rule([A, B], method)
    message = str(err.value)
    assert repr(method) in message and all(m in message for m in METHODS)
