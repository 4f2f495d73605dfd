"""Fold schemes: the one place that knows which actors are tested in which fold.

Every scheme is subject-wise (actor-disjoint): an actor's clips are all in the test part of
exactly one fold and in the training part of every other fold.

Schemes are registered by name with :func:`register_scheme` (a name is registered once);
a parametrised scheme parses the rest of its name (``kfold:K:SEED``). Built-in schemes:
    ``luna2022``       the paper's five actor folds (Luna-Jiménez et al., 2022).
    ``loao``           leave one actor out: fold ``a - 1`` tests actor ``a``.
    ``kfold:K:SEED``   K actor-disjoint folds, balanced per class, shuffled with SEED
                       (scikit-learn's ``StratifiedGroupKFold``, :mod:`mmemo.splits`).
    ``emobox``         EmoBox's RAVDESS protocol: six folds of four actors (Ma et al., 2024).
    ``gender6``        six folds of two men and two women each.
    ``corpora``        leave one corpus out: fold ``i`` tests the ``i``-th corpus (by name) of
                       the clips and trains on the others (every direction of a cross-corpus
                       experiment in one run).
    ``cross:FROM:TO``  train on all of corpus FROM, test on all of corpus TO (one fold;
                       FROM's actors are in fold -1, trained on and never tested).
    ``sessions``       IEMOCAP's leave one session out: fold s - 1 tests session s.
``emobox`` is EmoBox's folds of whichever corpus the clips belong to: RAVDESS's table, or
the folds a corpus ingested from EmoBox's manifests names (``mmemo ingest emobox``).
The fixed tables, with their sources, are data in :mod:`mmemo.corpora.schemes_data`.

A scheme over corpora is given each actor's dataset besides the class counts
(``by_corpus``); an actor number two corpora share is refused there, since a speaker in two
corpora could then be trained and tested on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mmemo.corpora.schemes_data import EMOBOX, LUNA2022, TABLES, SchemeTable
from mmemo.errors import InputError

#: Test actors of each fold in Luna-Jiménez et al. (2022).
LUNA2022_TEST_ACTORS: tuple[tuple[int, ...], ...] = LUNA2022.test_actors

#: Number of clips per class for each actor: ``{actor: {class: count}}``.
ActorClassCounts = Mapping[int, Mapping[object, int]]
#: A scheme builder: ``(counts, *arguments) -> {actor: fold}``.
SchemeBuilder = Callable[..., dict[int, int]]
#: Parses the arguments of a scheme name (``kfold:5:2020`` -> ``(5, 2020)``).
ArgumentParser = Callable[[str, list[str]], tuple[Any, ...]]
#: The fold of actors a scheme trains on in every fold and tests in none.
TRAIN_ONLY = -1
#: The speaker groups of a corpus ingested from EmoBox's manifests, which name no speakers:
#: ``fold1`` ... (the clips EmoBox's fold N tests) and ``train`` (clips no fold tests).
EMOBOX_FOLD, EMOBOX_TRAIN_ONLY = "fold", "train"


@dataclass(frozen=True)
class _Registered:
    build: SchemeBuilder
    usage: str
    parse: ArgumentParser
    about: str
    by_corpus: bool = False


_SCHEMES: dict[str, _Registered] = {}


def register_scheme(
    kind: str,
    *,
    usage: str | None = None,
    arguments: ArgumentParser | None = None,
    about: str = "",
    by_corpus: bool = False,
) -> Callable[[SchemeBuilder], SchemeBuilder]:
    """Register the builder of the fold scheme ``kind`` (a decorator).

    Args:
        kind: the scheme's name, or the part before the first ``:`` of a parametrised one.
        usage: how the scheme is written in choices lists (default ``kind``),
            e.g. ``kfold:K:SEED``.
        arguments: ``(name, parts) -> args`` for a parametrised scheme (``parts``: the name's
            ``:``-separated parts after ``kind``); raises :class:`InputError` on bad ones.
            Without it the scheme takes no arguments.
        about: one line for help texts (what the scheme is, and its source).
        by_corpus: the builder takes each actor's dataset and speaker name
            (``{actor: (dataset, speaker)}``) after the counts.

    Raises:
        ValueError: ``kind`` is registered already.
    """

    def decorate(build: SchemeBuilder) -> SchemeBuilder:
        if kind in _SCHEMES:
            raise ValueError(f"fold scheme '{kind}' is registered twice")
        _SCHEMES[kind] = _Registered(
            build, usage or kind, arguments or _no_arguments, about, by_corpus
        )
        return build

    return decorate


def scheme_choices() -> str:
    """The registered schemes as users write them: ``luna2022, loao, kfold:K:SEED, ...``."""
    return ", ".join(entry.usage for entry in _SCHEMES.values())


def scheme_help() -> list[tuple[str, str]]:
    """``(usage, about)`` of every registered scheme, for help texts."""
    return [(entry.usage, entry.about) for entry in _SCHEMES.values()]


@dataclass(frozen=True)
class FoldScheme:
    """A named rule that maps actors to test folds."""

    name: str

    @property
    def by_corpus(self) -> bool:
        """Whether the scheme places actors by their corpus (it needs their datasets)."""
        return _resolve(self.name)[0].by_corpus

    def assign(
        self, counts: ActorClassCounts, actors: Mapping[int, tuple[str, str]] | None = None
    ) -> dict[int, int]:
        """Return ``{actor: fold}`` for the actors in ``counts`` (``actors``: each actor's
        dataset and speaker name, which a scheme over corpora needs).

        Raises:
            InputError: an unknown scheme, an actor the scheme cannot place, or too few
                actors for the folds.
        """
        entry, args = _resolve(self.name)
        if not counts:
            raise InputError(f"fold scheme '{self.name}': no clips to assign")
        if entry.by_corpus:
            return entry.build(counts, dict(actors or {}), *args)
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


def _register_table(table: SchemeTable) -> None:
    """Register a fixed table of test actors (:mod:`mmemo.corpora.schemes_data`)."""
    folds = table.folds
    covered = _actor_ranges(sorted(folds))

    def build(counts: ActorClassCounts) -> dict[int, int]:
        actors = sorted(counts)
        unknown = [a for a in actors if a not in folds]
        if unknown:
            raise InputError(
                f"fold scheme '{table.name}' has no fold for actor(s) {unknown}; "
                f"it covers actors {covered}"
            )
        return {a: folds[a] for a in actors}

    build.__doc__ = f"{table.about} ({table.source})."
    register_scheme(table.name, about=f"{table.about}; {table.source}")(build)


def _actor_ranges(actors: list[int]) -> str:
    """``1-24`` for consecutive actors, else the list."""
    if actors == list(range(actors[0], actors[-1] + 1)):
        return f"{actors[0]}-{actors[-1]}"
    return ", ".join(map(str, actors))


# luna2022 first: choices lists read "luna2022, loao, kfold:K:SEED, emobox, gender6".
_register_table(LUNA2022)


@register_scheme("loao", about="leave one actor out: fold a - 1 tests actor a")
def _leave_one_actor_out(counts: ActorClassCounts) -> dict[int, int]:
    """Fold ``a - 1`` tests actor ``a``."""
    return {a: a - 1 for a in sorted(counts)}


@register_scheme(
    "kfold",
    usage="kfold:K:SEED",
    arguments=_kfold_arguments,
    about="K actor-disjoint folds, balanced per class, shuffled with SEED (fixed on first use)",
)
def _kfold(counts: ActorClassCounts, k: int, seed: int) -> dict[int, int]:
    """``k`` actor-disjoint, class-balanced folds, shuffled with ``seed``: scikit-learn's
    ``StratifiedGroupKFold`` over one row per clip (:func:`mmemo.splits.split_actors`).
    NumPy is imported here, not with the module: ``mmemo --help`` lists the schemes without
    loading it."""
    import numpy as np

    from mmemo.splits import split_actors

    if len(counts) < k:
        raise InputError(
            f"fold scheme 'kfold:{k}:{seed}' needs at least {k} actors, got {len(counts)}"
        )
    empty = sorted(a for a, per_class in counts.items() if not sum(per_class.values()))
    if empty:
        raise InputError(f"fold scheme 'kfold:{k}:{seed}': actor(s) {empty} have no clips to place")
    actors = sorted(counts)
    classes = sorted({c for per_actor in counts.values() for c in per_actor}, key=str)
    # One row per clip (actor by actor, class by class): what the splitter stratifies.
    per_cell = np.array([[counts[a].get(c, 0) for c in classes] for a in actors]).ravel()
    clip_actor = np.repeat(np.repeat(actors, len(classes)), per_cell)
    clip_class = np.repeat(np.tile(np.arange(len(classes)), len(actors)), per_cell)
    splits = split_actors(clip_actor, clip_class, k=k, seed=seed)
    fold = {
        a: f for f, (_, held) in enumerate(splits) for a in np.unique(clip_actor[held]).tolist()
    }
    return {a: fold[a] for a in actors}


def _emobox(counts: ActorClassCounts, actors: ActorCorpora) -> dict[int, int]:
    """EmoBox's published folds of whichever corpus the clips belong to: RAVDESS's from
    its table (:data:`~mmemo.corpora.schemes_data.EMOBOX`), a corpus ingested from EmoBox's
    manifests (``mmemo ingest emobox``) from the fold its speaker group names (``fold3`` is
    fold 2; ``train``, clips no fold tests, trains only)."""
    folds = dict(EMOBOX.folds)
    unknown = [a for a in sorted(counts) if actors.get(a, ("ravdess",))[0] == "ravdess"]
    unknown = [a for a in unknown if a not in folds]
    if unknown:
        raise InputError(
            f"fold scheme 'emobox' has no fold for actor(s) {unknown}; it covers actors "
            f"{_actor_ranges(sorted(folds))}"
        )
    placed = {}
    for actor in sorted(counts):
        dataset, speaker = actors.get(actor, ("ravdess", ""))
        if dataset == "ravdess":
            placed[actor] = folds[actor]
        elif speaker == EMOBOX_TRAIN_ONLY:
            placed[actor] = TRAIN_ONLY
        elif speaker.startswith(EMOBOX_FOLD) and speaker[len(EMOBOX_FOLD) :].isdigit():
            placed[actor] = int(speaker[len(EMOBOX_FOLD) :]) - 1
        else:
            raise InputError(
                f"fold scheme 'emobox': {dataset} has no EmoBox folds (ingest EmoBox's "
                "manifests of it with `mmemo ingest emobox`)"
            )
    return placed


for _table in TABLES:
    if _table is EMOBOX:
        register_scheme(
            "emobox",
            about=f"EmoBox's published folds of the clips' corpus (RAVDESS: {EMOBOX.about}); "
            f"{EMOBOX.source}",
            by_corpus=True,
        )(_emobox)
    elif _table is not LUNA2022:
        _register_table(_table)


#: Each actor's (dataset, speaker name): what a scheme over corpora places actors by.
ActorCorpora = Mapping[int, tuple[str, str]]


def _corpora_of(name: str, counts: ActorClassCounts, actors: ActorCorpora) -> list[str]:
    """The datasets of the actors, in name order.

    Raises:
        InputError: an actor whose dataset is not known.
    """
    unknown = sorted(a for a in counts if a not in actors)
    if unknown:
        raise InputError(f"fold scheme '{name}': no dataset for actor(s) {unknown}")
    return sorted({actors[a][0] for a in counts})


@register_scheme(
    "corpora",
    about="leave one corpus out: fold i tests the i-th corpus of the clips (by name)",
    by_corpus=True,
)
def _leave_one_corpus_out(counts: ActorClassCounts, actors: ActorCorpora) -> dict[int, int]:
    """Fold ``i`` tests every actor of the ``i``-th dataset, in name order."""
    corpora = _corpora_of("corpora", counts, actors)
    if len(corpora) < 2:
        raise InputError(
            f"fold scheme 'corpora' needs clips of two corpora at least; these are all "
            f"{corpora[0]}'s"
        )
    return {a: corpora.index(actors[a][0]) for a in sorted(counts)}


def _cross_arguments(name: str, parts: list[str]) -> tuple[str, str]:
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise InputError(
            f"fold scheme '{name}': expected cross:FROM:TO with two corpora, "
            "e.g. cross:ravdess:crema-d"
        )
    return parts[0], parts[1]


@register_scheme(
    "cross",
    usage="cross:FROM:TO",
    arguments=_cross_arguments,
    about="train on all of one corpus, test on all of another (one fold)",
    by_corpus=True,
)
def _cross_corpus(
    counts: ActorClassCounts, actors: ActorCorpora, train: str, test: str
) -> dict[int, int]:
    """Fold 0 tests every actor of ``test``; ``train``'s actors are trained on only."""
    name = f"cross:{train}:{test}"
    corpora = _corpora_of(name, counts, actors)
    other = [c for c in corpora if c not in (train, test)]
    missing = [c for c in (train, test) if c not in corpora]
    if other or missing:
        raise InputError(
            f"fold scheme '{name}' takes clips of {train} and {test}; "
            + (f"these include {', '.join(other)}" if other else f"none are {missing[0]}'s")
        )
    return {a: 0 if actors[a][0] == test else TRAIN_ONLY for a in sorted(counts)}


@register_scheme(
    "sessions",
    about="leave one session out: fold s - 1 tests IEMOCAP's session s (both its actors)",
    by_corpus=True,
)
def _leave_one_session_out(counts: ActorClassCounts, actors: ActorCorpora) -> dict[int, int]:
    """Fold ``s - 1`` tests session ``s``: its speakers are named ``SesNNF`` / ``SesNNM``."""
    placed = {}
    for actor in sorted(counts):
        dataset, speaker = actors.get(actor, ("", ""))
        if dataset != "iemocap" or not speaker[3:5].isdigit():
            raise InputError(
                f"fold scheme 'sessions' is IEMOCAP's; actor {actor} is of {dataset or 'no corpus'}"
            )
        placed[actor] = int(speaker[3:5]) - 1
    return placed
