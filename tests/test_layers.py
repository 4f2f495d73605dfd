"""The package's layers (DESIGN.md): a module imports only from its own layer or below, lazy
imports inside functions included, and nothing outside the tests imports ``mmemo.testing``."""

from __future__ import annotations

import ast
from pathlib import Path

import mmemo

ROOT = Path(mmemo.__file__).parent
#: Layers, lowest first. Top-level modules not named here are the base layer.
LAYERS = {
    "store": 1,
    "corpora": 2,
    "models": 3,
    "fusion": 3,
    "features": 4,
    "jobs": 5,
    "reports": 6,
    "demo": 7,
    "cli": 8,
    "__main__": 8,
    "testing": 9,
}


def _layer(module: str) -> tuple[str, int]:
    """(top-level part, layer) of a dotted module name inside mmemo."""
    top = module.split(".")[1] if "." in module else ""
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


def test_the_layer_map_knows_every_package() -> None:
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert packages <= set(LAYERS), f"add {sorted(packages - set(LAYERS))} to LAYERS"
