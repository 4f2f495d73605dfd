"""The clips, labels and folds a cross-validated job works on, read from the store."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import sqlalchemy as sa

from mmemo.corpora.folds import parse_scheme
from mmemo.corpora.label_maps import MAP_PREFIX, LabelMap, label_map
from mmemo.errors import InputError
from mmemo.splits import Seed, split_actors
from mmemo.store.schema import FoldAssignment
from mmemo.store.selection import clip_where, empty_selection_error
from mmemo.store.store import Session, Store
from mmemo.store.vocabulary import Vocabulary, dataset_vocabulary


@dataclass
class CVData:
    """Clips of one selection under one fold scheme, sorted by clip id, with the classes of
    their dataset (``vocabulary``: its record, in its order).

    A fold's test part is its clips and its training part every other clip, unless ``parts``
    names each part's clips: a job over other runs' scores (a fusion: the clips they share;
    imported scores: the clips the files hold) has only the test clips as rows
    (:func:`given_parts`).
    """

    scheme: str
    clips: str
    clip_ids: np.ndarray
    emotions: np.ndarray  # class codes of the dataset's vocabulary
    actors: np.ndarray
    folds: np.ndarray
    snapshot_id: int
    new_folds: dict[int, int] = field(default_factory=dict)  # to record with the run
    vocabulary: Vocabulary = field(kw_only=True)
    parts: dict[tuple[int, str], np.ndarray] | None = field(default=None, kw_only=True)
    #: The label map the classes come from (``--labels``), and how many selected clips it
    #: left out (their label is none of its classes').
    label_map: LabelMap | None = field(default=None, kw_only=True)
    left_out: int = field(default=0, kw_only=True)

    @property
    def fold_ids(self) -> list[int]:
        """The folds that test clips (not :data:`~mmemo.corpora.folds.TRAIN_ONLY`)."""
        return sorted(f for f in set(self.folds.tolist()) if f >= 0)

    def part(self, fold: int, split: str) -> np.ndarray:
        """Clip ids of the ``split`` part (``test``, ``train`` or ``oof``: the training
        clips) of ``fold``, in row order."""
        if self.parts is not None:
            return self.parts.get((fold, split), np.array([], dtype=object))
        return self.clip_ids[self.folds == fold if split == "test" else self.folds != fold]

    def take(self, order: np.ndarray) -> CVData:
        """The same clips in another order (models like an MLP depend on row order)."""
        return replace(
            self,
            clip_ids=self.clip_ids[order],
            emotions=self.emotions[order],
            actors=self.actors[order],
            folds=self.folds[order],
        )

    def split(
        self,
        rows: np.ndarray,
        *,
        k: int | None = None,
        fraction: float | None = None,
        seed: Seed,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Actor-disjoint ``(kept rows, held-out rows)`` of the clips at ``rows`` (row indices
        of these clips): ``k`` folds stratified by emotion, or ``fraction`` of the actors held
        out; both ways through :func:`mmemo.splits.split_actors`, which fold schemes and models
        share with jobs.

        Raises:
            InputError: fewer than two actors, or ``k`` / ``fraction`` out of range.
        """
        rows = np.asarray(rows)
        parts = split_actors(
            self.actors[rows], self.emotions[rows], k=k, fraction=fraction, seed=seed
        )
        return [(rows[kept], rows[held]) for kept, held in parts]


def clip_labels(session: Session, dataset: str | None = None) -> dict[str, tuple[int, int]]:
    """Every clip's ``(emotion, actor)``, by clip id: the labels :func:`given_parts` needs.
    For runs of a label map (``dataset`` ``labels:NAME``), the class is the map's, and clips
    it does not take are not there."""
    if dataset is not None and dataset.startswith(MAP_PREFIX):
        rows = session.fetch(
            "SELECT c.clip_id, m.target, c.actor FROM clips AS c JOIN label_codes AS m "
            "ON m.map = ? AND m.dataset = c.dataset AND m.code = c.emotion",
            [dataset],
        )
    else:
        rows = session.fetch("SELECT clip_id, emotion, actor FROM clips")
    return {clip: (emotion, actor) for clip, emotion, actor in rows}


def given_parts(
    scheme: str,
    clips: str,
    snapshot_id: int,
    parts: dict[tuple[int, str], list[str]],
    labels: dict[str, tuple[int, int]],
    *,
    vocabulary: Vocabulary,
    new_folds: dict[int, int] | None = None,
) -> CVData:
    """The cross-validation of a run whose folds' parts are given (``parts``: the clip ids of
    each ``(fold, split)``): its rows are the test clips, each in the one fold that tests it;
    ``labels`` gives each clip's ``(emotion, actor)`` (:func:`clip_labels`)."""
    tested = sorted(
        (clip, fold) for (fold, split), ids in parts.items() if split == "test" for clip in ids
    )
    clip_ids = np.array([clip for clip, _ in tested])
    return CVData(
        scheme,
        clips,
        clip_ids,
        np.array([labels[c][0] for c in clip_ids.tolist()], dtype=np.int64),
        np.array([labels[c][1] for c in clip_ids.tolist()], dtype=np.int64),
        np.array([fold for _, fold in tested], dtype=np.int64),
        snapshot_id,
        dict(new_folds or {}),
        vocabulary=vocabulary,
        parts={key: np.array(ids) for key, ids in parts.items()},
    )


def select_clips(session: Session, clips: str | None) -> list[tuple[str, int, int]]:
    """(clip_id, emotion, actor) of the selected clips, by clip id.

    Raises:
        InputError: an invalid WHERE clause, or a selection with no clips.
    """
    where = clip_where(session, clips)
    try:
        rows = session.fetch(
            f"SELECT clip_id, emotion, actor FROM clips WHERE ({where}) ORDER BY clip_id"
        )
    except duckdb.Error as exc:  # a run-time error (a failed cast ...), not a typo
        raise InputError(f"--clips {clips!r}: {str(exc).splitlines()[0]}") from None
    if not rows:
        raise empty_selection_error(session, clips)
    return rows


def selection_vocabulary(session: Session, clips: str | None) -> Vocabulary:
    """The classes of the dataset the selected clips belong to (its record, in its order).

    Raises:
        InputError: the selection spans several datasets (their class codes mean different
            things); the message says how to select one.
    """
    where = clip_where(session, clips)
    query = f"SELECT DISTINCT dataset FROM clips WHERE ({where}) ORDER BY dataset"
    datasets = [d for (d,) in session.fetch(query)]
    if len(datasets) > 1:
        raise InputError(
            f"--clips {clips or 'all'!r} spans the datasets {', '.join(datasets)}, whose classes "
            f"differ: select one, e.g. --clips \"dataset = '{datasets[0]}'\""
        )
    return dataset_vocabulary(session.con, datasets[0] if datasets else None)


def fold_assignment(
    session: Session,
    scheme: str,
    counts: dict[int, Counter],
    datasets: dict[int, tuple[str, str]] | None = None,
) -> tuple[dict[int, int], dict[int, int]]:
    """``{actor: fold}`` of ``scheme`` for these actors, and the part not yet recorded
    (``datasets``: each actor's dataset and speaker, for a scheme over corpora), read in the
    caller's session (a job reads its clips in the same one).

    Nothing is written here: the job that uses a scheme first records its assignment together
    with its run (:func:`unrecorded_folds`), so a refused job leaves the store as it was. Later
    uses read it back, so a scheme never changes (for ``kfold`` the class balance is that of
    the clips it was first used on; for a scheme over corpora, the corpora it was first used
    on).
    """
    parsed = parse_scheme(scheme)
    known = _recorded(session, scheme)
    missing = sorted(set(counts) - set(known))
    new: dict[int, int] = {}
    if parsed.by_corpus:
        assigned = parsed.assign(counts, datasets)
        moved = sorted(a for a in counts if a in known and known[a] != assigned[a])
        if moved:
            raise InputError(
                f"fold scheme '{scheme}' was fixed on other corpora: these clips would move "
                f"actor(s) {moved[:5]} to other folds; select the corpora it was first used on"
            )
        new = {a: assigned[a] for a in missing}
    elif missing:
        if known and scheme.startswith("kfold"):
            raise InputError(
                f"fold scheme '{scheme}' was fixed on actors {sorted(known)}; actor(s) {missing} "
                "are new to it: use another seed for a new scheme"
            )
        assigned = parsed.assign(counts)
        new = {a: assigned[a] for a in missing}
    merged = {**known, **new}
    return {a: merged[a] for a in counts}, new


def unrecorded_folds(session: Session, scheme: str, new: dict[int, int]) -> list[FoldAssignment]:
    """Registry rows for a scheme's new actor assignments that no other job recorded since
    (the run that uses them first adds them with its completion)."""
    if not new:
        return []
    recorded = _recorded(session, scheme)
    return [
        FoldAssignment(scheme=scheme, actor=a, fold=f)
        for a, f in sorted(new.items())
        if a not in recorded
    ]


def _recorded(session: Session, scheme: str) -> dict[int, int]:
    with session.orm() as orm:
        query = sa.select(FoldAssignment).where(FoldAssignment.scheme == scheme)
        return {a.actor: a.fold for a in orm.scalars(query)}


def load_cv(store: Store, scheme: str, clips: str | None, labels: str | None = None) -> CVData:
    """Read the selection and the scheme's folds (recording the scheme on first use); with
    ``labels`` (a label map, :func:`mmemo.corpora.label_maps.label_map`), each clip's class
    is the map's, and clips it does not take are left out (counted in ``left_out``).

    Raises:
        InputError: a bad selection, scheme or map; a selection that spans datasets without
            a map; a map that takes none of the selected clips.
    """
    parse_scheme(scheme)
    mapping = label_map(labels) if labels else None
    left_out = 0
    with store.session() as s:
        rows = select_clips(s, clips)
        snapshot = s.current_snapshot()
        datasets = _actor_datasets(s, clips) if parse_scheme(scheme).by_corpus else None
        if mapping is None:
            vocabulary = selection_vocabulary(s, clips)
        else:
            vocabulary = mapping.vocabulary
            rows, left_out = _mapped(s, clips, rows, mapping)
        counts: dict[int, Counter] = defaultdict(Counter)
        for _, emotion, actor in rows:
            counts[actor][emotion] += 1
        assignment, new = fold_assignment(s, scheme, counts, datasets)
    clip_ids = np.array([r[0] for r in rows])
    emotions = np.array([r[1] for r in rows], dtype=np.int64)
    actors = np.array([r[2] for r in rows], dtype=np.int64)
    folds = np.array([assignment[a] for a in actors.tolist()], dtype=np.int64)
    return CVData(
        scheme,
        clips or "all",
        clip_ids,
        emotions,
        actors,
        folds,
        snapshot,
        new,
        vocabulary=vocabulary,
        label_map=mapping,
        left_out=left_out,
    )


def _actor_datasets(session: Session, clips: str | None) -> dict[int, tuple[str, str]]:
    """Each selected actor's dataset and speaker name, for a scheme over corpora.

    Raises:
        InputError: an actor number two corpora share (a speaker who could be trained and
            tested on): the leakage audits would fail the run.
    """
    where = clip_where(session, clips)
    rows = session.fetch(f"SELECT DISTINCT actor, dataset, speaker FROM clips WHERE ({where})")
    found: dict[int, tuple[str, str]] = {}
    for actor, dataset, speaker in rows:
        if actor in found and found[actor][0] != dataset:
            raise InputError(
                f"actor {actor} is in the datasets {found[actor][0]} and {dataset}: a scheme "
                "over corpora cannot tell them apart"
            )
        found[actor] = (dataset, speaker)
    return found


def _mapped(
    session: Session, clips: str | None, rows: list[tuple[str, int, int]], mapping: LabelMap
) -> tuple[list[tuple[str, int, int]], int]:
    """The selected clips the map takes, each with its class in the map, and how many it
    left out.

    Raises:
        InputError: the map takes none of them.
    """
    where = clip_where(session, clips)
    labels = dict(session.fetch(f"SELECT clip_id, lower(label) FROM clips WHERE ({where})"))
    codes = dict(zip(mapping.labels, mapping.vocabulary.codes, strict=True))
    targets = {label: mapping.target(label) for label in set(labels.values())}
    kept = []
    for clip_id, _, actor in rows:
        target = targets[labels[clip_id]]
        if target is not None:
            kept.append((clip_id, codes[target], actor))
    if not kept:
        found = sorted(set(labels.values()))
        raise InputError(
            f"--labels {mapping.name}: takes none of the selected clips' labels "
            f"({', '.join(found)}); its classes are {', '.join(mapping.labels)}"
        )
    return kept, len(rows) - len(kept)


def fold_count(store: Store, scheme: str, clips: str | None, labels: str | None = None) -> int:
    """How many folds of ``scheme`` test some of the ``clips`` (one Slurm task each)."""
    return len(load_cv(store, scheme, clips, labels).fold_ids)


def describe_folds(
    store: Store, scheme: str, clips: str | None, labels: str | None = None
) -> list[dict]:
    """Per fold: test actors, number of test clips and clips per class (the dataset's
    order, or the label map's)."""
    cv = load_cv(store, scheme, clips, labels)
    out = []
    for fold in cv.fold_ids:
        mask = cv.folds == fold
        vocabulary = cv.vocabulary
        counts = np.bincount(vocabulary.index_of(cv.emotions[mask]), minlength=len(vocabulary))
        out.append(
            {
                "fold": fold,
                "actors": sorted(set(cv.actors[mask].tolist())),
                "n": int(mask.sum()),
                "classes": dict(zip(vocabulary.labels, counts.tolist(), strict=True)),
            }
        )
    return out
