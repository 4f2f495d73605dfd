"""The note a local store's writer leaves in the store's folder (``.writer.json``): who holds
the store, so that a second writer that gives up waiting can say whom it waited for.

DuckDB's own lock says only that a file is held; the note adds the command and since when.
It is a courtesy, never a lock: a note left by a killed writer is overwritten by the next.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path


def leave(path: Path) -> None:
    """Write the note of this process. On a disk too full to write it (where ``gc`` must still
    run) the session goes on without one."""
    note = {
        "pid": os.getpid(),
        "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]) or "python",
        "since": datetime.now().isoformat(timespec="seconds"),
    }
    try:
        path.write_text(json.dumps(note), encoding="utf-8")
    except OSError:
        path.unlink(missing_ok=True)


def holder(path: Path) -> str:
    """Who the note says holds the store, or "another process" without a readable note."""
    try:
        note = json.loads(path.read_text(encoding="utf-8"))
        return f"process {note['pid']} ({note['command']}) since {note['since']}"
    except (OSError, ValueError, KeyError):
        return "another process"
