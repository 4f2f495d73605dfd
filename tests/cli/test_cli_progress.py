"""Progress and noise on stderr: plain, throttled lines with a rate and an ETA when stderr is
not a terminal; third-party bars and info logs only with ``--verbose``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from mmemo.cli.progress import PlainProgress, RichProgress, format_duration, quiet_libraries

REPO = Path(__file__).resolve().parents[2]


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_are_throttled_and_carry_rate_and_eta():
    clock, lines = _Clock(), []
    progress = PlainProgress("train bilstm", write=lines.append, interval=5.0, clock=clock)
    with progress.task("training folds", 5) as folds:
        with progress.task("fold 0: epochs", 300) as epochs:
            for _ in range(40):  # 2 epochs per second: a line every 5 s, not every epoch
                clock.now += 0.5
                epochs.advance()
        folds.advance()
    assert lines[:4] == [
        "train bilstm: training folds 0/5 | fold 0: epochs 10/300  2.0/s  ETA 2:25",
        "train bilstm: training folds 0/5 | fold 0: epochs 20/300  2.0/s  ETA 2:20",
        "train bilstm: training folds 0/5 | fold 0: epochs 30/300  2.0/s  ETA 2:15",
        "train bilstm: training folds 0/5 | fold 0: epochs 40/300  2.0/s  ETA 2:10",
    ]
    # the last line of each task (early stopping ends a fold before its 300 epochs)
    assert lines[4:] == [
        "train bilstm: training folds 0/5 | fold 0: epochs 40/300  done in 0:20  2.0/s",
        "train bilstm: training folds 1/5  20.0 s each  ETA 1:20",
        "train bilstm: training folds 1/5  done in 0:20  20.0 s each",
    ]


def test_a_quick_task_prints_nothing_and_slow_rates_read_as_seconds_each():
    clock, lines = _Clock(), []
    progress = PlainProgress(write=lines.append, interval=5.0, clock=clock)
    with progress.task("checking CSV headers", 3) as task:
        task.advance(3)
    assert lines == []
    with progress.task("training folds", 3) as task:
        clock.now += 12.0
        task.advance()
    assert lines == [
        "training folds 1/3  12.0 s each  ETA 0:24",
        "training folds 1/3  done in 0:12  12.0 s each",
    ]
    assert format_duration(3725) == "1:02:05"


def test_rich_progress_draws_bars_only_on_a_terminal():
    off = io.StringIO()
    with RichProgress("embed", console=Console(file=off, force_terminal=False)).task(
        "embedding", 2
    ) as task:
        task.advance(2)
    assert "\x1b[" not in off.getvalue()  # no control codes in a log

    on = io.StringIO()
    terminal = Console(file=on, force_terminal=True, width=80)
    with RichProgress("embed", console=terminal).task("embedding", 2) as task:
        task.advance(2)
    assert "\x1b[" in on.getvalue()


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_train_bilstm_logs_folds_and_epochs_when_stderr_is_not_a_terminal(
    aus_store, store_cli, monkeypatch
):
    pytest.importorskip("torch")
    monkeypatch.setenv("MMEMO_PROGRESS_INTERVAL", "0")  # every step, for the test
    result = store_cli(
        aus_store, "train", "bilstm", "--features", "aus", "--name", "bl",
        "--early-stop-on", "test", "--param", "max_epochs=2", "--device", "cpu",
        "--scheme", "kfold:2:2020",
    )  # fmt: skip
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    epochs = [line for line in lines if "| fold 1: epochs 1/2  " in line]
    # the folds carry their ETA beside the epochs (issue 23: the ETA is the folds')
    assert epochs and epochs[0].startswith("train bilstm: training folds 1/2 (ETA ")
    assert "/s" in epochs[0] and "ETA " in epochs[0]
    assert any(line.startswith("train bilstm: training folds 2/2  done in ") for line in lines)
    assert "\x1b[" not in result.err  # no bar drawn into the log


def _embed(store, model: Path, name: str, *flags: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MMEMO_PROGRESS_INTERVAL": "0"}
    for key in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY"):
        env.pop(key, None)  # as a user's shell has them: unset
    clips = "modality = 1 AND vocal_channel = 1 AND actor = 1 AND emotion = 1"
    return subprocess.run(
        [sys.executable, "-m", "mmemo", *flags, "--store", str(store.root), "embed",
         str(model), "--name", name, "--clips", clips, "--device", "cpu"],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_library_bars_reach_a_log_only_with_verbose(ingested_store, tiny_w2v2):
    quiet = _embed(ingested_store, tiny_w2v2[True], "quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert "Loading weights" not in quiet.stderr and "it/s]" not in quiet.stderr
    assert "embed: embedding (" in quiet.stderr  # mmemo's own plain progress lines
    assert "\x1b[" not in quiet.stderr

    loud = _embed(ingested_store, tiny_w2v2[True], "loud", "--verbose")
    assert loud.returncode == 0, loud.stderr
    assert "Loading weights" in loud.stderr


def test_quiet_libraries_switches_imported_modules_both_ways(monkeypatch):
    pytest.importorskip("transformers")
    from huggingface_hub.utils import are_progress_bars_disabled
    from transformers.utils import logging as hf_logging

    for key in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY"):
        monkeypatch.delenv(key, raising=False)
    try:
        quiet_libraries(False)
        assert os.environ["TQDM_DISABLE"] == "1"
        assert are_progress_bars_disabled() and not hf_logging.is_progress_bar_enabled()
        assert hf_logging.get_verbosity() == hf_logging.ERROR
        # a hub imported while the variable was set froze it (a CLI run before, in-process)
        hub_tqdm = sys.modules["huggingface_hub.utils.tqdm"]  # the module, not the class
        monkeypatch.setattr(hub_tqdm, "HF_HUB_DISABLE_PROGRESS_BARS", True)
        quiet_libraries(True)
        assert "TQDM_DISABLE" not in os.environ
        assert not are_progress_bars_disabled() and hf_logging.is_progress_bar_enabled()
        assert hf_logging.get_verbosity() == hf_logging.WARNING
    finally:
        quiet_libraries(True)
