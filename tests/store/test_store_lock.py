"""One writer at a time: a second writer waits briefly, then fails naming the holder."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from mmemo.errors import StoreError

HOLDER = textwrap.dedent(
    """
    import sys, time
    from mmemo.store.store import Store

    root = sys.argv[1]
    sys.argv = ["mmemo", "train", "static", "--name", "holder"]
    with Store.open(root).session(write=True):
        print("ready", flush=True)
        time.sleep(60)
    """
)


@pytest.fixture()
def held_store(ingested_store):
    """The ingested store, held for writing by another process (killed at the end)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(ingested_store.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = holder.stdout.readline()
        assert line.strip() == "ready", holder.stderr.read()
        yield ingested_store, holder
    finally:
        holder.kill()
        holder.wait(timeout=30)


@pytest.mark.local_only("one writer at a time is the local store's file lock")
def test_a_second_writer_waits_then_names_the_holder(held_store, lock_timeout):
    store, holder = held_store
    started = time.monotonic()
    with pytest.raises(StoreError) as excinfo, store.session(write=True):
        pass
    waited = time.monotonic() - started
    message = str(excinfo.value)
    assert f"process {holder.pid}" in message
    assert "mmemo train static --name holder" in message
    assert "busy" in message and "MMEMO_LOCK_TIMEOUT" in message
    assert waited >= 0.9


@pytest.mark.local_only("one writer at a time is the local store's file lock")
def test_a_cli_write_on_a_held_store_fails_with_exit_2(cli, held_store, store_state):
    store, holder = held_store
    result = cli("--store", store.root, "gc")
    assert result.code == 2
    assert f"process {holder.pid}" in result.err_text
    assert "mmemo train static --name holder" in result.err_text
    holder.kill()
    holder.wait(timeout=30)
    assert store_state(store)["ingests"][0][0] == 1  # still there, untouched


@pytest.mark.local_only("one writer at a time is the local store's file lock")
def test_the_store_is_writable_again_once_the_holder_is_gone(cli, held_store):
    store, holder = held_store
    holder.kill()
    holder.wait(timeout=30)
    result = cli("--store", store.root, "gc")
    assert result.code == 0, result.err
    assert "nothing to clean" in result.out_text
    assert not store.paths.holder.exists()


@pytest.mark.local_only("one writer at a time is the local store's file lock")
def test_the_holder_file_is_removed_when_a_write_session_ends(ingested_store):
    with ingested_store.session(write=True):
        assert ingested_store.paths.holder.is_file()
    assert not ingested_store.paths.holder.exists()
