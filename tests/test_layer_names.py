"""Layers are data (issue 22): a feature set's family and layer are columns of its record, and
no code in ``mmemo/`` or ``sql/`` takes ``layer=`` back out of a name.

The check looks where parsing happens, not at every mention: in Python, a string holding
``layer=`` given to a regex or string-splitting call (``re.match``, ``.split``, ``.like``, ...)
or tested with ``in``; a regex with ``layer=`` may be compiled only when it has no capture
group (it validates a name, it cannot extract from one). In SQL, ``layer=`` anywhere but in a
comment. Names are still *built* (``f"{family}/layer={layer}"``) and shown in docstrings and
help texts: those are fine. The detector is tested on the code it replaced.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import mmemo
from mmemo.resources import sql_dir

PACKAGE = Path(mmemo.__file__).parent
#: Calls that take a string apart or match it: given ``layer=``, they parse a name.
PARSING_CALLS = frozenset(
    {
        "compile", "match", "fullmatch", "search", "findall", "finditer", "sub", "subn",
        "split", "rsplit", "partition", "rpartition", "removeprefix", "removesuffix",
        "startswith", "endswith", "find", "rfind", "index", "rindex", "replace", "count",
        "like", "ilike", "notlike", "contains", "regexp_match", "regexp_replace",
        "fnmatch", "fnmatchcase",
    }
)  # fmt: skip
MARK = "layer="


def _text(node: ast.AST) -> str | None:
    """A string constant or f-string as text (each ``{...}`` as ``x``); None for others."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) or "x" for v in node.values)
    return None


def python_parsing(source: str) -> list[str]:
    """The places in ``source`` that take ``layer=`` out of a string, as ``line: code``."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        texts: list[str] = []
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called not in PARSING_CALLS:
                continue
            texts = [t for t in map(_text, [*node.args, *(k.value for k in node.keywords)]) if t]
            if isinstance(func, ast.Attribute) and _text(func.value):  # "...".join-like
                texts.append(_text(func.value) or "")
            marked = [t for t in texts if MARK in t]
            if called == "compile" and marked and all(re.compile(t).groups == 0 for t in marked):
                continue  # a validating regex: matches a name, cannot take a part out
        elif isinstance(node, ast.Compare) and any(
            isinstance(op, (ast.In, ast.NotIn)) for op in node.ops
        ):
            texts = [t for t in (_text(node.left),) if t]
        if any(MARK in t for t in texts):
            found.append(f"{node.lineno}: {ast.get_source_segment(source, node)}")
    return found


def sql_parsing(source: str) -> list[str]:
    """The lines of SQL ``source`` that hold ``layer=`` outside a ``--`` comment."""
    return [
        f"{number}: {line.strip()}"
        for number, line in enumerate(source.splitlines(), 1)
        if MARK in line.split("--", 1)[0]
    ]


def test_no_python_module_parses_layer_out_of_a_name() -> None:
    modules = [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        # an installed wheel holds the migrations here too: registry migration 0005 reads
        # the names of old rows once, which is what a data migration is for (its docstring)
        if path.relative_to(PACKAGE).parts[0] != "migrations"
    ]
    found = {
        str(path.relative_to(PACKAGE.parent)): hits
        for path in modules
        if (hits := python_parsing(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_no_sql_file_parses_layer_out_of_a_name() -> None:
    files = sorted(sql_dir().rglob("*.sql"))
    assert any(f.name == "layer_accuracy.sql" for f in files)  # the recipe that used to
    found = {f.name: hits for f in files if (hits := sql_parsing(f.read_text(encoding="utf-8")))}
    assert found == {}


def test_the_detector_finds_the_parsing_it_replaced_and_lets_names_be_built() -> None:
    old = [  # from mmemo before layers were columns
        'LAYER_SET = re.compile(r"^(?P<encoder>.+)/layer=(?P<layer>[^/]+)$")',
        'q = FeatureSet.name.like(f"{job.entry}/layer=%")',
        'family, _, layer = name.rpartition("/layer=")',
        'part = name.split("/layer=", 1)[1]',
        'if "/layer=" in name: pass',
        'layer = re.match(r".*/layer=(.+)", name)',
    ]
    for line in old:
        assert python_parsing(line), line
    fine = [
        'def f(family, layer):\n    """NAME/layer=L."""\n    return f"{family}/layer={layer}"',
        'x = typer.Option(help="one set NAME/layer=L each")',
        '_NAME = re.compile(rf"^{_PLAIN}(?:/layer=[A-Za-z0-9_]+)?$")',
        'raise InputError(f"{name!r} names a layer: use --name NAME --layer L, not NAME/layer=L")',
    ]
    for code in fine:
        assert python_parsing(code) == [], code
    old_sql = "SELECT regexp_extract(features, '^(.+)/layer=([^/]+)$', 1) AS encoder FROM x"
    assert sql_parsing(old_sql)
    assert sql_parsing("-- sets ENCODER/layer=L\nSELECT family FROM feature_sets") == []
