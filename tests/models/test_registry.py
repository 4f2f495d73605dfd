"""The registry of model kinds: lazy built-ins, refusal of taken names, the kind interface."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mmemo.errors import InputError
from mmemo.models.base import FoldData
from mmemo.models.registry import BUILTIN_KINDS, MODEL_KINDS, Registry, get_kind


def test_importing_the_registry_imports_no_heavy_library() -> None:
    code = (
        "import sys, mmemo.models.registry as r; r.MODEL_KINDS.names(); "
        "print(sorted(m for m in ('sklearn', 'torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_builtin_kind_loads_under_its_name() -> None:
    for name in BUILTIN_KINDS:
        kind = get_kind(name)
        assert kind.name == name
        assert kind.inputs in ("vectors", "sequences", "audio", "runs")
        assert all(callable(getattr(kind, m)) for m in ("fit", "score", "save", "load"))


def test_unknown_kind_lists_the_choices() -> None:
    with pytest.raises(InputError, match="unknown model kind 'rf'; expected one of zeror, svc"):
        get_kind("rf")


def test_taken_names_are_refused() -> None:
    get_kind("svc")

    class OtherSVC:
        name = "svc"

    with pytest.raises(ValueError, match="model kind 'svc' is already registered"):
        MODEL_KINDS.register(OtherSVC)

    class Fresh:
        name = "bilstm"  # built in, but from another module

    registry: Registry[object] = Registry("kind", {"bilstm": "mmemo.models.bilstm.kind:X"})
    with pytest.raises(ValueError, match="built in"):
        registry.register(Fresh)


def test_static_kind_fits_saves_loads_and_scores(tmp_path) -> None:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(1, 5), 10)
    X = rng.normal(size=(40, 3)) + y[:, None]
    kind = get_kind("svc")
    data = FoldData(X_train=X, y_train=y, X_test=X[:7])
    result = kind.fit({"C": 1.0, "norm": "minmax"}, data, seed=1)
    model = kind.load(kind.save(result.model, tmp_path / "fold-0.joblib"))
    np.testing.assert_array_equal(kind.score(model, X[:7]), result.test_scores)
