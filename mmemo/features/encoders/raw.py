"""Raw-waveform encoders: wav2vec2 / XLSR, HuBERT, WavLM and data2vec-audio.

All four read the normalised raw wave through a convolutional feature encoder (320 samples per
frame at 16 kHz) followed by a transformer. Layers:

* ``"conv"`` — the conv encoder output with the feature projection's LayerNorm applied (the
  input of the projection's linear layer): ``extract_features`` of wav2vec2, WavLM and
  data2vec-audio, which Luna-Jiménez et al. (2022) averaged. HuBERT applies that LayerNorm
  only with ``feat_proj_layer_norm`` (its default); without it ``conv`` equals ``conv_raw``.
* ``"conv_raw"`` — the conv encoder output before that LayerNorm.
* ``N`` (1..num_hidden_layers) — the output of transformer layer N, equal to
  ``hidden_states[N]`` of the family's own full forward with ``output_hidden_states=True``.

Batching and exactness. Clips are zero-padded to the longest clip of a batch; the number of
valid frames of each clip comes from the model's output-length formula, and pooling never sees
padded frames (the conv output of zero padding is *not* zero). The attention-mask convention is
the one the checkpoint's feature extractor declares (``return_attention_mask``): checkpoints
that return a mask (wav2vec2-large, XLSR, HuBERT-large, WavLM: layer-norm conv encoders) get it
and batched vectors equal unbatched ones. Checkpoints without one (wav2vec2-base style,
``feat_extract_norm="group"``) must not get a mask: their GroupNorm statistics and
self-attention would see the padding, so such models run only on batches of clips of equal
length (in practice, one clip at a time), keeping every vector independent of batching.
data2vec-audio runs the same way even with its mask: its positional embedding is a stack of
convolutions, so from the second one on the frames of padding (no longer zero) reach the last
real frames, and only equal-length batches keep vectors equal to unbatched ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from mmemo.errors import InputError
from mmemo.features.checkpoints import resolve_revision
from mmemo.features.encoders.base import AudioEncoder, Embedding, EmbedRequest, Layer, run_layers
from mmemo.models.torch_utils import autocast

if TYPE_CHECKING:
    import torch

__all__ = ["RAW_FAMILIES", "RawWaveEncoder"]

#: ``model_type`` values of the configs this module loads, and their family names.
RAW_FAMILIES = {
    "wav2vec2": "wav2vec2",
    "hubert": "HuBERT",
    "wavlm": "WavLM",
    "data2vec-audio": "data2vec-audio",
}


class RawWaveEncoder(AudioEncoder):
    """A raw-waveform checkpoint (wav2vec2 / XLSR, HuBERT, WavLM, data2vec-audio) ready to
    embed 16 kHz mono waves.

    Attributes:
        info: What made the vectors, to store with a feature set: ``model`` (id or path),
            ``family`` (the config's ``model_type``), ``revision`` (hub commit hash when
            known, else ``sha256:<hex>`` of the weight files of a local directory, else the
            requested revision), ``revision_source`` (``"hub"``, ``"sha256"``,
            ``"requested"`` or ``"unknown"``), ``conv_dim``, ``hidden_size``, ``num_layers``,
            ``return_attention_mask``, ``feat_extract_norm``, ``do_stable_layer_norm``,
            ``do_normalize``, ``sample_rate``, ``device``, ``dtype`` (``"float32"`` or
            ``"bfloat16-autocast"``), ``torch`` and ``transformers`` versions.
    """

    _has_conv = True
    #: The configs' ``model_type`` values this class loads, and their family names; a
    #: plug-in's subclass names others that ``AutoModel`` loads the same way.
    families: ClassVar[dict[str, str]] = RAW_FAMILIES

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
            InputError: the device is unknown or unavailable, the checkpoint cannot be loaded
                or is not of a raw-waveform family.
        """
        source = str(model)
        self._model = self._load(source, revision, device, "wav2vec2")
        config = self._model.config
        model_type = str(getattr(config, "model_type", ""))
        if model_type not in self.families:
            raise InputError(
                f"model '{source}' is a {model_type or 'unknown'} model; raw-waveform "
                f"families: {', '.join(self.families)}"
            )
        self.family = self.families[model_type]
        self._model.eval()
        self._model.to(self._device)
        self._uses_mask = bool(getattr(self._feature_extractor, "return_attention_mask", False))
        # padding leaks through a stack of positional convolutions (see the module docstring)
        self._pad_free = self._uses_mask and model_type != "data2vec-audio"
        self._num_layers = int(config.num_hidden_layers)
        self._stable = bool(getattr(config, "do_stable_layer_norm", False))
        self._conv_norm = getattr(self._model.feature_projection, "layer_norm", None)
        # transformers < 5 reports the final-layer-normed state as the last hidden state of
        # pre-norm ("stable") encoders; 5.x reports the last layer's own output.
        self._last_state_normed = int(self._versions["transformers"].split(".")[0]) < 5
        rev, rev_source = resolve_revision(self._model, source, revision)
        self.info: dict[str, Any] = {
            "model": source,
            "family": model_type,
            "revision": rev,
            "revision_source": rev_source,
            "conv_dim": int(config.conv_dim[-1]),
            "hidden_size": int(config.hidden_size),
            "num_layers": self._num_layers,
            "return_attention_mask": self._uses_mask,
            "feat_extract_norm": str(config.feat_extract_norm),
            "do_stable_layer_norm": self._stable,
            "do_normalize": bool(getattr(self._feature_extractor, "do_normalize", False)),
            **self._runtime_info(),
        }

    def output_lengths(self, n_samples: list[int] | np.ndarray) -> np.ndarray:
        """Number of frames the conv encoder makes of clips of ``n_samples`` samples.

        Returns:
            int64 array of frame counts (0 for clips shorter than the receptive field).
        """
        torch = self._torch
        lengths = torch.as_tensor(list(n_samples), dtype=torch.long)
        try:
            out = self._model._get_feat_extract_output_lengths(lengths, add_adapter=False)
        except TypeError:  # HuBERT's formula takes no adapter flag
            out = self._model._get_feat_extract_output_lengths(lengths)
        return np.maximum(np.asarray(out.cpu().numpy(), dtype=np.int64), 0)

    # -- internals ---------------------------------------------------------------------------

    def _run(self, request: EmbedRequest, results: list[dict[Layer, Embedding]]) -> None:
        inputs = [self._normalise(w) for w in request.waves]
        n_frames = self.output_lengths([len(x) for x in inputs])
        for name, x, n in zip(request.names, inputs, n_frames, strict=True):
            if n < 1:
                raise InputError(
                    f"{name}: {len(x)} samples are too short for this model (no complete frame)"
                )
        for group in self._groups([len(x) for x in inputs]):
            lengths = [int(n_frames[i]) for i in group]

            def collect(layer: Layer, hidden: torch.Tensor, group=group, lengths=lengths) -> None:
                if layer == "conv_raw" or layer == "conv":
                    hidden = hidden.transpose(1, 2)
                if layer == "conv" and self._conv_norm is not None:
                    hidden = self._conv_norm(hidden)
                hidden = hidden.float()
                for row, i in enumerate(group):
                    valid = hidden[row, : lengths[row]].cpu()
                    results[i][layer] = request.pooled(valid)

            self._forward([inputs[i] for i in group], request.layers, collect)

    def _normalise(self, array: np.ndarray) -> np.ndarray:
        """The wave as the feature extractor prepares it (e.g. zero mean, unit variance)."""
        values = self._feature_extractor(
            array, sampling_rate=self.sample_rate, return_tensors="np"
        ).input_values
        return np.ascontiguousarray(np.asarray(values[0], dtype=np.float32))

    def _groups(self, lengths: list[int]) -> list[list[int]]:
        """Index groups run as one forward pass (equal lengths only where padding would leak
        into the real frames)."""
        if self._pad_free:
            return [list(range(len(lengths)))]
        groups: dict[int, list[int]] = {}
        for i, n in enumerate(lengths):
            groups.setdefault(n, []).append(i)
        return list(groups.values())

    @contextmanager
    def _conv_per_clip(self, inputs: list[np.ndarray]) -> Iterator[None]:
        """On CPU, make the conv encoder run one clip at a time inside a batch's forward pass.

        Speed: its activations are large (512 channels at 1/5 of the sample rate in the large
        models) and layer-normed, so on CPU it is memory-bound and slower per clip in a batch
        than alone: measured 0.63 s per 3.7 s clip at batch 16 vs 0.40 s one at a time with a
        wav2vec2-large shape on 2 threads, while the transformer after it gains from the batch.

        Memory: each clip runs on its row of the padded batch cut at its
        :meth:`_padded_length`, so activations come in a few sizes, which the C allocator
        reuses; sizes that follow every clip length left its heap ever more fragmented (peak
        RSS up by a third over 1,440 clips, flat this way).

        Each clip's valid frames are the same as in the padded batch (the output-length formula
        keeps them off the padding); the frames past a clip's end are zero here, which nothing
        reads: pooling stops at the valid frames and, with an attention mask, the encoder
        zeroes them itself. Batches without a mask are of equal lengths (:meth:`_groups`).
        On CUDA the batched conv is kept.
        """
        extractor = self._model.feature_extractor
        if self._device.type != "cpu" or len(inputs) < 2:
            yield
            return
        run = type(extractor).forward
        valid = self.output_lengths([len(x) for x in inputs])

        def per_clip(padded_batch: torch.Tensor) -> torch.Tensor:
            width = int(self.output_lengths([padded_batch.shape[-1]])[0])
            out = None
            for row, x in enumerate(inputs):
                clip = run(extractor, padded_batch[row : row + 1, : self._padded_length(len(x))])
                if out is None:
                    out = clip.new_zeros((len(inputs), clip.shape[1], width))
                out[row, :, : valid[row]] = clip[0, :, : valid[row]]
            return out

        extractor.forward = per_clip  # hooks on the extractor still see the whole batch
        try:
            yield
        finally:
            del extractor.forward

    def _padded_length(self, n_samples: int) -> int:
        """Samples a clip is run with: where padding cannot reach its frames (an attention
        mask), its length rounded up to a quarter second (a few tensor sizes, see
        :meth:`_conv_per_clip`; 3 % more conv work on average for 4 s clips), else its own."""
        if not self._pad_free:
            return n_samples
        step = self.sample_rate // 4
        return -(-n_samples // step) * step

    def _forward(self, inputs: list[np.ndarray], layers: list[Layer], collect) -> None:
        """Run one padded batch, calling ``collect(layer, B × T × D)`` for each layer."""
        torch = self._torch
        longest = max(self._padded_length(len(x)) for x in inputs)
        batch = torch.zeros((len(inputs), longest), dtype=torch.float32)
        mask = torch.zeros((len(inputs), longest), dtype=torch.long) if self._uses_mask else None
        for row, x in enumerate(inputs):
            batch[row, : len(x)] = torch.from_numpy(x)
            if mask is not None:
                mask[row, : len(x)] = 1
        batch = self._to_device(batch)
        mask = self._to_device(mask) if mask is not None else None
        model = self._model
        convs = [layer for layer in layers if isinstance(layer, str)]
        numbers = sorted(layer for layer in layers if isinstance(layer, int))
        with autocast(self._device), self._conv_per_clip(inputs):
            if not numbers:  # the transformer need not run
                conv = model.feature_extractor(batch)
                for layer in convs:
                    collect(layer, conv)
                return

            def keep_conv(_module: Any, _args: Any, output: Any) -> None:
                for layer in convs:
                    collect(layer, output)

            handle = model.feature_extractor.register_forward_hook(keep_conv) if convs else None
            last = model.encoder.layer_norm if self._stable and self._last_state_normed else None
            try:
                run_layers(
                    model.encoder,
                    numbers,
                    collect,
                    lambda: model(batch, attention_mask=mask),
                    last_hook=last,
                )
            finally:
                if handle is not None:
                    handle.remove()
