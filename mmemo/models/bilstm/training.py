"""Training loop of the bi-LSTM (early stopping on validation macro-F1), prediction, and the
actor-disjoint inner split that early stopping selects on."""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Sequence

import numpy as np

from mmemo.errors import InputError
from mmemo.models.bilstm.checkpoint import TrainedBiLSTM
from mmemo.models.bilstm.config import BiLSTMConfig
from mmemo.models.bilstm.network import build_model, forward_all, pad_batch
from mmemo.models.torch_utils import class_indices, require_torch, resolve_device, seed_everything
from mmemo.splits import split_actors

torch = require_torch()
from torch import nn  # noqa: E402

logger = logging.getLogger(__name__)

EpochCallback = Callable[[int, dict[str, float]], None]


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


def balanced_class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """scikit-learn's "balanced" weight of each class index ``0..n_classes-1``:
    ``n_samples / (n_present_classes * count)``, and 0 for a class absent from ``y``."""
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(y)
    weights = np.zeros(n_classes, dtype=np.float64)
    weights[present] = compute_class_weight("balanced", classes=present, y=y)
    return weights


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
    y_tr = class_indices(y_train, len(train), cfg.n_classes, "training labels", "sequences")
    has_val = val is not None and len(val) > 0
    if has_val:
        if y_val is None:
            raise InputError("validation clips given without validation labels")
        _check_sequences(val, "validation clips", input_dim)
        y_va = class_indices(y_val, len(val), cfg.n_classes, "validation labels", "sequences")

    device = resolve_device(cfg.device)
    seed_everything(cfg.seed, device=device)
    rng = np.random.default_rng(cfg.seed)
    model = build_model(cfg, input_dim).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    weight = None
    if cfg.class_weight == "balanced":
        weight = torch.tensor(
            balanced_class_weights(y_tr, cfg.n_classes), dtype=torch.float32, device=device
        )
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
            x, lengths = pad_batch(train, idx, device)
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
            val_logits, _ = forward_all(model, val, cfg.eval_batch_size, device)
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
    return forward_all(
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
    for validation (scikit-learn's ``GroupShuffleSplit``, through
    :func:`mmemo.splits.split_actors`); every clip of an actor lands on the same side. Draws
    whose training side misses a class of ``y`` are passed over (up to ``max_tries`` draws;
    then the first draw is used), so the model always sees every class.

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
    ((train_idx, val_idx),) = split_actors(
        actors_of_train_clips, y, fraction=fraction, seed=seed, max_tries=max_tries
    )
    return train_idx, val_idx
