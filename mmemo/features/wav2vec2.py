"""wav2vec2 embeddings: pooled (and optionally frame-level) vectors per clip.

Two kinds of vectors, both pooled over the *valid* frames of each clip only:

* ``layer="conv"`` — the 512-d output of the convolutional feature encoder, as transformers
  returns it in ``Wav2Vec2Model(...).extract_features``: the encoder output with the
  feature projection's LayerNorm applied (a per-frame normalisation; the projection's linear
  layer and the transformer are not run). This is what Luna-Jiménez et al. (2022) averaged.
  ``layer="conv_raw"`` gives the encoder output before that LayerNorm.
* ``layer=N`` (1..num_hidden_layers) — the output of transformer layer N, equal to
  ``output_hidden_states[N]`` of a full forward pass; only layers 1..N run.

Batching and exactness. Clips are zero-padded to the longest clip of a batch and the number of
valid frames of each clip is computed from its sample count with the model's output-length
formula; pooling never sees padded frames (the conv output of zero padding is *not* zero, so
the mask matters). Checkpoints whose feature extractor returns an attention mask (wav2vec2-large,
XLSR: layer-norm conv encoder) get the mask, and batched vectors equal unbatched ones.
Checkpoints without one (wav2vec2-base style, ``feat_extract_norm="group"``) must not get a mask
and see the padding: their GroupNorm statistics and self-attention would then depend on the
other clips of the batch. To keep every vector independent of batching, :meth:`embed` runs such
models only on batches of clips of equal length (in practice, one clip at a time).

Example:
    >>> model_id = "jonatasgrosman/wav2vec2-large-xlsr-53-english"
    >>> embedder = Wav2Vec2Embedder(model_id)  # doctest: +SKIP
    >>> from mmemo.features.batching import extract
    >>> for clip_id, emb in extract(embedder, iter_decoded(items)):  # doctest: +SKIP
    ...     emb.pooled.shape  # (512,)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mmemo.errors import InputError, MissingDependencyError
from mmemo.features.checkpoints import resolve_revision
from mmemo.models.torch_utils import autocast, resolve_device, uses_bf16_autocast

if TYPE_CHECKING:
    import torch

__all__ = [
    "DEFAULT_MAX_SECONDS",
    "Embedding",
    "Layer",
    "Pool",
    "Wav2Vec2Embedder",
]

log = logging.getLogger(__name__)

#: ``"conv"`` / ``"conv_raw"`` (feature encoder) or a transformer layer number (1-based).
Layer = Literal["conv", "conv_raw"] | int
#: Pooling over the valid frames of a clip: the mean, or the mean and the standard deviation.
Pool = Literal["mean", "mean+std"]

#: Default limit of padded audio per batch in :func:`extract`, in seconds.
DEFAULT_MAX_SECONDS = 64.0

_POOLS = ("mean", "mean+std")


@dataclass(frozen=True, eq=False)
class Embedding:
    """The embedding of one clip.

    Attributes:
        pooled: float32 vector: D values for ``pool="mean"``, 2·D (means, then standard
            deviations) for ``pool="mean+std"``; D is the conv width (512 in the real models)
            or the hidden size (1024 in wav2vec2-large).
        frames: float32 array T × D of the clip's valid frames, or None when not requested.
    """

    pooled: np.ndarray
    frames: np.ndarray | None = None


def _import_ml() -> tuple[Any, Any]:
    """Import torch and transformers, or say what to install."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise MissingDependencyError("torch", "ml") from exc
    return torch, transformers


class Wav2Vec2Embedder:
    """A wav2vec2 checkpoint ready to embed 16 kHz mono waves.

    Not thread-safe: :meth:`embed` temporarily truncates the model's encoder to the requested
    layer. Use one embedder per thread.

    Attributes:
        info: What made the vectors, to store with a feature set: ``model`` (id or path),
            ``revision`` (hub commit hash when known, else ``sha256:<hex>`` of the weight files
            of a local directory, else the requested revision), ``revision_source``
            (``"hub"``, ``"sha256"``, ``"requested"`` or ``"unknown"``), ``conv_dim``,
            ``hidden_size``, ``num_layers``, ``return_attention_mask``, ``feat_extract_norm``,
            ``do_stable_layer_norm``, ``do_normalize``, ``sample_rate``, ``device``, ``dtype``
            (``"float32"`` or ``"bfloat16-autocast"``), ``torch`` and ``transformers``
            versions.
    """

    def __init__(
        self, model: str | Path, *, revision: str | None = None, device: str = "auto"
    ) -> None:
        """Load a checkpoint from the Hugging Face hub or a local directory.

        Args:
            model: Hub id (``"jonatasgrosman/wav2vec2-large-xlsr-53-english"``) or a local
                directory written by ``save_pretrained``. Checkpoints of task models such as
                ``Wav2Vec2ForCTC`` load too (their base model is used).
            revision: Hub branch, tag or commit; None for the default branch.
            device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
                ``"cuda:1"``... On CUDA the model runs under bf16 autocast and inputs go
                through pinned memory.

        Raises:
            MissingDependencyError: torch or transformers is not installed.
            InputError: the device is unknown or unavailable, or the checkpoint cannot be
                loaded.
        """
        torch, transformers = _import_ml()
        from transformers import AutoFeatureExtractor, Wav2Vec2Model

        self._torch = torch
        self._device = resolve_device(device)
        source = str(model)
        try:
            self._feature_extractor = AutoFeatureExtractor.from_pretrained(
                source, revision=revision
            )
            self._model = Wav2Vec2Model.from_pretrained(source, revision=revision)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"cannot load wav2vec2 model '{source}': {exc}") from exc
        self._model.eval()
        self._model.to(self._device)
        config = self._model.config
        self._cuda = self._device.type == "cuda"
        self._bf16 = uses_bf16_autocast(self._device)
        self._uses_mask = bool(getattr(self._feature_extractor, "return_attention_mask", False))
        self._num_layers = int(config.num_hidden_layers)
        self._stable = bool(config.do_stable_layer_norm)
        # transformers < 5 reports the final-layer-normed state as the last hidden state of
        # pre-norm ("stable") encoders; 5.x reports the last layer's own output.
        self._last_state_normed = int(transformers.__version__.split(".")[0]) < 5
        rev, rev_source = resolve_revision(self._model, source, revision)
        self.info: dict[str, Any] = {
            "model": source,
            "revision": rev,
            "revision_source": rev_source,
            "conv_dim": int(config.conv_dim[-1]),
            "hidden_size": int(config.hidden_size),
            "num_layers": self._num_layers,
            "return_attention_mask": self._uses_mask,
            "feat_extract_norm": str(config.feat_extract_norm),
            "do_stable_layer_norm": self._stable,
            "do_normalize": bool(getattr(self._feature_extractor, "do_normalize", False)),
            "sample_rate": self.sample_rate,
            "device": str(self._device),
            "dtype": "bfloat16-autocast" if self._bf16 else "float32",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        }

    @property
    def sample_rate(self) -> int:
        """The sampling rate the checkpoint expects, in Hz."""
        return int(getattr(self._feature_extractor, "sampling_rate", 16000))

    @property
    def num_layers(self) -> int:
        """Number of transformer layers (valid ``layer`` numbers are 1..num_layers)."""
        return self._num_layers

    def dim(self, layer: Layer = "conv", pool: Pool = "mean") -> int:
        """Length of the pooled vector for ``layer`` and ``pool``."""
        _check_layer(layer, self._num_layers)
        _check_pool(pool)
        width = self.info["conv_dim"] if isinstance(layer, str) else self.info["hidden_size"]
        return width * (2 if pool == "mean+std" else 1)

    def output_lengths(self, n_samples: Sequence[int]) -> np.ndarray:
        """Number of frames the conv encoder makes of clips of ``n_samples`` samples.

        Args:
            n_samples: Clip lengths in samples.

        Returns:
            int64 array of frame counts (0 for clips shorter than the receptive field).
        """
        torch = self._torch
        lengths = torch.as_tensor(list(n_samples), dtype=torch.long)
        out = self._model._get_feat_extract_output_lengths(lengths, add_adapter=False)
        return np.maximum(np.asarray(out.cpu().numpy(), dtype=np.int64), 0)

    def embed(
        self,
        waves: Sequence[np.ndarray],
        *,
        layer: Layer = "conv",
        pool: Pool = "mean",
        frames: bool = False,
        keys: Sequence[str] | None = None,
    ) -> list[Embedding]:
        """Embed clips, batched together (see the module docstring on exactness).

        Args:
            waves: 1-D waves at :attr:`sample_rate` (raw; each is normalised as the checkpoint's
                feature extractor does, e.g. zero mean and unit variance per clip).
            layer: ``"conv"``, ``"conv_raw"`` or a transformer layer in 1..:attr:`num_layers`.
            pool: ``"mean"`` or ``"mean+std"`` (population standard deviation) over the valid
                frames.
            frames: Also return the T × D frame vectors of each clip.
            keys: Names of the clips (e.g. clip ids) for error messages; default
                ``clip 0``, ``clip 1``...

        Returns:
            One :class:`Embedding` per wave, in input order.

        Raises:
            InputError: bad ``layer``/``pool``, or a wave that is not 1-D, is empty, is not
                finite or is shorter than the model's receptive field.
        """
        _check_layer(layer, self._num_layers)
        _check_pool(pool)
        if not waves:
            return []
        names = list(keys) if keys is not None else [f"clip {i}" for i in range(len(waves))]
        if len(names) != len(waves):
            raise InputError(f"got {len(waves)} waves but {len(names)} keys")
        inputs = [self._prepare(name, wave) for name, wave in zip(names, waves, strict=True)]
        n_frames = self.output_lengths([len(x) for x in inputs])
        for name, x, n in zip(names, inputs, n_frames, strict=True):
            if n < 1:
                raise InputError(
                    f"{name}: {len(x)} samples are too short for this model (no complete frame)"
                )
        results: list[Embedding | None] = [None] * len(inputs)
        for group in self._groups([len(x) for x in inputs]):
            hidden = self._forward([inputs[i] for i in group], layer)
            lengths = [int(n_frames[i]) for i in group]
            for row, i in enumerate(group):
                results[i] = _pool(hidden[row, : lengths[row]], pool, frames)
        return [r for r in results if r is not None]

    # -- internals ---------------------------------------------------------------------------

    def _prepare(self, name: str, wave: np.ndarray) -> np.ndarray:
        """Validate one wave and normalise it the way the feature extractor does."""
        array = np.asarray(wave)
        if array.ndim != 1:
            raise InputError(f"{name}: expected a 1-D mono wave, got shape {array.shape}")
        if array.size == 0:
            raise InputError(f"{name}: empty wave")
        array = array.astype(np.float32, copy=False)
        if not np.isfinite(array).all():
            raise InputError(f"{name}: wave contains NaN or infinite samples")
        values = self._feature_extractor(
            array, sampling_rate=self.sample_rate, return_tensors="np"
        ).input_values
        return np.ascontiguousarray(np.asarray(values[0], dtype=np.float32))

    def _groups(self, lengths: list[int]) -> list[list[int]]:
        """Index groups run as one forward pass (equal lengths only for mask-less models)."""
        if self._uses_mask:
            return [list(range(len(lengths)))]
        groups: dict[int, list[int]] = {}
        for i, n in enumerate(lengths):
            groups.setdefault(n, []).append(i)
        return list(groups.values())

    def _forward(self, inputs: list[np.ndarray], layer: Layer) -> torch.Tensor:
        """Run a padded batch; return float32 B × T × D on the CPU."""
        torch = self._torch
        longest = max(len(x) for x in inputs)
        batch = torch.zeros((len(inputs), longest), dtype=torch.float32)
        mask = torch.zeros((len(inputs), longest), dtype=torch.long) if self._uses_mask else None
        for row, x in enumerate(inputs):
            batch[row, : len(x)] = torch.from_numpy(x)
            if mask is not None:
                mask[row, : len(x)] = 1
        batch = self._to_device(batch)
        mask = self._to_device(mask) if mask is not None else None
        with torch.inference_mode(), autocast(self._device):
            if isinstance(layer, str):
                hidden = self._model.feature_extractor(batch).transpose(1, 2)
                if layer == "conv":
                    hidden = self._model.feature_projection.layer_norm(hidden)
            else:
                hidden = self._hidden_state(batch, mask, layer)
            return hidden.float().cpu()

    def _to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        if not self._cuda:
            return tensor
        return tensor.pin_memory().to(self._device, non_blocking=True)

    def _hidden_state(
        self, batch: torch.Tensor, mask: torch.Tensor | None, layer: int
    ) -> torch.Tensor:
        """Output of transformer layer ``layer``, running layers 1..layer only."""
        model = self._model
        layers = model.encoder.layers
        captured: list[torch.Tensor] = []

        def keep_output(_module: Any, _args: Any, output: Any) -> None:
            captured.append(output[0] if isinstance(output, tuple) else output)

        handle = layers[layer - 1].register_forward_hook(keep_output)
        model.encoder.layers = layers[:layer]
        try:
            model(batch, attention_mask=mask)
        finally:
            model.encoder.layers = layers
            handle.remove()
        hidden = captured[-1]
        if self._stable and self._last_state_normed and layer == self._num_layers:
            hidden = model.encoder.layer_norm(hidden)
        return hidden


def _check_layer(layer: object, num_layers: int) -> None:
    if isinstance(layer, str) and layer in ("conv", "conv_raw"):
        return
    if isinstance(layer, int) and not isinstance(layer, bool) and 1 <= layer <= num_layers:
        return
    raise InputError(
        f"unknown layer {layer!r}; expected one of conv, conv_raw or a transformer layer "
        f"1..{num_layers}"
    )


def _check_pool(pool: object) -> None:
    if pool not in _POOLS:
        raise InputError(f"unknown pooling {pool!r}; expected one of {', '.join(_POOLS)}")


def _pool(valid: torch.Tensor, pool: Pool, frames: bool) -> Embedding:
    """Pool the valid frames (T × D, float32 CPU) of one clip."""
    mean = valid.mean(dim=0)
    if pool == "mean+std":
        std = (valid - mean).square().mean(dim=0).sqrt()
        pooled = np.concatenate([mean.numpy(), std.numpy()])
    else:
        pooled = mean.numpy()
    return Embedding(
        pooled=np.ascontiguousarray(pooled, dtype=np.float32),
        frames=np.array(valid.numpy(), dtype=np.float32) if frames else None,
    )
