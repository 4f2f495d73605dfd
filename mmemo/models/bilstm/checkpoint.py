"""A trained bi-LSTM and its checkpoint file (weights, config and training record)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmemo.errors import InputError
from mmemo.models.bilstm.config import BiLSTMConfig
from mmemo.models.bilstm.network import BiLSTMAttention, build_model
from mmemo.models.torch_utils import require_torch
from mmemo.models.trained import TrainedNetwork

torch = require_torch()


@dataclass
class TrainedBiLSTM(TrainedNetwork):
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
    def _read(cls, path: str | Path) -> TrainedBiLSTM:
        """The file :meth:`save` wrote (:meth:`load` reads it through this)."""
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != "mmemo.bilstm/1":
            raise InputError(f"'{path}' is not an mmemo bi-LSTM checkpoint")
        cfg = BiLSTMConfig.from_dict(payload["config"])
        model = build_model(cfg, int(payload["input_dim"]))
        model.load_state_dict(payload["state_dict"])
        return cls(
            model=model,
            config=cfg,
            input_dim=int(payload["input_dim"]),
            history=list(payload["history"]),
            best_epoch=int(payload["best_epoch"]),
            best_val_macro_f1=payload["best_val_macro_f1"],
            stopped_early=bool(payload["stopped_early"]),
        )
