"""A deterministic, RAVDESS-shaped synthetic corpus for demos and tests (``mmemo synth``).

:func:`create_ravdess` writes, for each selected actor, exactly the files the real corpus has
for that actor (:func:`mmemo.corpora.ravdess.corpus_names`) in the real layout::

    OUT/Actor_NN/03-VV-EE-II-SS-RR-NN.wav      audio-only: 48 kHz, 16-bit PCM, mono
    OUT/Actor_NN/01-VV-EE-II-SS-RR-NN.mp4      full-AV: H.264 64x48 15 fps + AAC 48 kHz stereo
    OUT/Actor_NN/02-VV-EE-II-SS-RR-NN.mp4      video-only: the same H.264 stream, no audio
    OUT/openface/0M-VV-EE-II-SS-RR-NN.csv      OpenFace 2.0 FeatureExtraction output (714 columns)

As in the real corpus, the three modalities of one recording (same fields but the modality)
share their content: the WAV is the sound of the full-AV MP4, the video-only MP4 shows the same
pictures, and the two OpenFace CSVs of a recording are identical.

The signal depends on the emotion, its intensity and the actor, so that models learn something:
the voice is a harmonic tone whose pitch, spectral tilt, loudness, syllable rate and vibrato
follow the emotion (female actors, even numbers, speak higher), the pictures are coloured by
the emotion with a mouth that opens with the voice, and the OpenFace action units follow a
FACS-like prototype per emotion (happy: AU06 + AU12, sad: AU01 + AU04 + AU15, ...).

Everything is seeded from ``seed`` and the file's fields, never from Python's ``hash``: the
same arguments give byte-identical WAV, CSV and MP4 files.

The other corpora's layouts borrow these voices and faces: :mod:`~.crema_d` (CREMA-D's
folders, demographics and crowd votes), :mod:`~.iemocap` (sessions and evaluation files),
:mod:`~.emobox` (EmoBox's manifests and folds) and :mod:`~.manifest` (a table of paths).

The package is split by medium: :mod:`~.recordings` (the names and the per-actor traits),
:mod:`~.audio` (WAV), :mod:`~.video` (MP4), :mod:`~.openface` (OpenFace CSVs), :mod:`~.archives`
(zip files like the distribution's) and :mod:`~.corpus` (:func:`create_ravdess`, which writes
them all). Being a user feature (``mmemo synth``, ``mmemo demo``), it lives with the corpora and
imports only from ``mmemo.corpora`` and the base modules.
"""

from __future__ import annotations

from mmemo.corpora.openface_columns import AU_INTENSITY_COLUMNS, AU_PRESENCE_COLUMNS
from mmemo.corpora.synth.archives import write_archives
from mmemo.corpora.synth.corpus import SynthCorpus, create_ravdess
from mmemo.corpora.synth.openface import AU_PROTOTYPES, OPENFACE_COLUMNS

__all__ = [
    "AU_INTENSITY_COLUMNS",
    "AU_PRESENCE_COLUMNS",
    "AU_PROTOTYPES",
    "OPENFACE_COLUMNS",
    "SynthCorpus",
    "create_ravdess",
    "write_archives",
]
