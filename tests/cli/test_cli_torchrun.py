"""`mmemo train finetune` under torchrun: 2 CPU processes on the gloo backend, one run stored."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from mmemo.corpora.ingest import ingest_ravdess  # noqa: E402
from mmemo.store.store import Store  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_finetune_with_two_processes_stores_one_complete_run(
    tmp_path: Path, synth_corpus, tiny_w2v2: dict[bool, Path]
) -> None:
    store = Store.init(tmp_path / "store")
    ingest_ravdess(store, [synth_corpus.root])
    tiny = tiny_w2v2[True]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
        f"--master_port={_free_port()}", "-m", "mmemo", "--store", str(store.root),
        "train", "finetune", str(tiny), "--name", "ddp", "--scheme", "kfold:2:1",
        "--epochs", "1", "--batch-size", "8", "--device", "cpu", "--param", "max_seconds=0.3",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with store.session() as s:
        runs = s.fetch("SELECT name, status FROM runs")
        counts = s.fetch("SELECT fold, split, count(*) FROM posteriors GROUP BY ALL ORDER BY ALL")
    assert runs == [("ddp", "complete")]
    assert counts == [(0, "test", 60), (0, "train", 60), (1, "test", 60), (1, "train", 60)]
