"""Re-runs with nothing to do return at once: ``embed`` and ``ingest openface`` find the
complete set by its fingerprint before loading the model or parsing a CSV; and
``ingest openface --skip-bad`` with nothing usable ends in one line, not a traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mmemo.errors import InputError

#: 4 full-AV speech clips of actor 2 (statement 1, repetition 1, emotions 1-2).
FEW = (
    "modality = 1 AND vocal_channel = 1 AND statement = 1 AND repetition = 1 "
    "AND actor = 2 AND emotion <= 2"
)


def _refuse(what: str):
    def refuse(*args, **kwargs):
        raise InputError(f"{what} was called")

    return refuse


def _copy(files: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, folder / f.name)
    return folder


@pytest.mark.slow
def test_embed_rerun_finds_the_set_before_loading_the_model(
    feat_store, store_cli, tiny_w2v2, tmp_path, monkeypatch, one_torch_thread
):
    import mmemo.features.wav2vec2 as w2v

    model = shutil.copytree(tiny_w2v2[True], tmp_path / "model")  # its files get touched
    first = store_cli(feat_store, "embed", model, "--name", "e", "--clips", FEW)
    assert first.code == 0, first.err
    assert "e v1" in first.out_text

    monkeypatch.setattr(w2v.Wav2Vec2Embedder, "__init__", _refuse("the model loader"))
    again = store_cli(feat_store, "embed", model, "--name", "e", "--clips", FEW)
    assert again.code == 0, again.err
    assert "e v1 already holds these embeddings" in again.out_text

    # another layer is other work: the model is needed (and refused here)
    other = store_cli(feat_store, "embed", model, "--name", "e", "--layer", "1", "--clips", FEW)
    assert other.code == 2 and "the model loader was called" in other.err_text

    # a touched checkpoint may hold other weights: load it (its revision decides)
    weights = model / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    touched = store_cli(feat_store, "embed", model, "--name", "e", "--clips", FEW)
    assert touched.code == 2 and "the model loader was called" in touched.err_text
    monkeypatch.undo()
    same_bytes = store_cli(feat_store, "embed", model, "--name", "e", "--clips", FEW)
    assert same_bytes.code == 0, same_bytes.err
    assert "e v1 already holds these embeddings" in same_bytes.out_text


@pytest.mark.slow
def test_openface_rerun_parses_no_csv_unless_a_file_changed(
    feat_store, store_cli, synth_corpus, tmp_path, monkeypatch
):
    import mmemo.features.openface as of

    folder = _copy(synth_corpus.openface_files[:4], tmp_path / "of")
    # a first run has no set to compare with: each file is hashed from the bytes it parses,
    # with no hashing pass of its own
    monkeypatch.setattr(of, "_hash_files", _refuse("the hashing pass"))
    first = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus")
    assert first.code == 0, first.err
    assert "aus v1: 4 clip(s)" in first.out_text
    monkeypatch.undo()

    monkeypatch.setattr(of, "read_all", _refuse("the CSV reader"))
    again = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus")
    assert again.code == 0, again.err
    assert "aus v1 already holds these files" in again.out_text
    # other filters are other work
    other = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus", "--success-only")
    assert other.code == 2 and "the CSV reader was called" in other.err_text

    changed = sorted(folder.iterdir())[0]
    lines = changed.read_text().splitlines(keepends=True)
    changed.write_text("".join(lines[:-1]))  # one frame fewer
    edited = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus")
    assert edited.code == 2 and "the CSV reader was called" in edited.err_text
    monkeypatch.undo()
    v2 = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus")
    assert v2.code == 0, v2.err
    assert "aus v2: 4 clip(s)" in v2.out_text


def test_openface_skip_bad_with_every_file_bad_is_one_line(
    feat_store, store_cli, synth_corpus, tmp_path, store_state
):
    folder = tmp_path / "bad"
    folder.mkdir()
    for i, f in enumerate(synth_corpus.openface_files[:3]):
        shutil.copy(f, folder / f"not-a-clip-{i}.csv")
    before = store_state(feat_store)
    result = store_cli(feat_store, "ingest", "openface", folder, "--name", "aus", "--skip-bad")
    assert result.code == 2
    error = [line for line in result.err_text.splitlines() if line.startswith("error:")]
    assert len(error) == 1, result.err_text
    assert "no usable OpenFace CSV files" in error[0] and "every file is bad" in error[0]
    assert "not-a-clip-0" in error[0] and "(and 2 more problem(s))" in error[0]
    assert "Traceback" not in result.err_text
    assert store_state(feat_store) == before

    empty = tmp_path / "empty"
    empty.mkdir()
    none = store_cli(feat_store, "ingest", "openface", empty, "--name", "aus")
    assert none.code == 2
    assert none.err_text.strip() == f"error: no OpenFace CSV files in {empty}"


def test_openface_value_errors_in_two_layouts_are_reported_once(feat_store, synth_corpus, tmp_path):
    """DuckDB's reject tables keep every scan of a connection: each read reports its own."""
    from mmemo.features.openface import AuIngestSpec, ingest_openface

    files = synth_corpus.openface_files[:2]
    folder = tmp_path / "of"
    folder.mkdir()
    for n, f in enumerate(files):
        header, *rows = f.read_text().splitlines()
        if n == 1:  # a second header layout: the columns spaced differently
            header = header.replace(", ", ",")
        cells = rows[0].split(",")
        cells[[c.strip() for c in header.split(",")].index("AU01_r")] = "oops"
        (folder / f.name).write_text("\n".join([header, ",".join(cells), *rows[1:]]) + "\n")
    with pytest.raises(InputError, match=r"\(and 1 more bad file\(s\)\)"):
        ingest_openface(feat_store, AuIngestSpec(sources=[str(folder)], name="aus"))
