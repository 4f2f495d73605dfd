"""Every example in a docstring of the package runs and gives what it shows, so that the
examples a reader copies cannot go stale."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import mmemo

ROOT = Path(mmemo.__file__).parent


def _runnable(path: Path) -> bool:
    """Whether the module's docstrings hold an example that runs (examples that need a real
    recording or checkpoint are marked ``+SKIP``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return any(">>> " in line and "+SKIP" not in line for line in lines)


#: Modules whose docstrings hold runnable examples, as dotted names.
MODULES = sorted(
    ".".join(("mmemo", *path.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
    for path in ROOT.rglob("*.py")
    if _runnable(path)
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name}: no example found"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
