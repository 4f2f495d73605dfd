"""Feature sets for a user's own code: one matrix (or one frame sequence) per clip, with the
clips' labels and speakers, and the store's folds as index arrays."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mmemo.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from mmemo.store.store import Store
    from mmemo.store.vocabulary import Vocabulary


class Split(tuple):
    """One fold of a scheme: the pair ``(train_idx, test_idx)`` a scikit-learn splitter
    yields, which also names its fold (``.fold``)."""

    fold: int

    def __new__(cls, fold: int, train: np.ndarray, test: np.ndarray) -> Split:
        split = super().__new__(cls, (train, test))
        split.fold = int(fold)
        return split

    @property
    def train(self) -> np.ndarray:
        return self[0]

    @property
    def test(self) -> np.ndarray:
        return self[1]


@dataclass(frozen=True, eq=False)
class FeatureMatrix:
    """A feature set's rows for a clip selection, sorted by clip id.

    Exactly one of ``X`` (one vector per clip: pooled embeddings, imported features,
    ``NAME:mean``) and ``sequences`` (one ``frames × dims`` array per clip: AU frames, frame
    embeddings) is set.

    Attributes:
        ref: The feature set, pinned to its version (``aus@1:mean``).
        clips: The clip selection the rows are of (``--clips``; None: every clip of the set).
        clip_ids: Clip id of each row.
        y: Class code of each row (the dataset's codes; :attr:`vocabulary` names them).
        groups: Speaker (actor) of each row: the groups of speaker-independent splits.
        vocabulary: The dataset's classes, in its order.
        X: ``clips × dims`` float64 matrix, or None for a frame-level set.
        sequences: Per clip its ``frames × dims`` float32 array, or None.
    """

    ref: str
    clips: str | None
    clip_ids: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    vocabulary: Vocabulary
    X: np.ndarray | None = None
    sequences: list[np.ndarray] | None = None
    _store: Store | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.clip_ids)

    @property
    def labels(self) -> np.ndarray:
        """The class label of each row (``y`` named by the dataset's vocabulary)."""
        names = np.asarray(self.vocabulary.labels, dtype=object)
        return names[self.vocabulary.index_of(self.y)]

    def fold_of(self, scheme: str = "luna2022") -> np.ndarray:
        """The fold of ``scheme`` that tests each row's speaker (the store's folds: a model
        trained on them compares with the store's runs on that scheme). A generated scheme
        (``kfold``) that no run has used yet is drawn on these clips, as a run on them would
        draw it, and is not recorded.

        Raises:
            InputError: an unknown scheme, or a kfold scheme fixed on other speakers.
        """
        from mmemo.corpora.folds import parse_scheme
        from mmemo.jobs.cv import fold_assignment

        if self._store is None:
            raise InputError("this feature matrix was not loaded from a store")
        parse_scheme(scheme)
        counts: dict[int, Counter] = {}
        for actor, code in zip(self.groups.tolist(), self.y.tolist(), strict=True):
            counts.setdefault(actor, Counter())[code] += 1
        with self._store.session() as session:
            assignment, _ = fold_assignment(session, scheme, counts)
        return np.array([assignment[a] for a in self.groups.tolist()], dtype=np.int64)

    def folds(self, scheme: str = "luna2022") -> Iterator[Split]:
        """``(train_idx, test_idx)`` row indices of each fold of ``scheme`` (:meth:`fold_of`),
        in fold order, as scikit-learn's splitters give them: ``cross_val_predict(...,
        cv=list(fm.folds()))`` works unchanged. Each pair also says its fold number
        (``split.fold``), which scores imported back into the store must carry."""
        fold_of = self.fold_of(scheme)
        for fold in sorted(set(fold_of.tolist())):
            yield Split(fold, np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold))

    def to_pandas(self) -> pd.DataFrame:
        """One row per clip: ``clip_id``, ``emotion`` (code), ``label``, ``speaker`` and the
        features (``f0`` ... for a vector set; ``frames``, one array per clip, otherwise)."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                "clip_id": self.clip_ids,
                "emotion": self.y,
                "label": self.labels,
                "speaker": self.groups,
            }
        )
        if self.X is None:
            frame["frames"] = list(self.sequences or [])
            return frame
        values = pd.DataFrame(self.X, columns=[f"f{i}" for i in range(self.X.shape[1])])
        return pd.concat([frame, values], axis=1)

    def torch_dataset(self, rows: np.ndarray | None = None) -> ClipDataset:
        """The rows (all, or ``rows``: e.g. a fold's ``train_idx``) as a map-style PyTorch
        dataset of ``(features, class index)``: a ``torch.utils.data.DataLoader`` with
        ``collate_fn=ClipDataset.collate`` gives padded batches and their lengths."""
        index = np.arange(len(self)) if rows is None else np.asarray(rows)
        targets = self.vocabulary.index_of(self.y[index])
        if self.X is not None:
            items: list[np.ndarray] = [self.X[i].astype(np.float32) for i in index.tolist()]
        else:
            items = [np.asarray(self.sequences[i], np.float32) for i in index.tolist()]
        return ClipDataset(items, targets)


class ClipDataset:
    """A map-style PyTorch dataset (``len`` and indexing, which ``DataLoader`` needs) of
    ``(features tensor, class index)``; torch is imported only when an item is read."""

    def __init__(self, items: list[np.ndarray], targets: np.ndarray) -> None:
        self.items = items
        self.targets = np.asarray(targets, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        import torch

        return torch.from_numpy(self.items[i]), torch.tensor(self.targets[i])

    @staticmethod
    def collate(batch: list[tuple[Any, Any]]) -> tuple[Any, Any, Any]:
        """Stack a batch: vectors as ``B × dims``; frame sequences zero-padded to
        ``B × T × dims``. Returns ``(features, lengths, targets)``; ``lengths`` counts each
        item's frames (1 for a vector)."""
        import torch

        features = [f for f, _ in batch]
        targets = torch.stack([t for _, t in batch])
        if features[0].dim() == 1:
            return torch.stack(features), torch.ones(len(batch), dtype=torch.int64), targets
        lengths = torch.tensor([f.shape[0] for f in features], dtype=torch.int64)
        padded = torch.nn.utils.rnn.pad_sequence(features, batch_first=True)
        return padded, lengths, targets


def load_matrix(store: Store, ref: str, clips: str | None) -> FeatureMatrix:
    """The feature set ``ref`` (``NAME[@V][:mean]``) for the clips ``clips`` (a selection
    name or a WHERE condition; None: every clip the set holds).

    Raises:
        InputError: an unknown set or selection, or selected clips the set lacks (named).
    """
    from mmemo.features.kinds import feature_kind
    from mmemo.features.loading import (
        clips_with_features,
        load_clip_vectors,
        load_sequences,
        resolve_feature_ref,
        split_ref,
    )
    from mmemo.jobs.cv import select_clips, selection_vocabulary

    with store.session() as s:
        found = resolve_feature_ref(s, ref)
        rows = select_clips(s, clips)
        vocabulary = selection_vocabulary(s, clips)
    if clips is None:  # every clip of the set
        have = clips_with_features(store, ref)
        rows = [r for r in rows if r[0] in have]
        if not rows:
            raise InputError(f"feature set {ref!r} holds no clip of the store")
    clip_ids = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows], dtype=np.int64)
    groups = np.array([r[2] for r in rows], dtype=np.int64)
    common = {"clips": clips, "clip_ids": clip_ids, "y": y, "groups": groups}
    common |= {"vocabulary": vocabulary, "_store": store}
    frames = feature_kind(found.set.kind).has_frames(found.set.params or {})
    if frames and split_ref(ref)[1] is None:
        sequences, _ = load_sequences(store, ref, clip_ids)
        return FeatureMatrix(ref=found.text, sequences=sequences, **common)
    X, _, _ = load_clip_vectors(store, ref, clip_ids)
    return FeatureMatrix(ref=found.text, X=X, **common)


__all__ = ["ClipDataset", "FeatureMatrix", "Split", "load_matrix"]
