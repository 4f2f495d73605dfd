"""Fold schemes: the one place that knows which actors are tested in which fold.

Every scheme is subject-wise (actor-disjoint): an actor's clips are all in the test part of
exactly one fold and in the training part of every other fold.

Schemes are registered by name with :func:`register_scheme` (a name is registered once);
a parametrised scheme parses the rest of its name (``kfold:K:SEED``). Built-in schemes:
    ``luna2022``       the paper's five actor folds (Luna-Jiménez et al., 2022).
    ``loao``           leave one actor out: fold ``a - 1`` tests actor ``a``.
    ``kfold:K:SEED``   K actor-disjoint folds, balanced per class, shuffled with SEED.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mmemo.errors import InputError

#: Test actors of each fold in Luna-Jiménez et al. (2022).
LUNA2022_TEST_ACTORS: tuple[tuple[int, ...], ...] = (
    (2, 5, 14, 15, 16),
    (3, 6, 7, 13, 18),
    (10, 11, 12, 19, 20),
    (8, 17, 21, 23, 24),
    (1, 4, 9, 22),
)

#: Number of clips per class for each actor: ``{actor: {class: count}}``.
ActorClassCounts = Mapping[int, Mapping[object, int]]
#: A scheme builder: ``(counts, *arguments) -> {actor: fold}``.
SchemeBuilder = Callable[..., dict[int, int]]
#: Parses the arguments of a scheme name (``kfold:5:2020`` -> ``(5, 2020)``).
ArgumentParser = Callable[[str, list[str]], tuple[Any, ...]]


@dataclass(frozen=True)
class _Registered:
    build: SchemeBuilder
    usage: str
    parse: ArgumentParser


_SCHEMES: dict[str, _Registered] = {}


def register_scheme(
    kind: str, *, usage: str | None = None, arguments: ArgumentParser | None = None
) -> Callable[[SchemeBuilder], SchemeBuilder]:
    """Register the builder of the fold scheme ``kind`` (a decorator).

    Args:
        kind: the scheme's name, or the part before the first ``:`` of a parametrised one.
        usage: how the scheme is written in choices lists (default ``kind``),
            e.g. ``kfold:K:SEED``.
        arguments: ``(name, parts) -> args`` for a parametrised scheme (``parts``: the name's
            ``:``-separated parts after ``kind``); raises :class:`InputError` on bad ones.
            Without it the scheme takes no arguments.

    Raises:
        ValueError: ``kind`` is registered already.
    """

    def decorate(build: SchemeBuilder) -> SchemeBuilder:
        if kind in _SCHEMES:
            raise ValueError(f"fold scheme '{kind}' is registered twice")
        _SCHEMES[kind] = _Registered(build, usage or kind, arguments or _no_arguments)
        return build

    return decorate


def scheme_choices() -> str:
    """The registered schemes as users write them: ``luna2022, loao, kfold:K:SEED``."""
    return ", ".join(entry.usage for entry in _SCHEMES.values())


@dataclass(frozen=True)
class FoldScheme:
    """A named rule that maps actors to test folds."""

    name: str

    def assign(self, counts: ActorClassCounts) -> dict[int, int]:
        """Return ``{actor: fold}`` for the actors in ``counts``.

        Raises:
            InputError: an unknown scheme, an actor the scheme cannot place, or too few
                actors for the folds.
        """
        entry, args = _resolve(self.name)
        if not counts:
            raise InputError(f"fold scheme '{self.name}': no clips to assign")
        return entry.build(counts, *args)


def parse_scheme(name: str) -> FoldScheme:
    """Validate a scheme name and return the scheme.

    Raises:
        InputError: unknown name, listing the valid choices.
    """
    _resolve(name)
    return FoldScheme(name)


def _resolve(name: str) -> tuple[_Registered, tuple[Any, ...]]:
    kind, *parts = name.split(":")
    entry = _SCHEMES.get(kind)
    if entry is None:
        raise InputError(f"unknown fold scheme '{name}'; expected one of {scheme_choices()}")
    return entry, entry.parse(name, parts)


def _no_arguments(name: str, parts: list[str]) -> tuple[Any, ...]:
    if parts:
        raise InputError(f"unknown fold scheme '{name}'; expected one of {scheme_choices()}")
    return ()


def _kfold_arguments(name: str, parts: list[str]) -> tuple[int, int]:
    try:
        if len(parts) != 2:
            raise ValueError
        k, seed = int(parts[0]), int(parts[1])
    except ValueError:
        raise InputError(
            f"unknown fold scheme '{name}'; expected one of {scheme_choices()} (e.g. kfold:5:2020)"
        ) from None
    if k < 2:
        raise InputError(f"fold scheme '{name}': K must be at least 2")
    return k, seed


@register_scheme("luna2022")
def _luna2022(counts: ActorClassCounts) -> dict[int, int]:
    """The paper's five folds."""
    table = {a: f for f, test in enumerate(LUNA2022_TEST_ACTORS) for a in test}
    actors = sorted(counts)
    unknown = [a for a in actors if a not in table]
    if unknown:
        raise InputError(
            f"fold scheme 'luna2022' has no fold for actor(s) {unknown}; it covers actors 1-24"
        )
    return {a: table[a] for a in actors}


@register_scheme("loao")
def _leave_one_actor_out(counts: ActorClassCounts) -> dict[int, int]:
    """Fold ``a - 1`` tests actor ``a``."""
    return {a: a - 1 for a in sorted(counts)}


@register_scheme("kfold", usage="kfold:K:SEED", arguments=_kfold_arguments)
def _kfold(counts: ActorClassCounts, k: int, seed: int) -> dict[int, int]:
    """``k`` actor-disjoint, class-balanced folds, shuffled with ``seed``."""
    if len(counts) < k:
        raise InputError(
            f"fold scheme 'kfold:{k}:{seed}' needs at least {k} actors, got {len(counts)}"
        )
    return _stratified_actor_folds(counts, k, seed)


def _stratified_actor_folds(counts: ActorClassCounts, k: int, seed: int) -> dict[int, int]:
    """Greedy class-balanced assignment of whole actors to ``k`` folds.

    Actors are shuffled with ``seed`` and then placed, largest first, into the fold whose
    per-class totals stay flattest (least sum of squares); ties go to the fold with fewer actors,
    then the lower index. Deterministic for a given seed and input.
    """
    classes = sorted({c for per_actor in counts.values() for c in per_actor}, key=str)
    actors = sorted(counts)
    random.Random(seed).shuffle(actors)
    actors.sort(key=lambda a: -sum(counts[a].values()))  # stable: shuffle order breaks ties
    totals = [dict.fromkeys(classes, 0) for _ in range(k)]
    members: list[list[int]] = [[] for _ in range(k)]
    for actor in actors:
        # Every fold gets an actor before any gets a second; then keep classes flat.
        best = min(range(k), key=lambda f: _placement_cost(totals[f], members[f], counts[actor], f))
        members[best].append(actor)
        for c in classes:
            totals[best][c] += counts[actor].get(c, 0)
    return {a: f for f, group in enumerate(members) for a in group}


def _placement_cost(
    totals: Mapping[object, int], members: list[int], add: Mapping[object, int], fold: int
) -> tuple[int, int, int, int]:
    flat = sum((n + add.get(c, 0)) ** 2 for c, n in totals.items())
    return (1 if members else 0, flat, len(members), fold)
