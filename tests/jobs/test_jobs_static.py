"""``mmemo train static``: grids, parallel = serial, reproducibility, lineage, refusals."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mmemo.store.schema import Run

GRID = ("--param", "C=0.1,1", "--norm", "minmax,none")
GRID_NAMES = {
    "svc/C=0.1,norm=minmax",
    "svc/C=0.1,norm=none",
    "svc/C=1,norm=minmax",
    "svc/C=1,norm=none",
}
#: Song videos (modality 1, vocal channel 2) have no AUs in ``aus``: 44 per actor.
SONG_VIDEOS = "modality = 1"


def _train(store_cli, store, *args, jobs: str = "1"):
    result = store_cli(
        store, "train", "static", "--features", "aus", "--clips", "av-speech", "--jobs", jobs,
        *args,
    )  # fmt: skip
    assert result.code == 0, result.err
    return result


def _run_names(store) -> set[str]:
    with store.session() as s, s.orm() as orm:
        return set(orm.scalars(sa.select(Run.name)))


@pytest.mark.slow
def test_grid_makes_one_named_run_per_configuration(store_cli, jobs_store, run_row):
    result = _train(store_cli, jobs_store, "--model", "svc", *GRID, "--name", "svc")
    assert _run_names(jobs_store) == GRID_NAMES
    expected = {
        "svc/C=0.1,norm=minmax": {"C": 0.1, "norm": "minmax"},
        "svc/C=0.1,norm=none": {"C": 0.1, "norm": "none"},
        "svc/C=1,norm=minmax": {"C": 1, "norm": "minmax"},
        "svc/C=1,norm=none": {"C": 1, "norm": "none"},
    }
    for name, params in expected.items():
        assert f"run {name} (120 clips, 2 folds" in result.out_text
        run = run_row(jobs_store, name)
        assert run.params == params
        assert run.status == "complete"
        assert run.score_kind == "decision"  # libsvm's one-vs-one votes


@pytest.mark.slow
def test_parallel_grid_is_bit_identical_to_serial(store_cli, jobs_store, jobs_posteriors):
    _train(store_cli, jobs_store, "--model", "svc", *GRID, "--name", "ser", jobs="1")
    _train(store_cli, jobs_store, "--model", "svc", *GRID, "--name", "par", jobs="2")
    for name in GRID_NAMES:
        config = name.split("/", 1)[1]
        serial = jobs_posteriors(jobs_store, f"ser/{config}")
        parallel = jobs_posteriors(jobs_store, f"par/{config}")
        assert len(serial) == 240  # 120 clips × 2 folds (each clip once as test, once as train)
        assert serial == parallel  # exact float equality


@pytest.mark.slow
def test_parallel_folds_are_bit_identical_to_serial(jobs_store, jobs_posteriors):
    """One configuration, its two folds on two joblib workers vs. in this process."""
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static_grid

    common = dict(model="mlp", param_specs=["hidden_layer_sizes=8", "max_iter=20"])
    common |= dict(norms=["minmax"], features="aus", clips="av-speech")
    train_static_grid(jobs_store, StaticSpec.parse(name="ser", **common), n_jobs=1)
    train_static_grid(jobs_store, StaticSpec.parse(name="par", **common), n_jobs=2)
    serial = jobs_posteriors(jobs_store, "ser")
    assert len(serial) == 240
    assert serial == jobs_posteriors(jobs_store, "par")


@pytest.mark.slow
def test_same_inputs_and_seed_give_identical_posteriors(jobs_store, jobs_posteriors):
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static

    common = dict(model="mlp", params={"hidden_layer_sizes": 8, "max_iter": 20}, norm="minmax")
    common |= dict(features="aus", clips="av-speech")
    train_static(jobs_store, StaticSpec.one(name="a", seed=7, **common))
    train_static(jobs_store, StaticSpec.one(name="b", seed=7, **common))
    train_static(jobs_store, StaticSpec.one(name="c", seed=8, **common))
    a, b, c = (jobs_posteriors(jobs_store, n) for n in "abc")
    assert a == b
    assert a != c  # the seed reaches the model


def test_the_run_record_is_complete(store_cli, jobs_store, run_row, jobs_sha256):
    import joblib

    _train(
        store_cli, jobs_store, "--model", "logreg", "--param", "C=1", "--norm", "minmax",
        "--name", "lr", "--scheme", "luna2022", "--seed", "11",
    )  # fmt: skip
    run = run_row(jobs_store, "lr")
    with jobs_store.session() as s:
        (fs,) = s.fetch("SELECT name, version, snapshot_id FROM feature_sets WHERE name = 'aus'")
    assert (run.kind, run.model, run.scheme, run.clips, run.seed) == (
        "train",
        "logreg",
        "luna2022",
        "av-speech",
        11,
    )
    assert run.params == {"C": 1, "norm": "minmax"}
    features = run.inputs["features"]
    assert (features["name"], features["version"], features["snapshot_id"]) == fs
    assert isinstance(run.inputs["clips_snapshot"], int)
    assert run.classes == list(range(1, 9)) and run.score_kind == "probs"
    assert run.code_version.startswith("mmemo ")
    assert {"scikit-learn", "numpy", "duckdb"} <= set(run.versions)
    assert run.device == "cpu"
    assert len(run.fold_seconds) == 2 and all(t > 0 for t in run.fold_seconds)
    assert run.n_clips == 120
    assert sorted(a["fold"] for a in run.artefacts) == [0, 4]
    for artefact in run.artefacts:
        path = jobs_store.root / artefact["path"]
        assert path.is_file()
        assert path.is_relative_to(jobs_store.root / "models")
        assert jobs_sha256(path) == artefact["sha256"]
        model = joblib.load(path)  # the fold's fitted pipeline
        assert [int(c) for c in model.classes_] == list(range(1, 9))


def test_posteriors_cover_train_and_test_clips_of_every_fold(store_cli, jobs_store):
    _train(store_cli, jobs_store, "--model", "knn", "--param", "n_neighbors=5", "--name", "knn")
    assert _run_names(jobs_store) == {"knn"}  # a single configuration keeps the plain name
    with jobs_store.session() as s:
        got = s.fetch(
            "SELECT p.fold, p.split, count(*), count(DISTINCT p.clip_id), "
            "bool_and((f.fold = p.fold) = (p.split = 'test')), min(len(p.scores)) "
            "FROM posteriors AS p JOIN folds AS f ON f.clip_id = p.clip_id "
            "AND f.scheme = 'luna2022' WHERE p.run = 'knn' GROUP BY ALL ORDER BY ALL"
        )
    assert got == [
        (0, "test", 60, 60, True, 8),
        (0, "train", 60, 60, True, 8),
        (4, "test", 60, 60, True, 8),
        (4, "train", 60, 60, True, 8),
    ]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--model", "forest", "--features", "aus"), ["forest", "svc", "knn", "mlp", "logreg"]),
        (("--model", "svc", "--features", "aus", "--param", "gamma_x=1"), ["gamma_x", "kernel"]),
        (("--model", "svc", "--features", "aus", "--norm", "zscore"), ["zscore", "minmax"]),
    ],
    ids=["unknown-model", "unknown-param", "unknown-norm"],
)
def test_impossible_requests_exit_2_and_leave_the_store(
    store_cli, jobs_store, store_state, args, needles
):
    before = store_state(jobs_store)
    result = store_cli(jobs_store, "train", "static", *args, "--name", "x", "--clips", "av-speech")
    assert result.code == 2, result.out + result.err
    for needle in needles:
        assert needle in result.err_text
    assert store_state(jobs_store) == before


def test_missing_features_option_is_a_clear_error(store_cli, jobs_store):
    result = store_cli(jobs_store, "train", "static", "--model", "svc", "--name", "x")
    assert result.code == 2, result.out + result.err
    assert "needs --features" in result.err_text


def test_features_missing_for_some_clips_are_named(store_cli, jobs_store):
    result = store_cli(
        jobs_store, "train", "static", "--features", "aus", "--model", "svc", "--name", "x",
        "--clips", SONG_VIDEOS,
    )  # fmt: skip
    assert result.code == 2, result.out + result.err
    assert "no features for 88 selected clip(s)" in result.err_text
    assert "01-02-01-01-01-01-01" in result.err_text  # the first song video, by name


@pytest.mark.parametrize(
    "args",
    [("--model", "svc"), ("--model", "svc", "--features", "aus", "--clips", SONG_VIDEOS)],
    ids=["no-features", "features-missing"],
)
def test_refused_training_leaves_the_store_unchanged(store_cli, jobs_store, store_state, args):
    """A refused job must not fix a fold scheme (registry fold_assignments) either."""
    before = store_state(jobs_store)
    result = store_cli(jobs_store, "train", "static", *args, "--name", "x")
    assert result.code == 2, result.out + result.err
    assert store_state(jobs_store) == before
