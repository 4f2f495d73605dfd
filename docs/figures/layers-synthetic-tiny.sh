#!/bin/bash
# How layers-synthetic-tiny.png was made: layer probing on the 6-actor synthetic corpus with
# two tiny random encoders (wav2vec2 and HuBERT shapes, 3 layers, 32-d). Random weights: the
# curves show the plumbing (embed --layers, the probe grid, plot layers), not a finding.
# Usage: docs/figures/layers-synthetic-tiny.sh SCRATCH_FOLDER
set -ex
mkdir -p "$1" && cd "$1"
export COLUMNS=80 MMEMO_STORE=./store
rm -rf store corpus w2v hubert
mmemo synth ravdess corpus --actors 6
python -c "
from pathlib import Path
from mmemo.testing.tiny_models import build_tiny_encoder
build_tiny_encoder(Path('w2v'), 'wav2vec2'); build_tiny_encoder(Path('hubert'), 'hubert')"
mmemo init
mmemo ingest ravdess corpus
mmemo embed ./w2v --name w2v --layers all --clips av-speech
mmemo embed ./hubert --name hubert --layers all --clips av-speech
mmemo features
mmemo train static --features '*/layer=*' --model logreg --norm minmax --name probe
mmemo sql -f layer_accuracy
mmemo plot layers 'probe/*' --out layers.png
