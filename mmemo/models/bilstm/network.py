"""The bi-LSTM with attention as a torch module, and batched eval-mode forward passes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmemo.models.bilstm.config import BiLSTMConfig
from mmemo.models.torch_utils import require_torch

torch = require_torch()
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402


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
        n_classes: int,
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


def build_model(cfg: BiLSTMConfig, input_dim: int) -> BiLSTMAttention:
    return BiLSTMAttention(
        input_dim,
        hidden=cfg.hidden,
        layers=cfg.layers,
        attention_hidden=cfg.attention_width,
        n_classes=cfg.n_classes,
        dropout=cfg.dropout,
        attention_dropout=cfg.attention_dropout,
    )


def pad_batch(
    seqs: Sequence[np.ndarray], idx: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = np.array([seqs[i].shape[0] for i in idx], dtype=np.int64)
    dim = seqs[idx[0]].shape[1]
    batch = np.zeros((len(idx), int(lengths.max()), dim), dtype=np.float32)
    for row, i in enumerate(idx):
        batch[row, : lengths[row]] = seqs[i]
    return torch.from_numpy(batch).to(device), torch.from_numpy(lengths).to(device)


def forward_all(
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
            x, lengths = pad_batch(seqs, idx, device)
            out, attn = model(x, lengths)
            out_np = out.float().cpu().numpy()
            attn_np = attn.float().cpu().numpy()
            for row, i in enumerate(idx):
                logits[i] = out_np[row]
                attention[i] = attn_np[row, : seqs[i].shape[0]].copy()
    return logits, attention
