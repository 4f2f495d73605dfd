"""What every audio encoder family shares: layers, pooling, one forward for many layers.

An encoder turns 16 kHz mono waves into pooled vectors of one or more of its layers. A layer is
``"conv"`` / ``"conv_raw"`` (the convolutional feature encoder, where the family has one) or a
transformer layer number 1..N. :meth:`AudioEncoder.embed_layers` runs ONE forward pass per batch
for any set of layers: the transformer runs up to the deepest requested layer only, and every
requested layer is pooled as the pass goes by (forward hooks), so asking for all 25 layers of a
24-layer model costs about what layer 24 alone costs, and memory holds one layer at a time.

Pooling is over the *valid* frames of each clip only (frames of padding never enter a mean).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mmemo.errors import InputError, MissingDependencyError, first_line
from mmemo.models.torch_utils import resolve_device, uses_bf16_autocast

if TYPE_CHECKING:
    import torch

__all__ = [
    "DEFAULT_MAX_SECONDS",
    "AudioEncoder",
    "Embedding",
    "EmbedRequest",
    "Layer",
    "Pool",
    "check_pool",
    "import_ml",
    "pool_frames",
]

log = logging.getLogger(__name__)

#: ``"conv"`` / ``"conv_raw"`` (feature encoder) or a transformer layer number (1-based).
Layer = Literal["conv", "conv_raw"] | int
#: Pooling over the valid frames of a clip: the mean, or the mean and the standard deviation.
Pool = Literal["mean", "mean+std"]

#: Default limit of padded audio per batch in :func:`~mmemo.features.batching.extract`, seconds.
DEFAULT_MAX_SECONDS = 64.0

POOLS = ("mean", "mean+std")
CONV_LAYERS = ("conv", "conv_raw")


@dataclass(frozen=True, eq=False)
class Embedding:
    """The embedding of one clip at one layer.

    Attributes:
        pooled: float32 vector: D values for ``pool="mean"``, 2·D (means, then standard
            deviations) for ``pool="mean+std"``; D is the conv width (512 in the real models)
            or the hidden size (1024 in the large models).
        frames: float32 array T × D of the clip's valid frames, or None when not requested.
    """

    pooled: np.ndarray
    frames: np.ndarray | None = None


@dataclass(frozen=True)
class EmbedRequest:
    """One checked call of :meth:`AudioEncoder.embed_layers`, as a family's ``_run`` gets it.

    Attributes:
        names: The clips' names, for error messages.
        waves: Float32 1-D waves, finite and not empty.
        layers: The distinct layers to pool, each valid for the model.
        pool: How to pool the valid frames.
        frames: Also return the T × D frame vectors of each clip.
    """

    names: list[str]
    waves: list[np.ndarray]
    layers: list[Layer]
    pool: Pool
    frames: bool

    def pooled(self, valid: torch.Tensor) -> Embedding:
        """One clip's valid frames (T × D, float32 CPU) pooled as asked."""
        return pool_frames(valid, self.pool, self.frames)


def import_ml() -> tuple[Any, Any]:
    """Import torch and transformers, or say what to install."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise MissingDependencyError("torch", "ml") from exc
    return torch, transformers


def load_pretrained(source: str, revision: str | None, what: str) -> tuple[Any, Any]:
    """A checkpoint's feature extractor and model (``from_pretrained``), or one line that
    says which ``what`` model could not be loaded and why."""
    from transformers import AutoFeatureExtractor, AutoModel

    try:
        feature_extractor = AutoFeatureExtractor.from_pretrained(source, revision=revision)
        model = AutoModel.from_pretrained(source, revision=revision)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot load {what} model '{source}': {first_line(exc)}") from exc
    return feature_extractor, model


def check_pool(pool: object) -> None:
    """Raise :class:`InputError` unless ``pool`` is a known pooling."""
    if pool not in POOLS:
        raise InputError(f"unknown pooling {pool!r}; expected one of {', '.join(POOLS)}")


def pool_frames(valid: torch.Tensor, pool: Pool, frames: bool) -> Embedding:
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


#: Called with (layer, B × T × D hidden states of a batch) while the forward pass runs.
Collector = Callable[[Layer, "torch.Tensor"], None]


class AudioEncoder:
    """Base of the encoder families (see :mod:`mmemo.features.encoders`).

    Subclasses load their checkpoint with :meth:`_load`, set ``family``, ``info`` (ending
    with :meth:`_runtime_info`), ``_model`` and ``_num_layers``, and implement :meth:`_run`.
    Not thread-safe (a forward pass may truncate the model's layer list).
    """

    family: str = ""
    info: dict[str, Any]
    _num_layers: int
    _has_conv: bool = False

    @classmethod
    def layers_of(cls, config: Any) -> tuple[int, bool]:
        """From a checkpoint's config alone (no weights loaded): its number of transformer
        layers and whether it has a conv encoder (``conv`` layers)."""
        return int(config.num_hidden_layers), cls._has_conv

    @property
    def num_layers(self) -> int:
        """Number of transformer layers (valid layer numbers are 1..num_layers)."""
        return self._num_layers

    @property
    def has_conv(self) -> bool:
        """Whether the model has a convolutional feature encoder (``--layer conv``)."""
        return self._has_conv

    @property
    def sample_rate(self) -> int:
        """The sampling rate the checkpoint expects, in Hz."""
        return int(getattr(self._feature_extractor, "sampling_rate", 16000))  # type: ignore[attr-defined]

    def layer_names(self) -> str:
        """The valid layers, as an error message lists them."""
        convs = ", ".join(CONV_LAYERS) + ", " if self._has_conv else ""
        return f"{convs}1..{self._num_layers}"

    def check_layer(self, layer: object) -> None:
        """Raise :class:`InputError` unless ``layer`` is one of this model's layers."""
        if self._has_conv and isinstance(layer, str) and layer in CONV_LAYERS:
            return
        is_number = isinstance(layer, int) and not isinstance(layer, bool)
        if is_number and 1 <= layer <= self._num_layers:  # type: ignore[operator]
            return
        raise InputError(
            f"unknown layer {layer!r} for {self.family} model '{self.info.get('model')}'; "
            f"valid layers: {self.layer_names()}"
        )

    def dim(self, layer: Layer = "conv", pool: Pool = "mean") -> int:
        """Length of the pooled vector for ``layer`` and ``pool``."""
        self.check_layer(layer)
        check_pool(pool)
        width = self.info["conv_dim"] if isinstance(layer, str) else self.info["hidden_size"]
        return int(width) * (2 if pool == "mean+std" else 1)

    def embed(
        self,
        waves: Sequence[np.ndarray],
        *,
        layer: Layer = "conv",
        pool: Pool = "mean",
        frames: bool = False,
        keys: Sequence[str] | None = None,
    ) -> list[Embedding]:
        """Embed clips at one layer, batched together; one :class:`Embedding` per wave.

        See :meth:`embed_layers` for the arguments and errors.
        """
        done = self.embed_layers(waves, layers=[layer], pool=pool, frames=frames, keys=keys)
        return [d[layer] for d in done]

    def embed_layers(
        self,
        waves: Sequence[np.ndarray],
        *,
        layers: Sequence[Layer],
        pool: Pool = "mean",
        frames: bool = False,
        keys: Sequence[str] | None = None,
    ) -> list[dict[Layer, Embedding]]:
        """Embed clips at several layers in one forward pass, batched together.

        Args:
            waves: 1-D waves at :attr:`sample_rate` (raw; normalised as the checkpoint's
                feature extractor does).
            layers: Layers to pool (see :meth:`layer_names`), at least one.
            pool: ``"mean"`` or ``"mean+std"`` (population standard deviation) over the valid
                frames.
            frames: Also return the T × D frame vectors of each clip.
            keys: Names of the clips (e.g. clip ids) for error messages; default
                ``clip 0``, ``clip 1``...

        Returns:
            Per wave, in input order, its embedding at each requested layer.

        Raises:
            InputError: bad ``layers``/``pool``, or a wave that is not 1-D, is empty, is not
                finite or is shorter than the model's receptive field.
        """
        if not layers:
            raise InputError(f"no layers requested; valid layers: {self.layer_names()}")
        for layer in layers:
            self.check_layer(layer)
        check_pool(pool)
        if not waves:
            return []
        names = list(keys) if keys is not None else [f"clip {i}" for i in range(len(waves))]
        if len(names) != len(waves):
            raise InputError(f"got {len(waves)} waves but {len(names)} keys")
        arrays = [_check_wave(name, wave) for name, wave in zip(names, waves, strict=True)]
        request = EmbedRequest(names, arrays, list(dict.fromkeys(layers)), pool, frames)
        results: list[dict[Layer, Embedding]] = [{} for _ in arrays]
        with self._torch.inference_mode():  # type: ignore[attr-defined]
            self._run(request, results)
        return results

    # -- for subclasses ------------------------------------------------------------------

    def _load(self, model: str | Path, revision: str | None, device: str, what: str) -> Any:
        """Import torch and transformers, resolve ``device`` (bf16 autocast on CUDA) and load
        the checkpoint's feature extractor and model (:func:`load_pretrained`, errors naming
        ``what`` model): what every family's constructor does first. Returns the model, still
        on the CPU.

        Raises:
            MissingDependencyError: torch or transformers is not installed.
            InputError: the device is unknown or unavailable, or the checkpoint cannot be
                loaded.
        """
        torch, transformers = import_ml()
        self._torch = torch
        self._device = resolve_device(device)
        self._bf16 = uses_bf16_autocast(self._device)
        self._versions = {"torch": torch.__version__, "transformers": transformers.__version__}
        self._feature_extractor, loaded = load_pretrained(str(model), revision, what)
        return loaded

    def _runtime_info(self) -> dict[str, Any]:
        """The ``info`` entries every family ends with: how it runs and on what versions, so
        that a feature set records them beside the model's own."""
        return {
            "sample_rate": self.sample_rate,
            "device": str(self._device),
            "dtype": "bfloat16-autocast" if self._bf16 else "float32",
            **self._versions,
        }

    def _run(self, request: EmbedRequest, results: list[dict[Layer, Embedding]]) -> None:
        """Fill ``results[i][layer]`` for every wave and layer of ``request``."""
        raise NotImplementedError

    def _to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        if self._device.type != "cuda":  # type: ignore[attr-defined]
            return tensor
        return tensor.pin_memory().to(self._device, non_blocking=True)  # type: ignore[attr-defined]


def _check_wave(name: str, wave: np.ndarray) -> np.ndarray:
    """A validated float32 1-D copy (or view) of ``wave``."""
    array = np.asarray(wave)
    if array.ndim != 1:
        raise InputError(f"{name}: expected a 1-D mono wave, got shape {array.shape}")
    if array.size == 0:
        raise InputError(f"{name}: empty wave")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise InputError(f"{name}: wave contains NaN or infinite samples")
    return array


def run_layers(
    owner: Any,
    wanted: list[int],
    collect: Collector,
    forward: Callable[[], None],
    *,
    last_hook: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> None:
    """Run ``forward`` with ``owner.layers`` (a ModuleList) truncated to the deepest wanted
    layer, calling ``collect(n, output)`` as each wanted layer ``n`` finishes.

    ``last_hook`` transforms the output of the model's last layer (for families whose own
    ``output_hidden_states`` reports it after the encoder's final LayerNorm).
    """
    if not wanted:
        forward()
        return
    full = owner.layers
    n_layers = len(full)
    handles = []

    def hook_for(n: int) -> Callable[..., None]:
        def keep(_module: Any, _args: Any, output: Any) -> None:
            hidden = output[0] if isinstance(output, tuple) else output
            if last_hook is not None and n == n_layers:
                hidden = last_hook(hidden)
            collect(n, hidden)

        return keep

    for n in wanted:
        handles.append(full[n - 1].register_forward_hook(hook_for(n)))
    owner.layers = full[: max(wanted)]
    try:
        forward()
    finally:
        owner.layers = full
        for handle in handles:
            handle.remove()
