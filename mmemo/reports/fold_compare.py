"""Two fold schemes side by side: which actors (and so which clips) change test fold.

Every scheme is actor-wise, so clips move with their actor. Fold numbers of two schemes are
labels of their own; besides "same fold number", an actor's *companions* (the other actors
tested in its fold) say whether the actor is tested in the same company under both schemes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from mmemo.errors import InputError
from mmemo.jobs.cv import load_cv
from mmemo.store.store import Store


@dataclass(frozen=True)
class ActorMove:
    """One actor under two schemes.

    Attributes:
        actor: RAVDESS actor number.
        gender: ``male`` or ``female``.
        clips: the actor's clips in the selection.
        fold_a: the fold that tests the actor under scheme A.
        fold_b: the same under scheme B.
        with_a: the other actors tested in ``fold_a``.
        with_b: the other actors tested in ``fold_b``.
    """

    actor: int
    gender: str
    clips: int
    fold_a: int
    fold_b: int
    with_a: tuple[int, ...]
    with_b: tuple[int, ...]

    @property
    def moves(self) -> bool:
        """The actor's test fold number differs between the schemes."""
        return self.fold_a != self.fold_b

    @property
    def same_company(self) -> bool:
        """The actor is tested together with the same actors under both schemes."""
        return self.with_a == self.with_b


@dataclass(frozen=True)
class FoldComparison:
    """Actors of a clip selection under schemes ``a`` and ``b``."""

    a: str
    b: str
    clips: str
    actors: list[ActorMove]

    @property
    def n_clips(self) -> int:
        return sum(m.clips for m in self.actors)

    @property
    def moved_clips(self) -> int:
        """Clips whose test fold number differs between the schemes."""
        return sum(m.clips for m in self.actors if m.moves)

    @property
    def moved_actors(self) -> int:
        return sum(m.moves for m in self.actors)

    @property
    def regrouped_actors(self) -> int:
        """Actors tested with other companions under ``b`` than under ``a``."""
        return sum(not m.same_company for m in self.actors)

    def summary(self) -> str:
        """One line: how many clips and actors change test fold."""
        return (
            f"{self.moved_clips} of {self.n_clips} clip(s) ({self.moved_actors} of "
            f"{len(self.actors)} actor(s)) change test fold from {self.a} to {self.b}; "
            f"{self.regrouped_actors} actor(s) are tested with other actors"
        )


def compare_schemes(store: Store, a: str, b: str, clips: str | None = None) -> FoldComparison:
    """Place the actors of ``clips`` under schemes ``a`` and ``b`` and compare (read-only: a
    scheme used for the first time is assigned, not recorded).

    Raises:
        InputError: the same scheme twice, an unknown scheme, a scheme that cannot place an
            actor of the selection, or an empty selection.
    """
    if a == b:
        raise InputError(f"folds compare: give two different schemes, got '{a}' twice")
    cv_a, cv_b = load_cv(store, a, clips), load_cv(store, b, clips)
    fold_a = dict(zip(cv_a.actors.tolist(), cv_a.folds.tolist(), strict=True))
    fold_b = dict(zip(cv_b.actors.tolist(), cv_b.folds.tolist(), strict=True))
    counts = Counter(cv_a.actors.tolist())
    members_a = _members(fold_a)
    members_b = _members(fold_b)
    actors = [
        ActorMove(
            actor=actor,
            gender="male" if actor % 2 == 1 else "female",  # RAVDESS: odd = male
            clips=counts[actor],
            fold_a=fold_a[actor],
            fold_b=fold_b[actor],
            with_a=tuple(x for x in members_a[fold_a[actor]] if x != actor),
            with_b=tuple(x for x in members_b[fold_b[actor]] if x != actor),
        )
        for actor in sorted(counts)
    ]
    return FoldComparison(a, b, cv_a.clips, actors)


def _members(folds: dict[int, int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = {}
    for actor, fold in sorted(folds.items()):
        members.setdefault(fold, []).append(actor)
    return members
