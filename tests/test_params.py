"""Hyper-parameter specs: typed values, grids, configuration names."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmemo.errors import InputError
from mmemo.params import config_name, format_value, parse_param_grid, parse_value


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("10", 10),
        ("-3", -3),
        ("0.1", 0.1),
        ("1e-3", 0.001),
        (".5", 0.5),
        ("10.", 10.0),
        ("true", True),
        ("False", False),
        ("none", None),
        ("None", None),
        ("80x80", (80, 80)),
        ("80x40x20", (80, 40, 20)),
        ("rbf", "rbf"),
        ("lbfgs", "lbfgs"),
        ("80x", "80x"),
    ],
)
def test_values_are_typed(written: str, value: object) -> None:
    parsed = parse_value(written)
    assert parsed == value
    assert type(parsed) is type(value)


def test_grid_is_the_cartesian_product_in_order() -> None:
    grid = parse_param_grid(["C=0.1,1", "kernel=rbf,linear"])
    assert grid == [
        {"C": 0.1, "kernel": "rbf"},
        {"C": 0.1, "kernel": "linear"},
        {"C": 1, "kernel": "rbf"},
        {"C": 1, "kernel": "linear"},
    ]


def test_no_specs_is_one_default_configuration() -> None:
    assert parse_param_grid([]) == [{}]


def test_tuples_and_spaces() -> None:
    assert parse_param_grid([" hidden_layer_sizes = 80, 80x80 "]) == [
        {"hidden_layer_sizes": 80},
        {"hidden_layer_sizes": (80, 80)},
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("C", "KEY=VALUE"),
        ("=1", "not a valid name"),
        ("1C=1", "not a valid name"),
        ("C-x=1", "not a valid name"),
        ("C=", "empty value"),
        ("C=1,,2", "empty value"),
        ("C=1,1", "repeats"),
    ],
)
def test_malformed_specs_are_refused(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_param_grid([spec])


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(InputError, match="given twice"):
        parse_param_grid(["C=1", "C=10"])


def test_int_and_float_of_equal_value_are_distinct_values() -> None:
    assert parse_param_grid(["C=1,1.0"]) == [{"C": 1}, {"C": 1.0}]


def test_config_name() -> None:
    assert config_name("svc", {"C": 0.1}, "minmax") == "svc/C=0.1,norm=minmax"
    assert config_name("zeror", {}, "none") == "zeror/norm=none"
    name = config_name("mlp", {"hidden_layer_sizes": (80, 80), "alpha": 1e-4}, "none")
    assert name == "mlp/alpha=0.0001,hidden_layer_sizes=80x80,norm=none"
    flags = config_name("svc", {"probability": True, "class_weight": None}, "none")
    assert flags == "svc/class_weight=none,probability=true,norm=none"


# ---------------------------------------------------------------------------- properties

values = st.one_of(
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.tuples(st.integers(0, 10**4), st.integers(0, 10**4)),
    st.lists(st.integers(0, 10**4), min_size=2, max_size=4).map(tuple),
    st.from_regex(r"\A[a-z][a-z_]{0,10}\Z").filter(lambda s: s not in ("true", "false", "none")),
)
keys = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,8}\Z")


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and a == b


@pytest.mark.slow
@given(values)
def test_format_then_parse_gives_the_value_back(value: object) -> None:
    assert _same(parse_value(format_value(value)), value)


@given(st.dictionaries(keys, st.lists(values, min_size=1, max_size=3), min_size=1, max_size=3))
def test_grid_size_and_order(spec: dict[str, list[object]]) -> None:
    # Drop values that print alike (e.g. 0.0 and -0.0 differ, 1 and 1.0 do not collide).
    spec = {k: list({format_value(v): v for v in vs}.values()) for k, vs in spec.items()}
    written = [f"{k}={','.join(format_value(v) for v in vs)}" for k, vs in spec.items()]
    grid = parse_param_grid(written)
    assert len(grid) == math.prod(len(vs) for vs in spec.values())
    assert len({config_name("m", g, "none") for g in grid}) == len(grid)
    assert grid == parse_param_grid(written)
    first = grid[0]
    assert all(_same(first[k], vs[0]) for k, vs in spec.items())
    assert list(first) == list(spec)


@given(st.dictionaries(keys, values, max_size=4), st.randoms())
def test_config_name_ignores_key_order(params: dict[str, object], rnd: random.Random) -> None:
    items = list(params.items())
    rnd.shuffle(items)
    assert config_name("m", dict(items), "minmax") == config_name("m", params, "minmax")
