"""Probe grids: ``train static --features 'w2v/layer=*'`` trains one run per matching feature
set, in layer order, under names made from each set's family and layer.

A set's family (the NAME of ``NAME/layer=L``) and layer are columns of its record
(:class:`mmemo.features.sets.EncoderLayer`); the glob matches names, as the user wrote them,
and everything else reads the columns: nothing here takes a name apart.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mmemo.errors import InputError
from mmemo.features.sets import layer_set_name
from mmemo.params import config_name
from mmemo.store.schema import FeatureSet
from mmemo.store.store import Store


@dataclass(frozen=True)
class MatchedSet:
    """A complete feature set a glob matched: its name, and (for one layer of a family) its
    family and layer as its record holds them."""

    name: str
    family: str | None = None
    layer: str | None = None

    @property
    def of_family(self) -> bool:
        """Whether the set is one layer of a family (``embed --layers``, ``import --layer``)."""
        return self.family is not None and self.layer is not None


def is_glob(text: str) -> bool:
    """Whether a ``--features`` value is a glob over feature-set names (``*``, ``?``, ``[``)."""
    return any(ch in text for ch in "*?[")


def layer_key(layer: str) -> tuple[int, int, str]:
    """Natural order of layers: ``conv`` first, then numbers ascending, then anything else.

    >>> sorted(["10", "2", "conv", "1"], key=layer_key)
    ['conv', '1', '2', '10']
    """
    if layer == "conv":
        return (0, 0, "")
    if layer.isdigit():
        return (1, int(layer), "")
    return (2, 0, layer)


def feature_set_order(found: MatchedSet) -> tuple[Any, ...]:
    """Sort key of feature sets: by family, then layer (:func:`layer_key`); a set of no family
    by its name, before the layers of a family of that name; names naturally (digit runs as
    numbers).

    >>> sets = [MatchedSet("w/layer=10", "w", "10"), MatchedSet("w/layer=conv", "w", "conv"),
    ...         MatchedSet("a10"), MatchedSet("a9"), MatchedSet("w")]
    >>> [s.name for s in sorted(sets, key=feature_set_order)]
    ['a9', 'a10', 'w', 'w/layer=conv', 'w/layer=10']
    """
    group, layer = found.name, (-1, 0, "")
    if found.family is not None and found.layer is not None:
        group, layer = found.family, layer_key(found.layer)
    parts = re.split(r"(\d+)", group)
    return (tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts), layer)


def match_feature_sets(store: Store, pattern: str) -> list[MatchedSet]:
    """The complete feature sets whose names ``pattern`` (a glob) matches, in
    :func:`feature_set_order`, with their family and layer (their newest version's).

    Raises:
        InputError: nothing matches (the complete sets are listed).
    """
    with store.session() as s, s.orm() as orm:
        rows = orm.execute(
            sa.select(FeatureSet.name, FeatureSet.family, FeatureSet.layer)
            .where(FeatureSet.status == "complete")
            .order_by(FeatureSet.version)
        ).all()
    every = sorted({r.name: MatchedSet(*r) for r in rows}.values(), key=feature_set_order)
    matched = [m for m in every if fnmatch.fnmatchcase(m.name, pattern)]
    if not matched:
        listed = ", ".join(m.name for m in every) or "none yet"
        raise InputError(
            f"--features {pattern!r} matches no complete feature set; complete sets: {listed}"
        )
    return matched


def probe_run_names(
    name: str, sets: list[MatchedSet], grid: list[tuple[dict[str, Any], str]]
) -> dict[str, list[str]]:
    """Run names of a probe grid, per feature set (by name) and configuration.

    When every set is a layer of one family, a run is named like its set with ``name`` for
    the family (``name/layer=3``); else ``name/`` + the set's whole name
    (``name/wavlm/layer=3``). A grid of several configurations appends them as
    :func:`~mmemo.params.config_name` writes them.

    >>> w2v = [MatchedSet("w2v/layer=conv", "w2v", "conv"),
    ...        MatchedSet("w2v/layer=1", "w2v", "1")]
    >>> probe_run_names("probe", w2v, [({}, "none")])
    {'w2v/layer=conv': ['probe/layer=conv'], 'w2v/layer=1': ['probe/layer=1']}
    >>> probe_run_names("p", w2v[1:], [({"C": 1}, "none"), ({"C": 10}, "none")])
    {'w2v/layer=1': ['p/layer=1,C=1,norm=none', 'p/layer=1,C=10,norm=none']}
    >>> probe_run_names("p", [*w2v[1:], MatchedSet("aus")], [({}, "none")])
    {'w2v/layer=1': ['p/w2v/layer=1'], 'aus': ['p/aus']}
    """
    one_family = len({s.family for s in sets}) == 1 and all(s.of_family for s in sets)
    names: dict[str, list[str]] = {}
    for found in sets:
        run = f"{name}/{found.name}"
        if one_family and found.layer is not None:
            run = layer_set_name(name, found.layer)
        if len(grid) == 1:
            names[found.name] = [run]
        else:
            names[found.name] = [f"{run},{config_name('', p, n)[1:]}" for p, n in grid]
    return names
