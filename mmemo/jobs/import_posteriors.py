"""``mmemo import posteriors``: scores someone already has, as a run like any other."""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa

from mmemo.corpora.classes import class_codes
from mmemo.errors import InputError, listing
from mmemo.features.imported import clip_ids_from, pick_id_column, read_table
from mmemo.hashing import sha256_files
from mmemo.jobs.cv import clip_labels, fold_assignment, given_parts
from mmemo.jobs.runs import RunInfo, RunSpec, check_run_name
from mmemo.jobs.shared_runs import store_whole
from mmemo.jobs.specs import ImportSpec
from mmemo.models.base import FoldResult
from mmemo.store.store import Store
from mmemo.store.vocabulary import dataset_vocabulary

KINDS = ("logits", "probs", "decision")


def import_posteriors(store: Store, spec: ImportSpec) -> RunInfo:
    """Import per-clip scores from the CSV/parquet files of ``spec`` as the run ``spec.name``
    (its columns reordered to ascending class codes).

    Raises:
        InputError: see the checks in the command's help; the store is unchanged.
    """
    started = time.perf_counter()
    check_run_name(store, spec.name)
    kind, fold_col, split_col, files = spec.kind, spec.fold_col, spec.split_col, spec.files
    if kind not in KINDS:
        raise InputError(f"--kind {kind!r}: expected one of {', '.join(KINDS)}")
    if (fold_col is None) == (spec.fold is None):
        raise InputError("give the fold with either --fold-col COL or --fold N")
    if (split_col is None) == (spec.split is None):
        raise InputError("give the split with either --split-col COL or --split train|test")
    named = [c for c in spec.classes.split(",") if c.strip()]
    records = []  # (fold, split, clip_id, scores)
    for path in files:
        records += _read(Path(path), spec, len(named))
    with store.session() as s:
        labels = clip_labels(s)
        known = {clip: actor for clip, (_, actor) in labels.items()}
        unknown = sorted({r[2] for r in records if r[2] not in known})
        if unknown:
            raise InputError(f"{len(unknown)} clip id(s) unknown to the store: {listing(unknown)}")
        vocabulary = _records_vocabulary(s, {r[2] for r in records})
    codes = class_codes(spec.classes, vocabulary, option="--classes", dataset="the dataset's")
    emotions = {clip: emotion for clip, (emotion, _) in labels.items()}
    new_folds = _check_records(store, spec.scheme, records, known, emotions)
    order = np.argsort(codes)
    run_spec = RunSpec(
        name=spec.name,
        kind="import",
        model="imported",
        params={"kind": kind, "classes_given": codes},
        inputs={"files": [str(p) for p in files], "sha256": sha256_files(Path(p) for p in files)},
    )
    by_part: dict[tuple[int, str], list[tuple[str, np.ndarray]]] = defaultdict(list)
    for fold, split, clip, scores in records:
        by_part[fold, split].append((clip, scores[order]))  # columns in ascending class codes
    trained = {
        fold: (_scores_of(by_part, fold, sorted(codes), kind), 0.0)  # no model trained
        for fold in sorted({fold for fold, _ in by_part})
    }
    parts = {key: [clip for clip, _ in rows] for key, rows in by_part.items()}
    cv = given_parts(
        spec.scheme, "imported", None, parts, labels, vocabulary=vocabulary, new_folds=new_folds
    )
    return store_whole(store, run_spec, cv, trained, started=started)


def _records_vocabulary(session, clip_ids: set[str]):
    """The vocabulary of the dataset the imported clips belong to.

    Raises:
        InputError: the clips belong to several datasets (their class codes differ).
    """
    datasets = [
        d
        for (d,) in session.fetch(
            "SELECT DISTINCT c.dataset FROM clips AS c "
            "JOIN (SELECT unnest(?) AS clip_id) USING (clip_id) ORDER BY 1",
            [sorted(clip_ids)],
        )
    ]
    if len(datasets) > 1:
        raise InputError(
            f"the scores are of clips of several datasets ({', '.join(datasets)}), whose "
            "classes differ: import each dataset's as a run of its own"
        )
    return dataset_vocabulary(session.con, datasets[0] if datasets else None)


def _scores_of(by_part, fold: int, classes: list[int], kind: str) -> FoldResult:
    """The imported scores of one fold as a model's result would hold them."""

    def block(split: str) -> np.ndarray:
        rows = by_part.get((fold, split), [])
        return np.array([s for _, s in rows]).reshape(len(rows), len(classes))

    return FoldResult(classes, kind, block("train"), block("test"), model=None)


def _read(path: Path, spec: ImportSpec, n_classes: int) -> list[tuple]:
    fold_col, split_col, score_cols = spec.fold_col, spec.split_col, spec.score_cols
    table = read_table(path)
    id_name = pick_id_column(table, spec.id_col, path)
    for col in (fold_col, split_col):
        if col is not None and col not in table.column_names:
            raise InputError(f"{path}: no column {col!r}; columns: {', '.join(table.column_names)}")
    skip = {id_name, fold_col, split_col, "fold", "split"}
    pattern = re.compile(score_cols) if score_cols else None
    cols = [
        c
        for c, t in zip(table.column_names, table.schema.types, strict=True)
        if c not in skip
        and (
            pattern.fullmatch(c) if pattern else (pa.types.is_floating(t) or pa.types.is_integer(t))
        )
    ]
    if len(cols) != n_classes:
        raise InputError(
            f"{path}: {len(cols)} score column(s) ({', '.join(cols)}) but --classes names "
            f"{n_classes}"
        )
    try:
        scores = np.column_stack([table[c].to_numpy(zero_copy_only=False) for c in cols]).astype(
            np.float64
        )
    except (ValueError, TypeError):
        raise InputError(f"{path}: score columns must be numeric") from None
    if not np.isfinite(scores).all():
        row = int(np.argwhere(~np.isfinite(scores))[0][0])
        raise InputError(f"{path}: NaN or infinite score in row {row + 2}")
    ids = clip_ids_from(table[id_name].to_pylist())
    folds = table[fold_col].to_pylist() if fold_col else [spec.fold] * len(ids)
    splits = table[split_col].to_pylist() if split_col else [spec.split] * len(ids)
    out = []
    for i, clip in enumerate(ids):
        s = str(splits[i]).strip().lower()
        if s not in ("train", "test"):
            raise InputError(f"{path}: split {splits[i]!r} in row {i + 2}; expected train or test")
        try:
            f = int(folds[i])
        except (TypeError, ValueError):
            raise InputError(f"{path}: fold {folds[i]!r} in row {i + 2} is not a number") from None
        out.append((f, s, clip, scores[i]))
    return out


def _check_records(store, scheme, records, actors, emotions) -> dict[int, int]:
    seen = Counter((r[0], r[1], r[2]) for r in records)
    twice = [k for k, n in seen.items() if n > 1]
    if twice:
        f, s, c = twice[0]
        raise InputError(f"clip {c} appears twice in fold {f} ({s})")
    counts: dict[int, Counter] = defaultdict(Counter)
    for clip in {r[2] for r in records}:
        counts[actors[clip]][emotions[clip]] += 1
    with store.session() as session:
        assignment, new = fold_assignment(session, scheme, counts)
    for f, s, clip, _ in records:
        if s == "test" and assignment[actors[clip]] != f:
            raise InputError(
                f"clip {clip} (actor {actors[clip]}) is a test clip of fold {f}, but '{scheme}' "
                f"tests actor {actors[clip]} in fold {assignment[actors[clip]]}"
            )
    folds = {r[0] for r in records}
    tested = {r[0] for r in records if r[1] == "test"}
    empty = sorted(folds - tested)
    if empty:
        raise InputError(f"fold(s) {empty} have no test clips")
    return new
