"""The Whisper encoder as an audio embedder.

Whisper reads a log-mel spectrogram that its feature extractor pads to a fixed window
(``chunk_length``, 30 s in the released checkpoints: 3,000 mel frames, 1,500 encoder frames of
20 ms) and its encoder has no attention mask: every clip runs as a full padded window. So:

* pooling uses only the encoder frames of the real audio: of ``m`` samples the feature
  extractor marks ``ceil(m / hop_length)`` mel frames as real (its ``attention_mask``), and the
  encoder's two convolutions (strides 1 and 2) map them to ``ceil(mel / 2)`` frames;
* a clip longer than one window is cut into consecutive windows (30 s, 30 s, ..., the rest),
  each padded and encoded on its own, and the real frames of all its windows are pooled
  together (frames are returned concatenated in time order);
* layers are the transformer layers 1..encoder_layers, equal to ``hidden_states[N]`` of the
  encoder's own forward with ``output_hidden_states=True`` (the last one after the encoder's
  final LayerNorm, as transformers reports it). Whisper has no conv feature encoder to pool on
  its own: ``conv`` is refused, naming the valid layers.

Each window is encoded independently of the others in its batch, so batched vectors equal
unbatched ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmemo.errors import InputError
from mmemo.features.checkpoints import resolve_revision
from mmemo.features.encoders.base import (
    DEFAULT_MAX_SECONDS,
    AudioEncoder,
    Embedding,
    EmbedRequest,
    Layer,
    run_layers,
)
from mmemo.models.torch_utils import autocast

if TYPE_CHECKING:
    import torch

__all__ = ["WhisperEncoderEmbedder"]


class WhisperEncoderEmbedder(AudioEncoder):
    """The encoder of a Whisper checkpoint, ready to embed 16 kHz mono waves.

    Attributes:
        info: What made the vectors: ``model``, ``family`` (``"whisper"``), ``revision``,
            ``revision_source``, ``hidden_size``, ``num_layers``, ``num_mel_bins``,
            ``window_seconds``, ``sample_rate``, ``device``, ``dtype``, ``torch`` and
            ``transformers`` versions (see :class:`~mmemo.features.encoders.raw.RawWaveEncoder`).
    """

    family = "whisper"
    _has_conv = False

    @classmethod
    def layers_of(cls, config: Any) -> tuple[int, bool]:
        """Whisper's config counts its encoder's layers as ``encoder_layers``."""
        return int(config.encoder_layers), False

    def __init__(
        self, model: str | Path, *, revision: str | None = None, device: str = "auto"
    ) -> None:
        """Load a Whisper checkpoint (hub id or local folder); only its encoder is kept.

        Raises:
            MissingDependencyError: torch or transformers is not installed.
            InputError: the device is unknown or the checkpoint cannot be loaded.
        """
        source = str(model)
        full = self._load(source, revision, device, "whisper")
        if str(getattr(full.config, "model_type", "")) != "whisper":
            raise InputError(f"model '{source}' is not a whisper model")
        self._model = full.get_encoder()
        self._model.eval()
        self._model.to(self._device)
        config = full.config
        rev, rev_source = resolve_revision(full, source, revision)
        del full
        self._num_layers = int(config.encoder_layers)
        fe = self._feature_extractor
        self._window = int(fe.n_samples)
        self._hop = int(fe.hop_length)
        self.info: dict[str, Any] = {
            "model": source,
            "family": "whisper",
            "revision": rev,
            "revision_source": rev_source,
            "hidden_size": int(config.d_model),
            "num_layers": self._num_layers,
            "num_mel_bins": int(config.num_mel_bins),
            "window_seconds": self._window / self.sample_rate,
            **self._runtime_info(),
        }
        self.max_seconds = DEFAULT_MAX_SECONDS

    def output_lengths(self, n_samples: list[int] | np.ndarray) -> np.ndarray:
        """Number of real encoder frames of clips of ``n_samples`` samples (all windows)."""
        out = []
        for n in n_samples:
            full, rest = divmod(int(n), self._window)
            frames = full * self._encoder_frames(self._window)
            out.append(frames + (self._encoder_frames(rest) if rest else 0))
        return np.asarray(out, dtype=np.int64)

    # -- internals ---------------------------------------------------------------------------

    def _encoder_frames(self, samples: int) -> int:
        """Real encoder frames of one window holding ``samples`` samples of audio."""
        length = min(-(-samples // self._hop), int(self._feature_extractor.nb_max_frames))
        for conv in (self._model.conv1, self._model.conv2):
            k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
            length = (length + 2 * p - k) // s + 1
        return max(length, 0)

    def _run(self, request: EmbedRequest, results: list[dict[Layer, Embedding]]) -> None:
        waves = request.waves
        windows: list[tuple[int, np.ndarray]] = []  # (clip index, samples of one window)
        for i, wave in enumerate(waves):
            for start in range(0, len(wave), self._window):
                windows.append((i, wave[start : start + self._window]))
        per_batch = max(1, int(self.max_seconds * self.sample_rate // self._window))
        numbers = sorted(int(layer) for layer in request.layers)
        pieces: dict[int, dict[int, list[torch.Tensor]]] = {n: {} for n in numbers}
        for start in range(0, len(windows), per_batch):
            chunk = windows[start : start + per_batch]
            valid = [self._encoder_frames(len(w)) for _, w in chunk]

            def collect(layer: Layer, hidden: torch.Tensor, chunk=chunk, valid=valid) -> None:
                hidden = hidden.float()
                for row, (i, _) in enumerate(chunk):
                    kept = hidden[row, : valid[row]].cpu()
                    pieces[int(layer)].setdefault(i, []).append(kept)

            features = self._features([w for _, w in chunk])
            with autocast(self._device):
                run_layers(
                    self._model,
                    numbers,
                    collect,
                    lambda features=features: self._model(features),
                    last_hook=self._model.layer_norm,
                )
        torch = self._torch
        for n in numbers:
            for i in range(len(waves)):
                joined = torch.cat(pieces[n][i], dim=0)
                results[i][n] = request.pooled(joined)

    def _features(self, windows: list[np.ndarray]) -> torch.Tensor:
        """Log-mel features of windows, each padded to the full window as Whisper expects."""
        values = self._feature_extractor(
            windows,
            sampling_rate=self.sample_rate,
            padding="max_length",
            return_tensors="pt",
        ).input_features
        return self._to_device(values.float())
