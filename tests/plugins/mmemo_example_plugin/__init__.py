"""An example mmemo plug-in package: model kinds, an encoder family and a corpus that an
installed package adds through the entry-point groups ``mmemo.model_kinds``,
``mmemo.encoders`` and ``mmemo.corpora`` (see ``pyproject.toml`` beside this folder).

The test set-up puts this folder on ``sys.path`` with its ``.dist-info``, which is what
installing it does; users never install it. A kind that is a
:class:`~mmemo.models.static_models.StaticModel` (one scikit-learn estimator and how to read
its scores) trains with ``mmemo train static --model example-gnb`` and shows up wherever a
built-in kind does: ``predict``, ``fuse``, ``report``, Slurm arrays, ``mmemo models``.
"""

from __future__ import annotations

import numpy as np

from mmemo.corpora.adapters import Clip, CorpusAdapter, CorpusTables, InvalidNameError
from mmemo.corpora.sources import SourceFile
from mmemo.errors import InputError
from mmemo.features.encoders.raw import RawWaveEncoder
from mmemo.models.base import FoldData, FoldResult, JoblibArtefacts
from mmemo.models.static_models import StaticModel
from mmemo.store.vocabulary import Vocabulary


class GaussianNBKind(StaticModel):
    """Gaussian naive Bayes; scores are its class probabilities."""

    name = "example-gnb"
    estimator = "sklearn.naive_bayes:GaussianNB"
    description = "Gaussian naive Bayes (the example plug-in)"


class NearestCentroidKind(JoblibArtefacts):
    """A model kind written from scratch on :class:`~mmemo.models.base.ModelKind` (through
    its joblib-artefact base): one centroid per class, scores the negative distances to
    them. It takes per-clip vectors, so ``mmemo train static --model example-centroid``
    trains it; its one parameter, ``metric``, is checked before any data is read."""

    name = "example-centroid"
    inputs = "vectors"
    description = "nearest class centroid in numpy (the example plug-in)"
    METRICS = ("euclidean", "cityblock")

    def check(self, params):
        unknown = sorted(set(params) - {"metric", "norm"})
        if unknown:
            raise InputError(f"example-centroid has no parameter {unknown[0]!r}; it has metric")
        if params.get("metric", "euclidean") not in self.METRICS:
            raise InputError(f"example-centroid: metric must be one of {', '.join(self.METRICS)}")

    def fit(self, params, data: FoldData, *, seed: int) -> FoldResult:
        self.check(params)
        X, y = np.asarray(data.X_train, float), np.asarray(data.y_train)
        classes = np.unique(y)
        model = {
            "metric": params.get("metric", "euclidean"),
            "classes": classes,
            "centroids": np.stack([X[y == c].mean(axis=0) for c in classes]),
        }
        return FoldResult(
            classes=[int(c) for c in classes],
            kind="decision",
            train_scores=self.score(model, X),
            test_scores=self.score(model, data.X_test),
            model=model,
        )

    def score(self, model, X) -> np.ndarray:
        difference = np.asarray(X, float)[:, None, :] - model["centroids"][None, :, :]
        if model["metric"] == "cityblock":
            return -np.abs(difference).sum(axis=2)
        return -np.sqrt((difference**2).sum(axis=2))


class UniSpeechSatEncoder(RawWaveEncoder):
    """An encoder family mmemo does not ship: UniSpeech-SAT checkpoints load with
    transformers' ``AutoModel`` like wav2vec2, so naming their ``model_type`` is all a
    raw-waveform family needs (registered through the entry-point group ``mmemo.encoders``)."""

    families = {"unispeech-sat": "UniSpeech-SAT"}


class TessAdapter(CorpusAdapter):
    """TESS (Toronto emotional speech set) as a plug-in corpus: ``OAF_back_angry.wav`` is
    speaker OAF saying "back" angrily; the two speakers are women; ``ps`` is pleasant
    surprise. The ingest numbers the speakers (``actor`` left empty)."""

    name = "example-tess"
    title = "TESS"
    vocabulary = Vocabulary(
        (1, 2, 3, 4, 5, 6, 7),
        ("angry", "disgust", "fearful", "happy", "neutral", "surprised", "sad"),
    )
    media_suffixes = frozenset({".wav"})
    _EMOTIONS = {"angry": 1, "disgust": 2, "fear": 3, "happy": 4, "neutral": 5, "ps": 6, "sad": 7}

    def looks_like(self, item: SourceFile) -> bool:
        parts = item.stem.split("_")
        return len(parts) == 3 and parts[0] in ("OAF", "YAF")

    def clip(self, item: SourceFile, tables: CorpusTables) -> Clip:
        speaker, word, emotion = item.stem.split("_")
        code = self._EMOTIONS.get(emotion.lower())
        if code is None:
            raise InvalidNameError(f"'{item.stem}': emotion {emotion} is not one of TESS's")
        return Clip(
            clip_id=f"{self.name}:{item.stem}.wav",
            modality=3,
            emotion=code,
            label=self.vocabulary.label_of(code),
            actor=None,
            speaker=speaker,
            gender="female",
            performance=f"{speaker}_{word}_{emotion}",
        )
