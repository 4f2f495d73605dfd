"""Unit tests of mmemo.fusion.late: soft-max, rules and the rule combiner."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.errors import InputError
from mmemo.fusion.late import RuleCombiner, combine_rule, to_probabilities

#: RAVDESS's class codes, as the dataset's record lists them.
RAVDESS_CODES = list(range(1, 9))


def test_to_probabilities_soft_maxes_logits_and_keeps_probabilities() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]])
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_array_equal(to_probabilities(logits, "logits"), e / e.sum(1, keepdims=True))
    probs = np.array([[0.2, 0.8]])
    np.testing.assert_array_equal(to_probabilities(probs, "probs"), probs)


def test_rules() -> None:
    a = np.array([[0.6, 0.4], [0.1, 0.9]])
    b = np.array([[0.2, 0.8], [0.3, 0.7]])
    np.testing.assert_allclose(combine_rule([a, b], "mean"), [[0.4, 0.6], [0.2, 0.8]])
    np.testing.assert_allclose(combine_rule([a, b], "product"), np.log(a) + np.log(b))
    np.testing.assert_array_equal(combine_rule([a, b], "vote"), [[0.5, 0.5], [0.0, 1.0]])
    with pytest.raises(InputError, match="--method 'max'"):
        combine_rule([a], "max")


def test_rule_combiner_maps_each_run_to_the_given_classes() -> None:
    combiner = RuleCombiner.of("mean", [([3, 5], "probs"), ([5], "decision")], RAVDESS_CODES)
    X = np.array([[0.25, 0.75, 7.0]])
    fused = combiner(X)
    assert fused.shape == (1, 8) and combiner.kind == "probs"
    assert combiner.vocabulary.codes == tuple(RAVDESS_CODES)
    expected = np.zeros(8)
    expected[2], expected[4] = 0.25 / 2, (0.75 + 1.0) / 2
    np.testing.assert_allclose(fused[0], expected)
    assert combiner(np.zeros((0, 3))).shape == (0, 8)
    with pytest.raises(InputError, match="expected 3 score columns"):
        combiner(np.zeros((1, 2)))
    with pytest.raises(InputError, match="rule 'logreg'"):
        RuleCombiner.of("logreg", [])
    with pytest.raises(InputError, match="class code 5 is not in the vocabulary"):
        RuleCombiner.of("mean", [([3, 5], "probs")], [3, 4])


def test_rule_combiner_without_classes_fuses_the_input_classes_in_code_order() -> None:
    """No vocabulary given (and fold models saved before there was one): every class of the
    input runs, ascending, whatever order each run stored its scores in."""
    combiner = RuleCombiner.of("mean", [([9, 2], "probs"), ([2, 9, 4], "probs")])
    assert combiner.vocabulary.codes == (2, 4, 9)
    fused = combiner(np.array([[0.75, 0.25, 0.5, 0.25, 0.25]]))
    np.testing.assert_allclose(fused, [[(0.25 + 0.5) / 2, 0.25 / 2, (0.75 + 0.25) / 2]])
    older = RuleCombiner.__new__(RuleCombiner)  # unpickled from before the field existed
    object.__setattr__(older, "method", "mean")
    object.__setattr__(older, "blocks", combiner.blocks)
    np.testing.assert_array_equal(older(np.array([[0.75, 0.25, 0.5, 0.25, 0.25]])), fused)
