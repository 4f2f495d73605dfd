"""The package's layers (docs/architecture.md): a module imports only from its own layer or
below, lazy imports inside functions included; every package and layered top-level module
says its layer in its docstring, as this map does; and nothing outside the tests imports
``mmemo.testing``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import mmemo

ROOT = Path(mmemo.__file__).parent
#: The base modules (layer 0): they import only each other.
BASE = {
    "errors",
    "hashing",
    "params",
    "progress",
    "provenance",
    "registry",
    "resources",
    "scheduler",
    "specs",
    "splits",
    "sqltext",
}
#: Every other package or top-level module and its layer, lowest first.
LAYERS = {
    "store": 1,
    "corpora": 2,
    "models": 3,
    "fusion": 4,  # the fusions are model kinds: right above models
    "features": 5,
    "jobs": 6,
    "reports": 7,
    "display": 7,  # the renderer, with outputs, beside reports
    "outputs": 7,
    "demo": 8,
    "api": 8,  # the Python face: the jobs, reports and features made public
    "cli": 9,
    "__main__": 9,
    "testing": 10,
}


#: The package root re-exports the API (lazily, by name): above everything it names.
ROOT_LAYER = 9


def _layer(module: str) -> tuple[str, int]:
    """(top-level part, layer) of a dotted module name inside mmemo."""
    if module == "mmemo":
        return "", ROOT_LAYER
    top = module.split(".")[1]
    return top, LAYERS.get(top, 0)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every ``mmemo`` import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("mmemo.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mmemo":
                found += [(node.lineno, f"mmemo.{a.name}") for a in node.names]
            elif node.module.startswith("mmemo."):
                found.append((node.lineno, node.module))
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    climbing = []
    for path in sorted(ROOT.rglob("*.py")):
        here = _module_name(path)
        top, level = _layer(here)
        for line, target in _imports(path):
            target_top, target_level = _layer(target)
            if target_top == top:
                continue
            if target_level > level or (target_top == "testing" and top != "testing"):
                climbing.append(f"{path.relative_to(ROOT.parent)}:{line} imports {target}")
    assert climbing == []


def test_every_package_and_module_has_a_layer() -> None:
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in ROOT.glob("*.py")} - {"__init__"}
    unplaced = sorted((packages | modules) - set(LAYERS) - BASE)
    assert unplaced == [], f"add {unplaced} to LAYERS or BASE (and say why in its docstring)"
    assert not BASE & set(LAYERS)


def test_every_layered_docstring_says_the_layer_of_the_map() -> None:
    """A package's ``__init__`` (a top-level module's own docstring) states "Layer N", the
    number this test enforces: the docstrings cannot drift from the rule."""
    wrong = []
    for name, level in LAYERS.items():
        path = ROOT / name / "__init__.py" if (ROOT / name).is_dir() else ROOT / f"{name}.py"
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        said = re.findall(r"\bLayer (\d+)\b", doc)
        if name != "__main__" and said[:1] != [str(level)]:
            wrong.append(f"{path.relative_to(ROOT.parent)} says Layer {said or '?'}, not {level}")
    assert wrong == []
