"""OpenFace 2.0 ``FeatureExtraction`` CSV columns (Baltrušaitis et al., 2018)."""

from __future__ import annotations

_AU_R = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)
_AU_C = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 28, 45)

#: The 17 AU intensity columns (0-5).
AU_INTENSITY_COLUMNS: tuple[str, ...] = tuple(f"AU{au:02d}_r" for au in _AU_R)
#: The 18 AU presence columns (0/1).
AU_PRESENCE_COLUMNS: tuple[str, ...] = tuple(f"AU{au:02d}_c" for au in _AU_C)
#: The 35 AU columns in OpenFace's order: the feature vector of every AU model.
AU_COLUMNS: tuple[str, ...] = AU_INTENSITY_COLUMNS + AU_PRESENCE_COLUMNS
#: Per-frame bookkeeping columns kept with the AUs.
FRAME_COLUMNS: tuple[str, ...] = ("frame", "timestamp", "confidence", "success")
