"""A checkpoint name is resolved before any data is read: one line for a missing folder, a
folder that is no checkpoint, or a hub that cannot be reached (fast, without retries)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mmemo.errors import InputError
from mmemo.features.checkpoints import resolve_checkpoint

pytest.importorskip("huggingface_hub")

#: A hub id no cache holds.
HUB_ID = "mmemo-tests/no-such-model"


@pytest.fixture()
def no_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A hub that refuses connections (a closed local port, so that the test does not depend
    on this machine having no network) and an empty hub cache."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


def test_a_local_checkpoint_folder_is_returned_as_given(tiny_w2v2):
    folder = str(tiny_w2v2[True])
    assert resolve_checkpoint(folder) == folder


def test_a_missing_path_is_one_line_naming_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as caught:
        resolve_checkpoint("./xlsr-checkpoint")
    message = str(caught.value)
    assert message == f"model './xlsr-checkpoint': no such folder ({tmp_path}/xlsr-checkpoint)"


def test_a_folder_or_file_that_is_no_checkpoint_is_refused(tmp_path):
    with pytest.raises(InputError, match="has no config.json: not a checkpoint folder"):
        resolve_checkpoint(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"")
    with pytest.raises(InputError, match="is a file; give the checkpoint's folder"):
        resolve_checkpoint(weights)


@pytest.mark.usefixtures("no_hub")
def test_an_unreachable_hub_fails_once_fast_with_the_fix():
    started = time.perf_counter()
    with pytest.raises(InputError) as caught:
        resolve_checkpoint(HUB_ID)
    assert time.perf_counter() - started < 5  # no backed-off retries (1+2+4+8+8 s)
    message = str(caught.value)
    assert "\n" not in message
    assert f"model '{HUB_ID}' is not a local folder and the Hugging Face hub" in message
    assert "cannot be reached" in message and "HF_HUB_OFFLINE=1" in message


@pytest.mark.usefixtures("no_hub")
def test_offline_mode_needs_the_model_in_the_cache(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(InputError, match="neither a local folder nor in the Hugging Face cache"):
        resolve_checkpoint(HUB_ID)


@pytest.mark.usefixtures("no_hub")
def test_a_cached_model_loads_offline_when_the_hub_cannot_be_reached(monkeypatch):
    """Else every optional file from_pretrained probes for would be retried five times."""
    from huggingface_hub import constants

    import mmemo.features.checkpoints as checkpoints

    monkeypatch.setattr(checkpoints, "_in_cache", lambda repo_id, revision: True)
    assert resolve_checkpoint(HUB_ID) == HUB_ID
    assert constants.HF_HUB_OFFLINE is True  # restored by the fixture's monkeypatch


class _DataRead(Exception):
    """Raised by the stubs below: the command read data before it resolved the model."""


@pytest.fixture()
def no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the fold scheme's clips or the clips' audio fails the test."""
    import mmemo.features.embed
    import mmemo.jobs.deep

    def refuse(*_args, **_kwargs):
        raise _DataRead("data was read before the model was resolved")

    monkeypatch.setattr(mmemo.jobs.deep, "load_cv", refuse)
    monkeypatch.setattr(mmemo.features.embed, "_audio_clips", refuse)
    monkeypatch.setattr(mmemo.features.embed, "decode_clips", refuse)


def _one_line(result) -> str:
    assert result.code == 2, result.out + result.err
    assert "Traceback" not in result.err and "Retrying" not in result.err
    assert result.err.startswith("error: ") and result.err_text.count("error: ") == 1
    return result.err_text


@pytest.mark.usefixtures("no_data")
def test_finetune_of_a_missing_checkpoint_is_one_line_before_any_clip_is_read(
    store_cli, ingested_store, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = store_cli(ingested_store, "train", "finetune", "./xlsr-checkpoint", "--name", "ft")
    assert _one_line(result) == (
        f"error: model './xlsr-checkpoint': no such folder ({tmp_path}/xlsr-checkpoint)"
    )


@pytest.mark.usefixtures("no_data", "no_hub")
@pytest.mark.parametrize("command", [("train", "finetune"), ("embed",)], ids=" ".join)
def test_a_hub_id_the_hub_cannot_be_asked_about_is_one_line_fast(
    store_cli, ingested_store, command
):
    started = time.perf_counter()
    result = store_cli(ingested_store, *command, HUB_ID, "--name", "x")
    assert time.perf_counter() - started < 5
    text = _one_line(result)
    assert f"model '{HUB_ID}' is not a local folder" in text and "HF_HUB_OFFLINE=1" in text
