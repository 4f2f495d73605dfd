"""Unit tests of mmemo.fusion.late: soft-max, rules and the rule combiner."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.errors import InputError
from mmemo.fusion.late import CANONICAL, RuleCombiner, combine_rule, to_probabilities


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


def test_rule_combiner_maps_each_run_to_the_canonical_classes() -> None:
    combiner = RuleCombiner.of("mean", [([3, 5], "probs"), ([5], "decision")])
    X = np.array([[0.25, 0.75, 7.0]])
    fused = combiner(X)
    assert fused.shape == (1, len(CANONICAL)) and combiner.kind == "probs"
    expected = np.zeros(len(CANONICAL))
    expected[2], expected[4] = 0.25 / 2, (0.75 + 1.0) / 2
    np.testing.assert_allclose(fused[0], expected)
    assert combiner(np.zeros((0, 3))).shape == (0, len(CANONICAL))
    with pytest.raises(InputError, match="expected 3 score columns"):
        combiner(np.zeros((1, 2)))
    with pytest.raises(InputError, match="rule 'logreg'"):
        RuleCombiner.of("logreg", [])
