"""Sequential facial model of the paper: bi-LSTM with attention over OpenFace Action Unit frames.

Luna-Jiménez et al. (2022), Sections 3.3.2 and 4.1.1: two bidirectional LSTM layers of 50 units,
an attention mechanism of two layers (an MLP with tanh scoring every frame, a softmax over time,
the weighted sum of the LSTM outputs), and a linear 8-way output; batches of 64, at most 300
epochs, early stopping when the validation macro-F1 has not improved for 30 epochs.

Choices the paper leaves open, taken from the authors' published configuration
(``conf/RAVDESS_AUs.json`` of cristinalunaj/MMEmotionRecognition) and recorded in
:class:`BiLSTMConfig`: Adam with learning rate 1e-3 and no weight decay; dropout 0.3 between the
LSTM layers and inside the attention MLP; gradient norm clipped to 1; cross-entropy weighted by
the "balanced" class weights of the training labels; the attention MLP is
``Linear(2L, 2L) → tanh → Linear(2L, 1) → tanh`` (``2L`` = 100 with L = 50 units per direction),
i.e. its hidden width equals the width of the concatenated bi-LSTM output.

Padded frames never count: sequences are packed with ``pack_padded_sequence``, and the softmax of
the attention runs over the valid frames of each clip only (padded frames get weight exactly 0),
so a clip's output does not depend on the clips it is batched with.

The model never touches the store: :func:`train_bilstm` takes arrays and returns a
:class:`TrainedBiLSTM`; the job layer stores what it returns.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmemo.errors import InputError
from mmemo.models.base import check_config_keys
from mmemo.models.torch_utils import require_torch, resolve_device, seed_everything

torch = require_torch()
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

__all__ = [
    "BiLSTMAttention",
    "BiLSTMConfig",
    "TrainedBiLSTM",
    "inner_split",
    "predict_bilstm",
    "train_bilstm",
]

logger = logging.getLogger(__name__)

EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass
class BiLSTMConfig:
    """Hyper-parameters of the bi-LSTM with attention (paper values unless noted).

    Attributes:
        hidden: LSTM units per direction (paper: 50).
        layers: Stacked bi-LSTM layers (paper: 2).
        attention_hidden: Width of the attention MLP's hidden layer. None means twice ``hidden``
            (the width of the bi-LSTM output, 100), as in the authors' code.
        dropout: Dropout between the LSTM layers (authors' configuration: 0.3).
        attention_dropout: Dropout after the attention MLP's hidden layer (authors': 0.3).
        n_classes: Output classes (8 RAVDESS emotions).
        batch_size: Clips per batch (paper: 64).
        max_epochs: Upper bound on epochs (paper: 300).
        patience: Stop when the validation macro-F1 has not improved for this many epochs
            (paper: 30).
        lr: Adam learning rate (authors' configuration: 1e-3).
        weight_decay: Adam weight decay (authors': 0).
        clip_norm: Gradient-norm clipping; None switches it off (authors': 1).
        class_weight: ``"balanced"`` weights the cross-entropy by inverse class frequency of the
            training labels (authors' code); None for plain cross-entropy.
        seed: Seed of weights, dropout and batch order (paper: 2020).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        eval_batch_size: Clips per batch when predicting.
    """

    hidden: int = 50
    layers: int = 2
    attention_hidden: int | None = None
    dropout: float = 0.3
    attention_dropout: float = 0.3
    n_classes: int = 8
    batch_size: int = 64
    max_epochs: int = 300
    patience: int = 30
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip_norm: float | None = 1.0
    class_weight: Literal["balanced"] | None = "balanced"
    seed: int = 2020
    device: str = "auto"
    eval_batch_size: int = 256

    @property
    def attention_width(self) -> int:
        """The attention MLP's hidden width actually used."""
        return self.attention_hidden if self.attention_hidden is not None else 2 * self.hidden

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-friendly dict (stored with every run)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BiLSTMConfig:
        """Rebuild a config from :meth:`to_dict` output; unknown keys are an error.

        Raises:
            InputError: A key is not a field of the config.
        """
        check_config_keys(cls, data, "bi-LSTM")
        return cls(**data)


class BiLSTMAttention(nn.Module):
    """Stacked bi-LSTM, frame attention and a linear classifier.

    Args:
        input_dim: Values per frame (35 OpenFace AU columns).
        hidden: LSTM units per direction.
        layers: Stacked bi-LSTM layers.
        attention_hidden: Hidden width of the attention MLP.
        n_classes: Output classes.
        dropout: Dropout between LSTM layers.
        attention_dropout: Dropout after the attention MLP's hidden layer.
    """

    def __init__(
        self,
        input_dim: int,
        *,
        hidden: int = 50,
        layers: int = 2,
        attention_hidden: int = 100,
        n_classes: int = 8,
        dropout: float = 0.3,
        attention_dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            input_size=input_dim,
            hidden_size=hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        width = 2 * hidden
        self.attention = nn.Sequential(
            nn.Linear(width, attention_hidden),
            nn.Tanh(),
            nn.Dropout(attention_dropout),
            nn.Linear(attention_hidden, 1),
            nn.Tanh(),
        )
        self.classifier = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Classify a padded batch of sequences.

        Args:
            x: ``B × T × D`` frames, zero-padded after each clip's last frame.
            lengths: ``B`` valid frame counts (each at least 1, at most T).

        Returns:
            ``(logits B × n_classes, attention B × T)``; attention rows sum to 1 over the valid
            frames and are exactly 0 on padded frames.
        """
        total = x.shape[1]
        lengths_cpu = lengths.detach().to("cpu", torch.int64)
        packed = pack_padded_sequence(x, lengths_cpu, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(out, batch_first=True, total_length=total)  # B × T × 2L
        scores = self.attention(h).squeeze(-1)  # B × T
        valid = torch.arange(total, device=x.device)[None, :] < lengths.to(x.device)[:, None]
        scores = scores.masked_fill(~valid, float("-inf"))
        attn = torch.softmax(scores, dim=1)  # exp(-inf) = 0: padded frames weigh exactly 0
        pooled = torch.bmm(attn.unsqueeze(1), h).squeeze(1)  # B × 2L
        return self.classifier(pooled), attn


@dataclass
class TrainedBiLSTM:
    """A trained bi-LSTM with what is needed to use, store and explain it.

    Attributes:
        model: The network, holding the best epoch's weights, in eval mode.
        config: The configuration it was trained with.
        input_dim: Values per frame.
        history: One record per epoch: ``epoch``, ``loss`` (mean training loss) and, with a
            validation set, ``val_loss``, ``val_accuracy``, ``val_macro_f1``.
        best_epoch: The epoch whose weights the model holds (1-based).
        best_val_macro_f1: Validation macro-F1 of that epoch (None without validation data).
        stopped_early: Whether training stopped before ``max_epochs``.
    """

    model: BiLSTMAttention
    config: BiLSTMConfig
    input_dim: int
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_macro_f1: float | None = None
    stopped_early: bool = False

    @property
    def device(self) -> torch.device:
        """The device the model's weights are on."""
        return next(self.model.parameters()).device

    def save(self, path: str | Path) -> Path:
        """Write weights, config and training record to one file (``torch.save`` of plain data).

        The file loads with ``torch.load(..., weights_only=True)``: tensors, numbers, strings,
        lists and dicts only, no pickled classes.

        Args:
            path: File to write (parent folders are created).

        Returns:
            The path written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        payload = {
            "format": "mmemo.bilstm/1",
            "state_dict": state,
            "config": self.config.to_dict(),
            "input_dim": self.input_dim,
            "history": self.history,
            "best_epoch": self.best_epoch,
            "best_val_macro_f1": self.best_val_macro_f1,
            "stopped_early": self.stopped_early,
        }
        torch.save(payload, path)
        return path

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> TrainedBiLSTM:
        """Read a file written by :meth:`save`.

        Args:
            path: The file.
            device: Where to put the model; None uses the saved config's device.

        Returns:
            The trained model, in eval mode.

        Raises:
            InputError: The file is not an mmemo bi-LSTM checkpoint.
        """
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != "mmemo.bilstm/1":
            raise InputError(f"'{path}' is not an mmemo bi-LSTM checkpoint")
        cfg = BiLSTMConfig.from_dict(payload["config"])
        model = _build_model(cfg, int(payload["input_dim"]))
        model.load_state_dict(payload["state_dict"])
        model.to(resolve_device(device or cfg.device)).eval()
        return cls(
            model=model,
            config=cfg,
            input_dim=int(payload["input_dim"]),
            history=list(payload["history"]),
            best_epoch=int(payload["best_epoch"]),
            best_val_macro_f1=payload["best_val_macro_f1"],
            stopped_early=bool(payload["stopped_early"]),
        )


def _build_model(cfg: BiLSTMConfig, input_dim: int) -> BiLSTMAttention:
    return BiLSTMAttention(
        input_dim,
        hidden=cfg.hidden,
        layers=cfg.layers,
        attention_hidden=cfg.attention_width,
        n_classes=cfg.n_classes,
        dropout=cfg.dropout,
        attention_dropout=cfg.attention_dropout,
    )


def _check_sequences(seqs: Sequence[np.ndarray], what: str, input_dim: int | None = None) -> int:
    """Validate a list of ``T_i × D`` arrays and return D."""
    if len(seqs) == 0:
        raise InputError(f"{what}: no sequences given")
    dims = set()
    for i, s in enumerate(seqs):
        if s.ndim != 2 or s.shape[0] < 1:
            raise InputError(
                f"{what}: sequence {i} has shape {tuple(s.shape)}; expected frames × values "
                "with at least one frame"
            )
        dims.add(int(s.shape[1]))
    if len(dims) != 1:
        raise InputError(f"{what}: sequences differ in values per frame: {sorted(dims)}")
    dim = dims.pop()
    if input_dim is not None and dim != input_dim:
        raise InputError(f"{what}: {dim} values per frame; the model expects {input_dim}")
    return dim


def _check_labels(y: np.ndarray, n: int, n_classes: int, what: str) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise InputError(f"{what}: {y.shape[0] if y.ndim else 0} labels for {n} sequences")
    if not np.issubdtype(y.dtype, np.integer):
        raise InputError(f"{what}: labels must be class indices (integers), got {y.dtype}")
    if n and (y.min() < 0 or y.max() >= n_classes):
        raise InputError(f"{what}: labels must lie in 0..{n_classes - 1}")
    return y.astype(np.int64)


def _pad(
    seqs: Sequence[np.ndarray], idx: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = np.array([seqs[i].shape[0] for i in idx], dtype=np.int64)
    dim = seqs[idx[0]].shape[1]
    batch = np.zeros((len(idx), int(lengths.max()), dim), dtype=np.float32)
    for row, i in enumerate(idx):
        batch[row, : lengths[row]] = seqs[i]
    return torch.from_numpy(batch).to(device), torch.from_numpy(lengths).to(device)


def _forward_all(
    model: BiLSTMAttention, seqs: Sequence[np.ndarray], batch_size: int, device: torch.device
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Eval-mode forward over all sequences, in their order."""
    model.eval()
    n = len(seqs)
    # Batch clips of similar length together: less padding, same results (masking).
    order = np.argsort([s.shape[0] for s in seqs], kind="stable")
    logits = np.zeros((n, model.classifier.out_features), dtype=np.float32)
    attention: list[np.ndarray] = [np.zeros(0, dtype=np.float32)] * n
    with torch.no_grad():
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            x, lengths = _pad(seqs, idx, device)
            out, attn = model(x, lengths)
            out_np = out.float().cpu().numpy()
            attn_np = attn.float().cpu().numpy()
            for row, i in enumerate(idx):
                logits[i] = out_np[row]
                attention[i] = attn_np[row, : seqs[i].shape[0]].copy()
    return logits, attention


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def train_bilstm(
    train: Sequence[np.ndarray],
    y_train: np.ndarray,
    val: Sequence[np.ndarray] | None,
    y_val: np.ndarray | None,
    cfg: BiLSTMConfig | None = None,
    *,
    on_epoch: EpochCallback | None = None,
) -> TrainedBiLSTM:
    """Train the bi-LSTM with attention, early-stopping on validation macro-F1.

    After every epoch the model is scored on the validation clips; the weights of the epoch with
    the best macro-F1 (first one on ties) are kept, and training stops when ``cfg.patience``
    epochs pass without improvement. Without validation data it trains ``cfg.max_epochs``
    epochs and keeps the last weights. On CPU, two runs with the same seed and data give
    bit-identical weights.

    Args:
        train: Training clips, each ``T_i × D`` float32 frames.
        y_train: Class indices ``0..n_classes-1`` of the training clips.
        val: Validation clips (for example from :func:`inner_split`), or None.
        y_val: Their class indices, or None.
        cfg: Hyper-parameters; None means the paper's.
        on_epoch: Called after every epoch with the epoch number (1-based) and its history
            record, for progress reporting.

    Returns:
        The trained model with its history and best epoch.

    Raises:
        InputError: Empty or ragged inputs, labels out of range, or mismatched lengths.
    """
    cfg = cfg or BiLSTMConfig()
    if cfg.batch_size < 1 or cfg.max_epochs < 1 or cfg.patience < 1:
        raise InputError("batch_size, max_epochs and patience must be at least 1")
    input_dim = _check_sequences(train, "training clips")
    y_tr = _check_labels(y_train, len(train), cfg.n_classes, "training labels")
    has_val = val is not None and len(val) > 0
    if has_val:
        if y_val is None:
            raise InputError("validation clips given without validation labels")
        _check_sequences(val, "validation clips", input_dim)
        y_va = _check_labels(y_val, len(val), cfg.n_classes, "validation labels")

    device = resolve_device(cfg.device)
    seed_everything(cfg.seed, device=device)
    rng = np.random.default_rng(cfg.seed)
    model = _build_model(cfg, input_dim).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    weight = None
    if cfg.class_weight == "balanced":
        counts = np.bincount(y_tr, minlength=cfg.n_classes).astype(np.float64)
        present = counts > 0
        w = np.zeros(cfg.n_classes, dtype=np.float64)
        # sklearn's "balanced": n_samples / (n_present_classes * count)
        w[present] = len(y_tr) / (present.sum() * counts[present])
        weight = torch.tensor(w, dtype=torch.float32, device=device)
    elif cfg.class_weight is not None:
        raise InputError(f"unknown class_weight '{cfg.class_weight}'; expected balanced or None")
    criterion = nn.CrossEntropyLoss(weight=weight)
    val_criterion = nn.CrossEntropyLoss(weight=weight)

    history: list[dict[str, float]] = []
    best_f1 = -math.inf
    best_epoch = 0
    best_state: dict[str, torch.Tensor] | None = None
    since_best = 0
    stopped_early = False
    n = len(train)

    for epoch in range(1, cfg.max_epochs + 1):
        model.train()
        perm = rng.permutation(n)
        total_loss = 0.0
        for start in range(0, n, cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            x, lengths = _pad(train, idx, device)
            target = torch.from_numpy(y_tr[idx]).to(device)
            optimizer.zero_grad(set_to_none=True)
            logits, _ = model(x, lengths)
            loss = criterion(logits, target)
            loss.backward()
            if cfg.clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
            optimizer.step()
            total_loss += float(loss.detach()) * len(idx)
        record: dict[str, float] = {"epoch": float(epoch), "loss": total_loss / n}

        if has_val:
            val_logits, _ = _forward_all(model, val, cfg.eval_batch_size, device)
            pred = val_logits.argmax(axis=1)
            with torch.no_grad():
                vl = val_criterion(
                    torch.from_numpy(val_logits).to(device), torch.from_numpy(y_va).to(device)
                )
            f1 = _macro_f1(y_va, pred)
            record.update(
                val_loss=float(vl),
                val_accuracy=float((pred == y_va).mean()),
                val_macro_f1=f1,
            )
            if f1 > best_f1:
                best_f1, best_epoch, since_best = f1, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                since_best += 1
        else:
            best_epoch = epoch

        history.append(record)
        logger.debug("bi-LSTM epoch %d: %s", epoch, record)
        if on_epoch is not None:
            on_epoch(epoch, record)
        if has_val and since_best >= cfg.patience:
            stopped_early = epoch < cfg.max_epochs
            break

    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainedBiLSTM(
        model=model,
        config=cfg,
        input_dim=input_dim,
        history=history,
        best_epoch=best_epoch,
        best_val_macro_f1=best_f1 if has_val else None,
        stopped_early=stopped_early,
    )


def predict_bilstm(
    trained: TrainedBiLSTM, seqs: Sequence[np.ndarray], *, batch_size: int | None = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Score clips with a trained bi-LSTM.

    Args:
        trained: The model from :func:`train_bilstm` or :meth:`TrainedBiLSTM.load`.
        seqs: Clips, each ``T_i × D`` float32 frames.
        batch_size: Clips per forward pass; None uses the config's ``eval_batch_size``.
            Results do not depend on it.

    Returns:
        ``(logits, attention)``: raw logits ``n × n_classes`` (float32, not soft-maxed) in the
        order of ``seqs``, and per clip its attention weights over its own ``T_i`` frames.

    Raises:
        InputError: Empty input or wrong number of values per frame.
    """
    _check_sequences(seqs, "clips", trained.input_dim)
    return _forward_all(
        trained.model, seqs, batch_size or trained.config.eval_batch_size, trained.device
    )


def inner_split(
    actors_of_train_clips: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    fraction: float = 0.2,
    max_tries: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Split training clips into an actor-disjoint training and validation part.

    ``round(fraction × n_actors)`` actors (at least 1, at most all but one) are drawn at random
    for validation; every clip of an actor lands on the same side. Draws whose training side
    misses a class of ``y`` are rejected (up to ``max_tries`` draws; then the first draw is
    used), so the model always sees every class.

    Args:
        actors_of_train_clips: Actor id of every training clip.
        y: Class of every training clip.
        seed: Seed of the draw.
        fraction: Share of actors held out for validation.
        max_tries: Draws tried before giving up on class coverage.

    Returns:
        ``(train_idx, val_idx)``: sorted positions into the inputs.

    Raises:
        InputError: Fewer than two actors, mismatched lengths or a fraction outside (0, 1).
    """
    actors = np.asarray(actors_of_train_clips)
    y = np.asarray(y)
    if actors.shape != y.shape or actors.ndim != 1:
        raise InputError(
            f"inner_split: {actors.shape} actor ids for {y.shape} labels; expected two 1-d arrays "
            "of the same length"
        )
    if not 0.0 < fraction < 1.0:
        raise InputError(f"inner_split: fraction must lie strictly between 0 and 1, got {fraction}")
    unique = np.unique(actors)
    if len(unique) < 2:
        raise InputError("inner_split: need at least two actors for an actor-disjoint split")
    k = int(min(max(round(fraction * len(unique)), 1), len(unique) - 1))
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    first: np.ndarray | None = None
    chosen: np.ndarray | None = None
    for _ in range(max(1, max_tries)):
        val_actors = rng.permutation(unique)[:k]
        if first is None:
            first = val_actors
        in_val = np.isin(actors, val_actors)
        if np.array_equal(np.unique(y[~in_val]), classes):
            chosen = val_actors
            break
    if chosen is None:
        chosen = first
    in_val = np.isin(actors, chosen)
    return np.flatnonzero(~in_val), np.flatnonzero(in_val)
