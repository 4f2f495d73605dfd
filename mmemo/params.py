"""Hyper-parameters written on a command line: parsing grids and naming configurations.

A spec is ``KEY=VALUE[,VALUE...]``; several values for one key make a grid, and several specs
make the cartesian product of their values. Values are typed from how they are written:

=====================  ==========================================
written                value
=====================  ==========================================
``10``, ``-3``         ``int``
``0.1``, ``1e-3``      ``float``
``true`` / ``false``   ``bool`` (any case)
``none``               ``None`` (any case)
``80x80``              ``tuple`` of ints, ``(80, 80)``
anything else          ``str`` (``rbf``, ``lbfgs``)
=====================  ==========================================

A single ``80`` stays the int ``80``; a model that wants a tuple (the MLP's
``hidden_layer_sizes``) coerces it to ``(80,)`` itself. :func:`format_value` writes a value back
the same way, so ``parse_value(format_value(v)) == v`` for every value the parser produces.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence

from mmemo.errors import InputError

#: A parsed hyper-parameter value.
ParamValue = int | float | bool | str | None | tuple[int, ...]

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_TUPLE = re.compile(r"^\d+(x\d+)+$")


def parse_value(text: str) -> ParamValue:
    """Type one written value (see the module docstring for the rules).

    Raises:
        InputError: the value is empty.
    """
    if text == "":
        raise InputError("empty hyper-parameter value")
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if _TUPLE.match(text):
        return tuple(int(part) for part in text.split("x"))
    return text


def format_value(value: object) -> str:
    """Write a value the way :func:`parse_value` reads it (``(80, 80)`` → ``80x80``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return "x".join(format_value(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_param_grid(specs: Sequence[str]) -> list[dict[str, object]]:
    """Expand ``KEY=V[,V...]`` specs into the list of parameter dicts of their grid.

    The order is deterministic: keys in the order given, the last key varying fastest
    (``itertools.product``), values in the order written. No specs give ``[{}]``.

    Args:
        specs: one string per key, e.g. ``["C=0.1,1,10", "kernel=rbf"]``.

    Returns:
        One dict per configuration, keys in the order of ``specs``.

    Raises:
        InputError: a spec without ``=``, an invalid key, an empty value, a key given twice or
            a value repeated within a spec.

    Example:
        >>> parse_param_grid(["C=0.1,1", "hidden_layer_sizes=80x80"])
        [{'C': 0.1, 'hidden_layer_sizes': (80, 80)}, {'C': 1, 'hidden_layer_sizes': (80, 80)}]
    """
    keys: list[str] = []
    grids: list[list[ParamValue]] = []
    for spec in specs:
        key, sep, written = spec.partition("=")
        key = key.strip()
        if not sep:
            raise InputError(f"hyper-parameter '{spec}' is not KEY=VALUE[,VALUE...]")
        if not _KEY.match(key):
            raise InputError(
                f"hyper-parameter '{spec}': '{key}' is not a valid name "
                "(letters, digits and _; not starting with a digit)"
            )
        if key in keys:
            raise InputError(
                f"hyper-parameter '{key}' is given twice; write its values once: {key}=V1,V2"
            )
        values: list[ParamValue] = []
        seen: set[tuple[str, str]] = set()
        for part in written.split(","):
            part = part.strip()
            if part == "":
                raise InputError(f"hyper-parameter '{spec}' has an empty value")
            value = parse_value(part)
            ident = (type(value).__name__, format_value(value))
            if ident in seen:
                raise InputError(f"hyper-parameter '{spec}' repeats the value {part}")
            seen.add(ident)
            values.append(value)
        keys.append(key)
        grids.append(values)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grids)]


def config_name(base: str, params: Mapping[str, object], norm: str) -> str:
    """Name one configuration: ``BASE/K1=V1,K2=V2,norm=NORM``.

    Keys are sorted (so the name does not depend on the order they were given in), ``norm`` comes
    last, and values are written by :func:`format_value`.

    Example:
        >>> config_name("mlp", {"hidden_layer_sizes": (80, 80), "alpha": 0.001}, "minmax")
        'mlp/alpha=0.001,hidden_layer_sizes=80x80,norm=minmax'
    """
    parts = [f"{k}={format_value(params[k])}" for k in sorted(params)]
    parts.append(f"norm={norm}")
    return f"{base}/{','.join(parts)}"
