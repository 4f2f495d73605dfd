"""Encoder-family registry: which embedder loads a checkpoint, chosen from its config.

The family comes from the checkpoint's ``config.json`` (``model_type``), so
``mmemo embed PATH_OR_ID`` works for every supported family without a flag:

==================  =========================================  ====================
``model_type``      embedder                                   layers
==================  =========================================  ====================
``wav2vec2``        :class:`~.raw.RawWaveEncoder` (and XLSR)   conv, conv_raw, 1..N
``hubert``          :class:`~.raw.RawWaveEncoder`              conv, conv_raw, 1..N
``wavlm``           :class:`~.raw.RawWaveEncoder`              conv, conv_raw, 1..N
``data2vec-audio``  :class:`~.raw.RawWaveEncoder`              conv, conv_raw, 1..N
``whisper``         :class:`~.whisper.WhisperEncoderEmbedder`  1..N
==================  =========================================  ====================

An installed package adds a family through the entry-point group ``mmemo.encoders``: the name
is the config's ``model_type``, the value an :class:`~.base.AudioEncoder` subclass
(``"my_package:MyEncoder"``); a raw-waveform family that transformers' ``AutoModel`` loads
needs no more than a subclass of :class:`~.raw.RawWaveEncoder` naming it in ``families``.
Built-in families win over a plug-in of the same ``model_type``.

Example:
    >>> encoder = load_encoder("microsoft/wavlm-large")  # doctest: +SKIP
    >>> encoder.embed_layers(waves, layers=["conv", 12, 24])  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mmemo.errors import InputError, first_line
from mmemo.features.encoders.base import (
    DEFAULT_MAX_SECONDS,
    AudioEncoder,
    Embedding,
    Layer,
    Pool,
    import_ml,
)

__all__ = [
    "DEFAULT_MAX_SECONDS",
    "FAMILIES",
    "AudioEncoder",
    "Embedding",
    "EncoderShape",
    "Layer",
    "Pool",
    "encoder_families",
    "encoder_shape",
    "load_encoder",
]

#: Supported ``model_type`` values → module (under mmemo.features.encoders) and class name.
FAMILIES: dict[str, tuple[str, str]] = {
    "wav2vec2": ("raw", "RawWaveEncoder"),
    "hubert": ("raw", "RawWaveEncoder"),
    "wavlm": ("raw", "RawWaveEncoder"),
    "data2vec-audio": ("raw", "RawWaveEncoder"),
    "whisper": ("whisper", "WhisperEncoderEmbedder"),
}


@dataclass(frozen=True)
class EncoderShape:
    """What a checkpoint's config says about its layers, read without loading weights."""

    model_type: str
    num_layers: int
    has_conv: bool

    def all_layers(self) -> list[Layer]:
        """``conv`` (where the model has a conv encoder) and every transformer layer."""
        convs: list[Layer] = ["conv"] if self.has_conv else []
        return convs + list(range(1, self.num_layers + 1))

    def layer_names(self) -> str:
        """The valid layers, as an error message lists them."""
        convs = "conv, conv_raw, " if self.has_conv else ""
        return f"{convs}1..{self.num_layers}"


def encoder_families() -> dict[str, tuple[str, str]]:
    """Every encoder family by ``model_type``: ``(module:Class, origin)``, the built-ins
    (:data:`FAMILIES`) then installed packages' ``mmemo.encoders`` entry points."""
    from importlib.metadata import entry_points

    found = {
        kind: (f"mmemo.features.encoders.{module}:{cls}", "built-in")
        for kind, (module, cls) in FAMILIES.items()
    }
    for point in entry_points(group="mmemo.encoders"):
        if point.name not in found:
            origin = f"plugin {point.dist.name} {point.dist.version}" if point.dist else "plugin"
            found[point.name] = (point.value, origin)
    return found


def _encoder_class(model_type: str) -> type[AudioEncoder]:
    """The embedder class of a family (importing a plug-in's module).

    Raises:
        InputError: a plug-in that cannot be imported.
    """
    import importlib

    target = encoder_families()[model_type][0]
    module, _, name = target.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise InputError(
            f"encoder family {model_type!r} ({target}) cannot be loaded: {exc}"
        ) from None


def _model_type(model: str | Path, revision: str | None) -> tuple[str, object]:
    import_ml()
    from transformers import AutoConfig

    from mmemo.features.checkpoints import resolve_checkpoint

    source = resolve_checkpoint(model, revision)
    try:
        config = AutoConfig.from_pretrained(source, revision=revision)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot load model '{source}': {first_line(exc)}") from exc
    model_type = str(getattr(config, "model_type", ""))
    families = encoder_families()
    if model_type not in families:
        raise InputError(
            f"model '{source}' is of type {model_type or 'unknown'!r}; supported encoder "
            f"families: {', '.join(families)}"
        )
    return model_type, config


def encoder_shape(model: str | Path, *, revision: str | None = None) -> EncoderShape:
    """The family and layers of a checkpoint from its config alone (no weights loaded).

    Raises:
        InputError: a missing folder or unreachable hub (see
            :func:`~mmemo.features.checkpoints.resolve_checkpoint`), a config that cannot be
            read, or a family that is not supported.
    """
    model_type, config = _model_type(model, revision)
    num_layers, has_conv = _encoder_class(model_type).layers_of(config)
    return EncoderShape(model_type, num_layers, has_conv)


def load_encoder(
    model: str | Path, *, revision: str | None = None, device: str = "auto"
) -> AudioEncoder:
    """Load a checkpoint with the embedder of its family (see the table above).

    Args:
        model: Hub id or local directory written by ``save_pretrained``.
        revision: Hub branch, tag or commit; None for the default branch.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``.

    Raises:
        MissingDependencyError: torch or transformers is not installed.
        InputError: unknown family (listing the supported ones), bad device or checkpoint.
    """
    model_type, _ = _model_type(model, revision)
    return _encoder_class(model_type)(model, revision=revision, device=device)
