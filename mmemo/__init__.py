"""mmemo: multimodal emotion recognition research on a versioned store."""

from __future__ import annotations

__version__ = "0.1.0"
