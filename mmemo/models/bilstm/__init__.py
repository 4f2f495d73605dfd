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

from mmemo.models.bilstm.checkpoint import TrainedBiLSTM
from mmemo.models.bilstm.config import BiLSTMConfig
from mmemo.models.bilstm.network import BiLSTMAttention
from mmemo.models.bilstm.training import EpochCallback, inner_split, predict_bilstm, train_bilstm

__all__ = [
    "BiLSTMAttention",
    "BiLSTMConfig",
    "EpochCallback",
    "TrainedBiLSTM",
    "inner_split",
    "predict_bilstm",
    "train_bilstm",
]
