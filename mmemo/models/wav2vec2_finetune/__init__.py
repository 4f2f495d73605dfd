"""Fine-tuned xlsr-Wav2Vec2.0 speech emotion classifier (the paper's best audio model).

Luna-Jiménez et al. (2022), Sections 3.2.2 and 4.1: the pre-trained wav2vec2 model, a global
average pooling over the transformer's output, and an MLP of 1024 tanh units and 8 outputs; the
conv feature encoder stays frozen and everything else is trained; cross-entropy; AdamW with
learning rate 1e-3, betas (0.9, 0.999), epsilon 1e-6; batches of 100; 10 epochs.

Choices the paper leaves open, recorded in :class:`FinetuneConfig`:

* The paper used the Hugging Face ``Trainer`` "with its default optimizer"; the Trainer's
  defaults that go with it are no weight decay, gradient-norm clipping at 1 and a linear decay
  of the learning rate to 0 without warm-up, and these are the defaults here too.
* Pooling averages only the frames that belong to the clip (frame counts from the model's own
  ``_get_feat_extract_output_lengths``), so a clip's output does not depend on how much padding
  its batch adds. The authors' code averaged over all frames, padding included.
* The authors' published script differs from the paper's text (learning rate 1e-4, batches of
  8, fp16, best checkpoint chosen on the test fold). The paper's text is followed here; set the
  fields to reproduce the script instead.

Inputs follow the checkpoint's feature extractor (``preprocessor_config.json``): with
``do_normalize`` each clip is scaled to zero mean and unit variance over its own samples; the
batch is padded with ``padding_value``; an attention mask is passed to the model only when
``return_attention_mask`` is set (layer-norm checkpoints such as XLSR). Group-norm checkpoints
(wav2vec2-base) get zero padding and no mask, as they were trained.

Distributed training: when ``torch.distributed`` is initialised (for example under
``torchrun``), :func:`finetune` wraps the model in ``DistributedDataParallel``, shards every
epoch with a ``DistributedSampler``, and only rank 0 calls ``on_step``, evaluates and writes
files. The model never touches the store; the job layer stores what it returns.
"""

from __future__ import annotations

from mmemo.models.wav2vec2_finetune.checkpoint import TrainedClassifier
from mmemo.models.wav2vec2_finetune.config import FinetuneConfig
from mmemo.models.wav2vec2_finetune.modules import (
    FeatureSettings,
    Wav2Vec2Classifier,
    prepare_batch,
)
from mmemo.models.wav2vec2_finetune.training import (
    StepCallback,
    finetune,
    lr_scheduler,
    predict_finetuned,
)

__all__ = [
    "FeatureSettings",
    "FinetuneConfig",
    "StepCallback",
    "TrainedClassifier",
    "Wav2Vec2Classifier",
    "finetune",
    "lr_scheduler",
    "predict_finetuned",
    "prepare_batch",
]
