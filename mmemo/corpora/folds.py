"""Fold schemes: the one place that knows which actors are tested in which fold.

Every scheme is subject-wise (actor-disjoint): an actor's clips are all in the test part of
exactly one fold and in the training part of every other fold.

Built-in schemes:
    ``luna2022``       the paper's five actor folds (Luna-Jiménez et al., 2022).
    ``loao``           leave one actor out: fold ``a - 1`` tests actor ``a``.
    ``kfold:K:SEED``   K actor-disjoint folds, balanced per class, shuffled with SEED.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from mmemo.errors import InputError

#: Test actors of each fold in Luna-Jiménez et al. (2022).
LUNA2022_TEST_ACTORS: tuple[tuple[int, ...], ...] = (
    (2, 5, 14, 15, 16),
    (3, 6, 7, 13, 18),
    (10, 11, 12, 19, 20),
    (8, 17, 21, 23, 24),
    (1, 4, 9, 22),
)
SCHEME_CHOICES = "luna2022, loao, kfold:K:SEED"

#: Number of clips per class for each actor: ``{actor: {class: count}}``.
ActorClassCounts = Mapping[int, Mapping[object, int]]


@dataclass(frozen=True)
class FoldScheme:
    """A named rule that maps actors to test folds."""

    name: str

    def assign(self, counts: ActorClassCounts) -> dict[int, int]:
        """Return ``{actor: fold}`` for the actors in ``counts``.

        Raises:
            InputError: an actor the scheme cannot place, or too few actors for the folds.
        """
        actors = sorted(counts)
        if not actors:
            raise InputError(f"fold scheme '{self.name}': no clips to assign")
        kind, _, rest = self.name.partition(":")
        if kind == "luna2022":
            table = {a: f for f, test in enumerate(LUNA2022_TEST_ACTORS) for a in test}
            unknown = [a for a in actors if a not in table]
            if unknown:
                raise InputError(
                    f"fold scheme 'luna2022' has no fold for actor(s) {unknown}; "
                    "it covers actors 1-24"
                )
            return {a: table[a] for a in actors}
        if kind == "loao":
            return {a: a - 1 for a in actors}
        k, seed = _parse_kfold(self.name)
        if len(actors) < k:
            raise InputError(
                f"fold scheme '{self.name}' needs at least {k} actors, got {len(actors)}"
            )
        return _stratified_actor_folds(counts, k, seed)


def parse_scheme(name: str) -> FoldScheme:
    """Validate a scheme name and return the scheme.

    Raises:
        InputError: unknown name, listing the valid choices.
    """
    kind = name.split(":", 1)[0]
    if name in ("luna2022", "loao"):
        return FoldScheme(name)
    if kind == "kfold":
        _parse_kfold(name)
        return FoldScheme(name)
    raise InputError(f"unknown fold scheme '{name}'; expected one of {SCHEME_CHOICES}")


def _parse_kfold(name: str) -> tuple[int, int]:
    parts = name.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        k, seed = int(parts[1]), int(parts[2])
    except ValueError:
        raise InputError(
            f"unknown fold scheme '{name}'; expected one of {SCHEME_CHOICES} (e.g. kfold:5:2020)"
        ) from None
    if k < 2:
        raise InputError(f"fold scheme '{name}': K must be at least 2")
    return k, seed


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
