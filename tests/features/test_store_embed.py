"""``mmemo embed`` through the store: stored vectors against the plain transformers recipe,
versioning and lineage, resuming after a crash, clips without media.

The reference for every stored vector is computed here, one clip at a time and independently
of mmemo's batching: decode the clip's audio, normalise it with the checkpoint's own feature
extractor, run ``Wav2Vec2Model.from_pretrained`` with ``output_hidden_states=True``, and average
``extract_features`` (``--layer conv``) or ``hidden_states[N]`` (``--layer N``) over time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmemo.errors import InputError, NotFoundError

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

ATOL = 1e-5
#: 30 full-AV speech clips (MP4, AAC): statement 1, repetition 1 of both actors.
SUBSET = "modality = 1 AND vocal_channel = 1 AND statement = 1 AND repetition = 1"
#: 15 of them: actor 1, every emotion and intensity.
ACTOR_1 = SUBSET + " AND actor = 1"
FLAVOURS = {"large-style": True, "base-style": False}  # stable_layer_norm


def _clip_paths(store, where: str) -> dict[str, Path]:
    with store.session() as s:
        rows = s.fetch(
            f"SELECT clip_id, path FROM clips WHERE has_audio AND ({where}) ORDER BY clip_id"
        )
    return {clip: Path(path) for clip, path in rows}


def _reference(model_dir: Path, paths: dict[str, Path]) -> dict[str, dict[str, np.ndarray]]:
    """Per clip: the time-averaged ``extract_features`` ('conv'), every hidden state (0..N)
    and the frame-level ``extract_features`` ('frames') of a full forward pass of that clip."""
    from transformers import AutoFeatureExtractor, Wav2Vec2Model

    from mmemo.features.audio import decode_audio

    extractor = AutoFeatureExtractor.from_pretrained(model_dir)
    model = Wav2Vec2Model.from_pretrained(model_dir).eval()
    out: dict[str, dict[str, np.ndarray]] = {}
    with torch.inference_mode():
        for clip, path in paths.items():
            wave = decode_audio(path, sample_rate=16000)
            inputs = extractor(wave, sampling_rate=16000, return_tensors="pt")
            result = model(inputs["input_values"], output_hidden_states=True)
            feats = result.extract_features[0].double().numpy()
            vectors = {"conv": feats.mean(axis=0), "frames": feats}
            vectors["conv_std"] = feats.std(axis=0)
            for i, hidden in enumerate(result.hidden_states):
                vectors[str(i)] = hidden[0].double().numpy().mean(axis=0)
            out[clip] = vectors
    return out


def _stored(store, name: str, version: int | None = None) -> dict[str, np.ndarray]:
    query = "SELECT clip_id, vector FROM clip_vectors WHERE feature_set = ?"
    params: list = [name]
    if version is not None:
        query += " AND version = ?"
        params.append(version)
    with store.session() as s:
        rows = s.fetch(query, params)
    return {clip: np.asarray(vector, dtype=np.float64) for clip, vector in rows}


def _feature_sets(store, name: str) -> list[dict]:
    with store.session() as s:
        cur = s.con.execute("SELECT * FROM feature_sets WHERE name = ? ORDER BY version", [name])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.slow
def test_embed_conv_and_layer_vectors_equal_the_full_forward_reference(
    flavour, feat_store, store_cli, tiny_w2v2, one_torch_thread
):
    tiny = tiny_w2v2[FLAVOURS[flavour]]
    paths = _clip_paths(feat_store, ACTOR_1)
    assert len(paths) == 15
    ref = _reference(tiny, paths)

    conv = store_cli(feat_store, "embed", tiny, "--name", "e", "--clips", ACTOR_1)
    assert conv.code == 0, conv.err
    assert "e v1" in conv.out_text
    layer = store_cli(feat_store, "embed", tiny, "--name", "e2", "--layer", "2", "--clips", ACTOR_1)
    assert layer.code == 0, layer.err

    stored_conv = _stored(feat_store, "e")
    stored_layer = _stored(feat_store, "e2")
    assert sorted(stored_conv) == sorted(paths)
    assert sorted(stored_layer) == sorted(paths)
    for clip in paths:
        assert stored_conv[clip].shape == (32,)
        np.testing.assert_allclose(stored_conv[clip], ref[clip]["conv"], atol=ATOL, err_msg=clip)
        np.testing.assert_allclose(stored_layer[clip], ref[clip]["2"], atol=ATOL, err_msg=clip)
    # the two layers really differ (the test would be vacuous otherwise)
    clip = next(iter(paths))
    assert not np.allclose(stored_conv[clip], stored_layer[clip], atol=1e-3)


def test_embed_mean_std_pool_and_frames(feat_store, store_cli, tiny_w2v2, one_torch_thread):
    tiny = tiny_w2v2[True]
    where = ACTOR_1 + " AND emotion <= 4"
    paths = _clip_paths(feat_store, where)
    ref = _reference(tiny, paths)

    result = store_cli(
        feat_store,
        "embed",
        tiny,
        "--name",
        "ms",
        "--pool",
        "mean+std",
        "--frames",
        "--clips",
        where,
    )
    assert result.code == 0, result.err
    stored = _stored(feat_store, "ms")
    assert sorted(stored) == sorted(paths)
    with feat_store.session() as s:
        frames = s.fetch(
            "SELECT clip_id, frame, vector FROM frame_vectors WHERE feature_set = 'ms' "
            "ORDER BY clip_id, frame"
        )
        dim = s.fetch("SELECT dim, n_clips FROM feature_sets WHERE name = 'ms'")
    assert dim == [(64, len(paths))]
    by_clip: dict[str, list] = {}
    for clip, frame, vector in frames:
        by_clip.setdefault(clip, []).append((frame, vector))
    assert sorted(by_clip) == sorted(paths)
    for clip in paths:
        want = ref[clip]
        np.testing.assert_allclose(stored[clip][:32], want["conv"], atol=ATOL, err_msg=clip)
        np.testing.assert_allclose(stored[clip][32:], want["conv_std"], atol=ATOL, err_msg=clip)
        rows = by_clip[clip]
        t, d = want["frames"].shape
        assert [f for f, _ in rows] == list(range(t)), clip  # T frame rows, numbered from 0
        got = np.array([v for _, v in rows], dtype=np.float64)
        assert got.shape == (t, d)
        np.testing.assert_allclose(got, want["frames"], atol=ATOL, err_msg=clip)


@pytest.mark.slow
def test_embed_same_command_twice_is_a_no_op_and_new_layer_is_version_2(
    feat_store, store_cli, tiny_w2v2, one_torch_thread
):
    from mmemo.features.loading import load_clip_vectors, resolve_feature_set

    tiny = tiny_w2v2[True]
    where = SUBSET + " AND actor = 2 AND emotion <= 4"
    paths = _clip_paths(feat_store, where)
    ref = _reference(tiny, paths)

    first = store_cli(feat_store, "embed", tiny, "--name", "e", "--clips", where)
    assert first.code == 0, first.err
    with feat_store.session() as s:
        snapshot = s.current_snapshot()
    again = store_cli(feat_store, "embed", tiny, "--name", "e", "--clips", where)
    assert again.code == 0, again.err
    assert "already" in again.out_text
    with feat_store.session() as s:
        assert s.current_snapshot() == snapshot
    assert [fs["version"] for fs in _feature_sets(feat_store, "e")] == [1]

    second = store_cli(feat_store, "embed", tiny, "--name", "e", "--layer", "2", "--clips", where)
    assert second.code == 0, second.err
    assert "e v2" in second.out_text
    sets = _feature_sets(feat_store, "e")
    assert [(fs["version"], fs["status"]) for fs in sets] == [(1, "complete"), (2, "complete")]

    ids = np.array(sorted(paths))
    with feat_store.session() as s:
        assert resolve_feature_set(s, "e").version == 2
        assert resolve_feature_set(s, "e@1").version == 1
        with pytest.raises(NotFoundError, match="e@1, e@2"):
            resolve_feature_set(s, "e@3")
        with pytest.raises(InputError, match="version must be a number"):
            resolve_feature_set(s, "e@latest")
    m1, ordinals, info = load_clip_vectors(feat_store, "e@1", ids)
    m2, _, info2 = load_clip_vectors(feat_store, "e", ids)
    assert (info["version"], info2["version"]) == (1, 2)
    assert sorted(ordinals.tolist()) == list(range(len(ids)))
    np.testing.assert_allclose(m1, np.array([ref[c]["conv"] for c in ids]), atol=ATOL)
    np.testing.assert_allclose(m2, np.array([ref[c]["2"] for c in ids]), atol=ATOL)
    # the view keeps both versions apart
    assert len(_stored(feat_store, "e", 1)) == len(_stored(feat_store, "e", 2)) == len(ids)


def _snapshot_values(value, key: str = "") -> list:
    """Values of ``value`` (nested dicts and lists) under keys that mention a snapshot."""
    if isinstance(value, dict):
        return [v for k, item in value.items() for v in _snapshot_values(item, str(k))]
    if isinstance(value, list):
        return [v for item in value for v in _snapshot_values(item, key)]
    return [value] if "snapshot" in key.lower() else []


def test_embed_registry_row_records_how_the_set_was_made(
    feat_store, store_cli, tiny_w2v2, one_torch_thread
):
    import json

    import mmemo

    tiny = tiny_w2v2[False]
    where = SUBSET + " AND actor = 1 AND emotion <= 3"
    with feat_store.session() as s:
        clips_snapshot = s.current_snapshot()  # the lake state whose clips the embed reads
    result = store_cli(
        feat_store, "embed", tiny, "--name", "lineage", "--layer", "1", "--clips", where
    )
    assert result.code == 0, result.err
    (fs,) = _feature_sets(feat_store, "lineage")

    params = fs["params"] if isinstance(fs["params"], dict) else json.loads(fs["params"])
    inputs = fs["inputs"] if isinstance(fs["inputs"], dict) else json.loads(fs["inputs"])
    assert fs["kind"] == "embedding"
    assert fs["status"] == "complete"
    assert params["model"] == str(tiny)
    assert params["revision"].startswith("sha256:") and len(params["revision"]) == 7 + 64
    assert params["layer"] == 1
    assert params["pool"] == "mean"
    assert params["sample_rate"] == 16000
    assert inputs["device"] == "cpu"
    assert inputs["clips"] == where
    assert mmemo.__version__ in fs["code_version"]
    assert fs["dim"] == 32
    with feat_store.session() as s:
        selected = s.fetch(f"SELECT count(*) FROM clips WHERE has_audio AND ({where})")[0][0]
        # the set's snapshot is the lake state right after it was made: its clips are there
        at_snapshot = s.fetch(
            "SELECT count(DISTINCT clip_id) FROM lake.clip_embeddings AT (VERSION => ?) "
            "WHERE feature_set_id = ?",
            [fs["snapshot_id"], fs["id"]],
        )[0][0]
    assert fs["n_clips"] == selected == at_snapshot == 3 * 2 - 1  # neutral has intensity 1 only
    # the same model under the same revision is recognised as such: same fingerprint
    again = store_cli(
        feat_store, "embed", tiny, "--name", "lineage", "--layer", "1", "--clips", where
    )
    assert again.code == 0 and "already" in again.out_text
    # issue 3: the set is registered with its "input clips snapshot", the lake snapshot whose
    # clips table it read (the set's own snapshot_id is later, and another ingest may land
    # between the chunks of a long embed)
    assert clips_snapshot in _snapshot_values(inputs), inputs


def _rows(store, name: str) -> dict[str, tuple[int, np.ndarray]]:
    with store.session() as s:
        rows = s.fetch(
            "SELECT clip_id, ordinal, vector FROM clip_vectors WHERE feature_set = ?", [name]
        )
    return {clip: (ordinal, np.asarray(vector)) for clip, ordinal, vector in rows}


def _set_pid(store, name: str, pid: int) -> None:
    with store.session(write=True) as s:
        s.con.execute("UPDATE feature_sets SET pid = ? WHERE name = ?", [pid, name])


@pytest.mark.slow
def test_embed_resumes_after_an_interrupt_with_the_rows_of_an_uninterrupted_run(
    ingested_store_reset, tiny_w2v2, monkeypatch, one_torch_thread
):
    import mmemo.features.embed as embed_mod

    tiny = str(tiny_w2v2[True])
    where = ACTOR_1 + " AND emotion <= 5"
    spec = embed_mod.EmbedSpec(model=tiny, name="r", clips=where, chunk=3, frames=True)

    store = ingested_store_reset()
    full = embed_mod.embed_clips(store, spec)
    assert not full.resumed and full.computed == full.clips == 9
    want = _rows(store, "r")
    with store.session() as s:
        want_frames = s.fetch(
            "SELECT clip_id, frame, vector FROM frame_vectors WHERE feature_set = 'r' "
            "ORDER BY clip_id, frame"
        )

    store = ingested_store_reset()
    real_commit = embed_mod._commit
    calls = []

    def crash_after_first(*args, **kw):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        real_commit(*args, **kw)

    monkeypatch.setattr(embed_mod, "_commit", crash_after_first)
    with pytest.raises(KeyboardInterrupt):
        embed_mod.embed_clips(store, spec)
    with store.session() as s:
        assert s.fetch("SELECT count(*) FROM clip_vectors WHERE feature_set = 'r'") == [(0,)]
        assert s.fetch("SELECT count(*) FROM frame_vectors WHERE feature_set = 'r'") == [(0,)]
        assert s.fetch("SELECT status FROM feature_sets WHERE name = 'r'") == [("running",)]
        committed = s.fetch("SELECT count(*) FROM lake.clip_embeddings")[0][0]
    assert committed == 3

    monkeypatch.setattr(embed_mod, "_commit", real_commit)
    # while another live process holds the entry, a second run refuses to step in
    _set_pid(store, "r", os.getppid())
    with pytest.raises(InputError, match="being made by process"):
        embed_mod.embed_clips(store, spec)
    # a crashed process (gone) is what a re-run takes over from
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    _set_pid(store, "r", gone.pid)
    resumed = embed_mod.embed_clips(store, spec)
    assert resumed.resumed
    assert resumed.version == 1
    assert resumed.computed == resumed.clips - 3 < resumed.clips
    got = _rows(store, "r")
    assert sorted(got) == sorted(want)
    for clip, (ordinal, vector) in want.items():
        assert got[clip][0] == ordinal, clip
        np.testing.assert_array_equal(got[clip][1], vector, err_msg=clip)
    with store.session() as s:
        got_frames = s.fetch(
            "SELECT clip_id, frame, vector FROM frame_vectors WHERE feature_set = 'r' "
            "ORDER BY clip_id, frame"
        )
        status = s.fetch("SELECT version, status, n_clips FROM feature_sets WHERE name = 'r'")
    assert got_frames == want_frames
    assert status == [(1, "complete", 9)]


def test_embed_refuses_clips_ingested_by_name_only(
    tmp_path, store_cli, tiny_w2v2, one_torch_thread
):
    from mmemo.corpora.ingest import ingest_ravdess
    from mmemo.features.embed import EmbedSpec, embed_clips
    from mmemo.store.store import Store

    names = ["01-01-03-01-01-01-01", "03-01-05-02-02-01-01"]
    listing = tmp_path / "names.txt"
    listing.write_text("\n".join(names) + "\n")
    store = Store.init(tmp_path / "store")
    ingest_ravdess(store, [listing])
    with store.session() as s:
        assert s.fetch("SELECT count(*) FROM clips WHERE has_audio AND path IS NULL") == [(2,)]

    with pytest.raises(InputError) as info:
        embed_clips(store, EmbedSpec(model=str(tiny_w2v2[True]), name="nameless"))
    message = str(info.value)
    assert "by name only" in message
    assert "2 selected clip(s)" in message
    assert names[0] in message

    result = store_cli(store, "embed", tiny_w2v2[True], "--name", "nameless")
    assert result.code == 2
    assert "by name only" in result.err_text and names[0] in result.err_text
    with store.session() as s:
        assert s.fetch("SELECT count(*) FROM feature_sets") == [(0,)]


def test_embed_bad_options_are_input_errors(feat_store, store_cli, tiny_w2v2):
    tiny = tiny_w2v2[True]
    bad_layer = store_cli(feat_store, "embed", tiny, "--name", "x", "--layer", "zero")
    assert bad_layer.code == 2 and "--layer" in bad_layer.err_text
    bad_pool = store_cli(feat_store, "embed", tiny, "--name", "x", "--pool", "max")
    assert bad_pool.code == 2 and "--pool" in bad_pool.err_text
    none = store_cli(feat_store, "embed", tiny, "--name", "x", "--clips", "actor = 99")
    assert none.code == 2 and "selects no clips" in none.err_text
    with feat_store.session() as s:
        assert s.fetch("SELECT count(*) FROM feature_sets") == [(0,)]


def test_embed_clip_selection_errors_point_at_the_fix(ingested_store) -> None:
    from mmemo.errors import InputError
    from mmemo.features.embed import audio_clips

    with pytest.raises(InputError, match=r"unknown column 'actr' in --clips .*clips has: "):
        audio_clips(ingested_store, "actr = 1")
    with pytest.raises(InputError, match=r"selects \d+ clip\(s\), none with audio"):
        audio_clips(ingested_store, "modality = 2")
    with pytest.raises(InputError, match=r"matched none of the 624 clips in the store"):
        audio_clips(ingested_store, "actor > 100")
