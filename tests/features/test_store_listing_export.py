"""Feature sets from the store's side: float32 embeddings (lake 0004) and an old store's
upgrade, ``NAME:mean`` wherever a per-clip set is read, ``mmemo features`` and
``mmemo export features``."""

from __future__ import annotations

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from mmemo.errors import InputError

pytest.importorskip("torch")
pytest.importorskip("transformers")

#: 30 full-AV speech clips, both actors.
FEW = "modality = 1 AND vocal_channel = 1 AND statement = 1 AND repetition = 1"
#: 7 of them (actor 1, emotions 1-4; neutral has the normal intensity only).
SEVEN = FEW + " AND actor = 1 AND emotion <= 4"


def _embed(store_cli, store, model, name: str, clips: str, *extra: str) -> None:
    result = store_cli(store, "embed", model, "--name", name, "--clips", clips, *extra)
    assert result.code == 0, result.err


def _ids(store, where: str) -> np.ndarray:
    with store.session() as s:
        rows = s.fetch(f"SELECT clip_id FROM clips WHERE has_audio AND ({where}) ORDER BY 1")
    return np.array([r[0] for r in rows])


def _frame_means(store, name: str) -> dict[str, np.ndarray]:
    with store.session() as s:
        rows = s.fetch(
            "SELECT clip_id, list(vector ORDER BY frame) FROM frame_vectors "
            "WHERE feature_set = ? GROUP BY clip_id",
            [name],
        )
    return {c: np.asarray(f, dtype=np.float64).mean(axis=0) for c, f in rows}


def test_embeddings_are_stored_as_float32_and_load_as_before(
    ingested_store, store_cli, tiny_w2v2, one_torch_thread
) -> None:
    from mmemo.features.loading import load_clip_vectors

    store = ingested_store
    _embed(store_cli, store, tiny_w2v2[True], "e", SEVEN, "--frames")
    with store.session() as s:
        types = s.fetch("SELECT DISTINCT typeof(vector) FROM lake.clip_embeddings")
        in_doubles = s.fetch("SELECT count(*) FROM lake.clip_vectors")[0][0]
        view_type = s.fetch("SELECT DISTINCT typeof(vector) FROM clip_embeddings")
        widened = s.fetch("SELECT DISTINCT typeof(vector) FROM clip_vectors")
        stored = dict(s.fetch("SELECT clip_id, vector FROM clip_embeddings"))
    assert types == [("FLOAT[]",)] and view_type == [("FLOAT[]",)]
    assert in_doubles == 0  # nothing computed goes to the DOUBLE table
    assert widened == [("DOUBLE[]",)]  # every per-clip vector, one view, as before
    ids = _ids(store, SEVEN)
    matrix, ordinals, info = load_clip_vectors(store, "e", ids)
    assert matrix.dtype == np.float64 and matrix.shape == (7, 32)
    assert sorted(ordinals.tolist()) == list(range(7)) and "reduce" not in info
    # the models see the float32 values exactly (the embedder pools in float32)
    want = np.array([stored[c] for c in ids], dtype=np.float32).astype(np.float64)
    np.testing.assert_array_equal(matrix, want)


def test_an_old_store_with_double_embeddings_upgrades_and_still_loads_them(
    ingested_store, store_cli, tiny_w2v2, one_torch_thread
) -> None:
    from mmemo.features.loading import load_clip_vectors
    from mmemo.store.schema import LakeMigration

    store = ingested_store
    model = tiny_w2v2[True]
    _embed(store_cli, store, model, "old", SEVEN)
    ids = _ids(store, SEVEN)
    before, _, _ = load_clip_vectors(store, "old", ids)
    # make it a store of the mmemo before lake 0004: the set's rows DOUBLE in clip_vectors
    with store.session(write=True) as s:
        s.commit_lake(
            "back to lake 0003",
            lambda con: con.execute(
                "INSERT INTO lake.clip_vectors SELECT feature_set_id, clip_id, ordinal, "
                "vector::DOUBLE[] FROM lake.clip_embeddings; DROP TABLE lake.clip_embeddings"
            ),
        )
        with s.orm() as orm:
            orm.query(LakeMigration).filter_by(name="0004_float_embeddings").delete()
            orm.commit()
    refused = store_cli(store, "sql", "SELECT 1")
    assert refused.code == 2 and "0004_float_embeddings: run `mmemo migrate`" in refused.err_text
    migrated = store_cli(store, "migrate")
    assert migrated.code == 0, migrated.err
    assert "0004_float_embeddings" in migrated.out_text
    after, _, _ = load_clip_vectors(store, "old", ids)
    np.testing.assert_array_equal(after, before)
    with store.session() as s:
        assert s.fetch("SELECT count(*) FROM lake.clip_embeddings") == [(0,)]
        assert s.fetch("SELECT DISTINCT typeof(vector) FROM clip_embeddings") == [("FLOAT[]",)]
    again = store_cli(store, "embed", model, "--name", "old", "--clips", SEVEN)
    assert again.code == 0 and "nothing to do" in again.out_text  # found, not recomputed


@pytest.mark.slow
def test_mean_suffix_averages_frames_and_is_refused_where_it_means_nothing(
    aus_store, store_cli, tiny_w2v2, one_torch_thread, tmp_path
) -> None:
    from mmemo.features.loading import clips_with_features, load_clip_vectors, load_sequences

    store = aus_store
    _embed(store_cli, store, tiny_w2v2[True], "f", SEVEN, "--frames")
    _embed(store_cli, store, tiny_w2v2[True], "nof", SEVEN)
    ids = _ids(store, SEVEN)
    means = _frame_means(store, "f")
    got, _, info = load_clip_vectors(store, "f:mean", ids)
    np.testing.assert_allclose(got, np.array([means[c] for c in ids]), rtol=0, atol=1e-12)
    pooled, _, _ = load_clip_vectors(store, "f@1", ids)  # pool=mean: the same, to float32
    np.testing.assert_allclose(got, pooled, rtol=0, atol=1e-5)
    assert not np.array_equal(got, pooled)  # computed from the frames, not the pooled rows
    assert info["reduce"] == "mean" and info["version"] == 1
    assert clips_with_features(store, "f@1:mean") == set(ids.tolist())
    # AU sets are frame-level: :mean is their per-clip mean, as the plain name gives
    au_ids = np.array(sorted(clips_with_features(store, "aus")))
    plain, _, _ = load_clip_vectors(store, "aus", au_ids)
    mean, _, _ = load_clip_vectors(store, "aus:mean", au_ids)
    np.testing.assert_array_equal(plain, mean)

    with pytest.raises(InputError, match=r"'nof:mean': ':mean' averages frames.*use 'nof'"):
        load_clip_vectors(store, "nof:mean", ids)
    with pytest.raises(InputError, match=r"unknown suffix ':max'; known: :mean"):
        load_clip_vectors(store, "f:max", ids)
    with pytest.raises(InputError, match=r"'aus:mean' is one vector per clip.*use 'aus'"):
        load_sequences(store, "aus:mean", au_ids)
    bad = store_cli(store, "export", "features", "nof:mean", "--out", tmp_path / "x.parquet")
    assert bad.code == 2 and "averages frames" in bad.err_text


@pytest.mark.slow
def test_a_run_on_name_mean_records_it_and_predict_reloads_the_same_vectors(
    aus_store, store_cli, tiny_w2v2, one_torch_thread
) -> None:
    from mmemo.jobs.predict import predict_run
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static

    store = aus_store
    _embed(store_cli, store, tiny_w2v2[True], "f", FEW, "--frames")
    spec = StaticSpec.one(
        name="lr",
        model="logreg",
        norm="minmax",
        features="f:mean",
        scheme="kfold:2:2020",
        clips=FEW,
    )
    train_static(store, spec)
    with store.session() as s:
        (inputs,) = s.fetch("SELECT inputs FROM runs WHERE name = 'lr'")[0]
        stored = {
            c: (fold, list(v))
            for c, fold, v in s.fetch(
                "SELECT clip_id, fold, scores FROM posteriors WHERE run = 'lr' AND split = 'test'"
            )
        }
    import json

    features = json.loads(inputs)["features"] if isinstance(inputs, str) else inputs["features"]
    assert features["name"] == "f" and features["reduce"] == "mean"
    rows = predict_run(store, "lr", FEW).table.to_pylist()
    assert {r["clip_id"] for r in rows} == set(stored) and len(rows) == 30
    for row in rows:  # (BLAS sums a batch of other clips in another order: 1e-17 apart)
        np.testing.assert_allclose(row["scores"], stored[row["clip_id"]][1], rtol=0, atol=1e-12)


def test_features_lists_sets_newest_first_or_by_name(
    aus_store, store_cli, tiny_w2v2, one_torch_thread
) -> None:
    store = aus_store
    _embed(store_cli, store, tiny_w2v2[True], "b_emb", SEVEN, "--layer", "2", "--frames")
    listed = store_cli(store, "features")
    assert listed.code == 0, listed.err
    lines = [line.split() for line in listed.out.splitlines() if line.strip()]
    header = next(i for i, words in enumerate(lines) if words[:2] == ["name", "v"])
    rows = [words for words in lines[header + 1 :] if words[0] in ("aus", "b_emb")]
    assert [r[0] for r in rows] == ["b_emb", "aus"], listed.out_text  # newest first
    emb = rows[0]
    assert emb[1:6] == ["1", "embedding", "32", "7", "yes"]
    assert emb[6] == tiny_w2v2[True].name and emb[7:9] == ["2", "mean"]
    assert rows[1][1:6] == ["1", "au_frames", "35", "120", "yes"]
    by_name = store_cli(store, "features", "--sort", "name")
    order = [w[0] for w in (line.split() for line in by_name.out.splitlines()) if w]
    assert order.index("aus") < order.index("b_emb")
    bad = store_cli(store, "features", "--sort", "size")
    assert bad.code == 2 and "expected one of newest, name" in bad.err_text


def test_export_features_round_trips_parquet_and_csv(
    aus_store, store_cli, tiny_w2v2, one_torch_thread, tmp_path
) -> None:
    store = aus_store
    _embed(store_cli, store, tiny_w2v2[True], "e", SEVEN, "--frames")
    with store.session() as s:
        want = dict(s.fetch("SELECT clip_id, vector FROM clip_embeddings WHERE feature_set='e'"))
        order = [c for c, in s.fetch(
            "SELECT clip_id FROM clip_embeddings WHERE feature_set = 'e' ORDER BY ordinal"
        )]  # fmt: skip
        meta = {r[0]: r[1:] for r in s.fetch("SELECT clip_id, actor, label FROM clips")}

    out = tmp_path / "e.parquet"
    result = store_cli(store, "export", "features", "e", "--out", out)
    assert result.code == 0, result.err
    assert f"wrote 7 rows to {out} (e@1, 32-d vectors)" in result.out_text
    table = pq.read_table(out)
    assert table.column_names == ["clip_id", "vector"]
    assert str(table.schema.field("vector").type) == "list<element: float>"  # stored precision
    assert table["clip_id"].to_pylist() == order
    for clip, vector in zip(order, table["vector"].to_pylist(), strict=True):
        assert vector == want[clip]  # float32 for float32: exact

    out = tmp_path / "e.csv"
    result = store_cli(store, "export", "features", "e@1", "--out", out, "--with-clips")
    assert result.code == 0, result.err
    csv = pacsv.read_csv(out)
    names = csv.column_names
    assert names[0] == "clip_id" and names[-32:] == [f"v{j}" for j in range(32)]
    assert {"actor", "label", "emotion", "content_hash"} <= set(names) and "vector" not in names
    matrix = np.column_stack([csv[f"v{j}"].to_numpy() for j in range(32)]).astype(np.float32)
    for i, clip in enumerate(csv["clip_id"].to_pylist()):
        np.testing.assert_array_equal(matrix[i], np.asarray(want[clip], dtype=np.float32))
        assert (csv["actor"][i].as_py(), csv["label"][i].as_py()) == meta[clip]

    mean = store_cli(store, "export", "features", "aus:mean", "--out", tmp_path / "a.parquet")
    assert mean.code == 0 and "120 rows to" in mean.out_text
    assert "(aus@1:mean, 35-d vectors)" in mean.out_text
    bad = store_cli(store, "export", "features", "e", "--out", tmp_path / "e.xlsx")
    assert bad.code == 2
    assert "unknown extension '.xlsx'; expected .parquet or .csv" in bad.err_text
    unknown = store_cli(store, "export", "features", "nope", "--out", out)
    assert unknown.code == 2 and "no feature set 'nope'" in unknown.err_text
