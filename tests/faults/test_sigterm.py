"""SIGTERM (``kill``, a scheduler's time limit, a container stopping) ends a command as Ctrl-C
does: one line saying that nothing half-done was kept, exit status 143, and no worker process
of its joblib pool left behind holding the caller's stdout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

#: A grid whose fits run for minutes (tol=0: Adam never stops early), on the default --jobs.
LONG_GRID = ["train", "static", "--features", "aus", "--clips", "av-speech", "--model", "mlp",
             "--param", "hidden_layer_sizes=256x256,512", "--param", "tol=0",
             "--param", "max_iter=100000", "--name", "long"]  # fmt: skip


def _process(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a live process from /proc; None once it is gone (a zombie
    counts as gone: it runs nothing and holds no file)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    if fields[0] == "Z":
        return None
    return int(fields[1]), fields[19]


def _descendants(root: int) -> dict[int, str]:
    """Every live descendant of ``root``: pid -> start time (to tell a reused pid apart)."""
    parents: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _process(int(entry))) is not None:
            parents.setdefault(found[0], []).append(int(entry))
            starts[int(entry)] = found[1]
    out, todo = {}, [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            out[child] = starts[child]
            todo.append(child)
    return out


def _alive(processes: dict[int, str]) -> dict[int, str]:
    """Those of ``processes`` still running (same pid, same start time)."""
    return {
        pid: start
        for pid, start in processes.items()
        if (found := _process(pid)) is not None and found[1] == start
    }


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local"], indirect=True)  # signals, not storage
def test_sigterm_of_a_parallel_grid_stops_its_workers_and_keeps_nothing(
    aus_store, store_state
) -> None:
    before = store_state(aus_store)
    env = {**os.environ, "COLUMNS": "200", "MMEMO_LOCK_TIMEOUT": "5"}
    env.pop("MMEMO_DEBUG", None)
    command = [sys.executable, "-m", "mmemo", "--store", str(aus_store.root), *LONG_GRID]
    started = time.monotonic()
    main = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    workers: dict[int, str] = {}
    try:
        while not any("loky" in _cmdline(pid) for pid in workers):
            assert main.poll() is None, main.communicate()
            assert time.monotonic() - started < 120, "no joblib worker started in 120 s"
            time.sleep(0.2)
            workers = _descendants(main.pid)
        time.sleep(1)  # every worker busy with a fit
        workers = _descendants(main.pid)
        main.send_signal(signal.SIGTERM)
        code = main.wait(timeout=60)
        deadline = time.monotonic() + 5
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = {pid: _cmdline(pid) for pid in _alive(workers)}
        assert code == 143, f"exit status {code}; processes left: {left}"
        assert not left, f"processes left after SIGTERM: {left}"
        _, err = main.communicate(timeout=10)  # EOF: nothing holds its stdout or stderr open
    finally:
        for pid in _alive(workers):  # a failing run must not leave busy workers on the machine
            os.kill(pid, signal.SIGKILL)
        if main.poll() is None:
            main.kill()
    assert "interrupted: nothing half-done was kept" in " ".join(err.split()), err
    assert store_state(aus_store) == before
