"""Actor-disjoint splits of clips, on scikit-learn's group splitters: the one place that
decides which actors' clips are held out, for the generated fold schemes (``kfold:K:SEED``),
the inner folds of ``--inner K`` and the bi-LSTM's early-stopping validation split.

1. **K folds** (``StratifiedGroupKFold``): every clip is held out exactly once, an actor's
   clips all in one fold, each fold's classes as close to the whole's proportions as whole
   actors allow. The actors are shuffled here, with Python's ``random.Random(seed)``, and
   handed to the splitter in that order (``shuffle=False``), for two reasons. The splitter's
   own shuffle changed in late 2025 (scikit-learn PR #32540: before it, ``shuffle=True`` lost
   track of which group was which and did not stratify at all), so with it ``kfold:5:2020``
   would name other folds under scikit-learn releases this package allows (``>=1.3``). And
   this is the shuffle of the hand-written splitter it replaces, so on actors alike in their
   clips per class (the corpus, the synthetic one, selections by sentence or intensity)
   ``kfold:2:SEED`` keeps its folds for every seed and actor count tried (2-24 actors, 200
   seeds), as does ``kfold:3:SEED`` on the 24 actors (``tests/corpora/test_folds.py`` pins
   both). From four folds on, the splitter breaks its ties by floating-point noise in a
   standard deviation rather than by fold number, so some actors move (``kfold:5:2020`` on the
   24 actors: 4 of them). The inner folds of ``--inner K`` were dealt in NumPy's order
   before, so they differ too; nothing published or pinned depends on either.
2. **One hold-out split** (``GroupShuffleSplit``): ``round(fraction × actors)`` actors (at
   least 1, at most all but one) are held out; a draw whose training side misses a class is
   passed over (up to ``max_tries`` draws, then the first is used), so a model fitted on it
   sees every class. With two actors it holds out the one the hand-written draw did for the
   demo's seed (a test pins it); with more, other actors.

A fold scheme is recorded in the store on first use, so a store keeps its folds whatever this
module does later. scikit-learn is imported inside the functions: ``mmemo --help`` does not
load it.
"""

from __future__ import annotations

import itertools
import random
import warnings

import numpy as np

from mmemo.errors import InputError

#: A seed: one integer, or several (``(run seed, outer fold)``) for a draw of its own per fold.
Seed = int | tuple[int, ...]
#: ``(kept positions, held-out positions)``, both sorted positions into the inputs.
Split = tuple[np.ndarray, np.ndarray]


def split_actors(
    actors: np.ndarray,
    y: np.ndarray,
    *,
    k: int | None = None,
    fraction: float | None = None,
    seed: Seed,
    max_tries: int = 100,
) -> list[Split]:
    """Split clips into actor-disjoint parts: ``k`` folds or one ``fraction`` held out.

    Args:
        actors: Actor id of every clip.
        y: Class of every clip (K folds are stratified by it; a hold-out keeps every class on
            its training side).
        k: Number of folds (2 to the number of actors): ``k`` splits whose held-out parts
            together hold every clip exactly once.
        fraction: Share of the actors to hold out (strictly between 0 and 1): one split.
        seed: Seed of the draw; the same seed and inputs give the same split.
        max_tries: Hold-out draws tried before settling for one that misses a class.

    Returns:
        ``[(kept, held_out), ...]``: ``k`` splits, or one for ``fraction``.

    Raises:
        InputError: Mismatched inputs, fewer than two actors, ``k`` out of range or a
            ``fraction`` outside (0, 1).
        ValueError: Neither or both of ``k`` and ``fraction`` given.
    """
    actors, y = np.asarray(actors), np.asarray(y)
    if actors.shape != y.shape or actors.ndim != 1:
        raise InputError(
            f"actor-disjoint split: {actors.shape} actor ids for {y.shape} labels; expected two "
            "1-d arrays of the same length"
        )
    if k is not None and fraction is not None:
        raise ValueError("split_actors: give k or fraction, not both")
    n = len(np.unique(actors))
    if n < 2:
        raise InputError(f"actor-disjoint split: need at least two actors, got {n}")
    if k is not None:
        if not 2 <= k <= n:
            raise InputError(
                f"actor-disjoint split: {k} folds of {n} actors; K must be at least 2 and at most "
                "the number of actors"
            )
        return _folds(actors, y, k, seed)
    if fraction is None:
        raise ValueError("split_actors: give k or fraction")
    if not 0.0 < fraction < 1.0:
        raise InputError(
            f"actor-disjoint split: fraction must lie strictly between 0 and 1, got {fraction}"
        )
    return [_hold_out(actors, y, fraction, seed, max_tries)]


def _folds(actors: np.ndarray, y: np.ndarray, k: int, seed: Seed) -> list[Split]:
    from sklearn.model_selection import StratifiedGroupKFold

    order = sorted(np.unique(actors).tolist())
    random.Random(_seed32(seed)).shuffle(order)
    # Without its own shuffle the splitter takes groups in the order of their labels (a stable
    # sort keeps it among actors alike in class spread): label each actor by its place in ours.
    place = {actor: i for i, actor in enumerate(order)}
    groups = np.array([place[a] for a in actors.tolist()])
    labels = np.unique(y, return_inverse=True)[1].reshape(-1)
    if (np.bincount(labels) < k).all():
        labels = np.zeros_like(labels)  # no class fills K folds: balance clip counts alone
    with warnings.catch_warnings():
        # "The least populated class in y has only N members": a class rarer than K folds is
        # spread as far as it goes; the actor constraint decides anyway.
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=False)
        return list(splitter.split(np.zeros((len(y), 1)), labels, groups))


def _hold_out(
    actors: np.ndarray, y: np.ndarray, fraction: float, seed: Seed, max_tries: int
) -> Split:
    from sklearn.model_selection import GroupShuffleSplit

    n = len(np.unique(actors))
    held = int(min(max(round(fraction * n), 1), n - 1))
    splitter = GroupShuffleSplit(
        n_splits=max(1, max_tries), test_size=held, random_state=_seed32(seed)
    )
    classes = np.unique(y)
    draws = splitter.split(np.zeros((len(y), 1)), y, actors)
    first = next(draws)  # max(1, max_tries) draws: there is one
    for kept, out in itertools.chain([first], draws):
        if np.array_equal(np.unique(y[kept]), classes):
            return kept, out
    return first


def _seed32(seed: Seed) -> int:
    """``seed`` as the one 32-bit integer that NumPy's ``RandomState`` (scikit-learn's
    ``random_state``) takes: itself where it is one, else drawn from a ``SeedSequence`` of it,
    so that ``(seed, fold)`` pairs, large and negative seeds work alike."""
    if isinstance(seed, int | np.integer):
        if 0 <= seed < 2**32:
            return int(seed)
        seed = (int(seed),)
    return int(np.random.SeedSequence([int(s) % 2**64 for s in seed]).generate_state(1)[0])
