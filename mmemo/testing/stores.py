"""Store fixtures for tests: build a store once, hand out fresh copies of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path


def restorable(work: Path, template: Path) -> Callable[[], Path]:
    """Save the store folder ``work`` as ``template``; return a function that puts a fresh
    copy of it back at ``work`` (the same path, since a store records where it lives) and
    returns ``work``."""
    if template.exists():
        shutil.rmtree(template)
    shutil.copytree(work, template)

    def restore() -> Path:
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(template, work)
        return work

    return restore
