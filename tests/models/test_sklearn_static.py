"""Static scikit-learn models: the paper's Table 2 (through ``mmemo train static``'s job), the
score contract, errors, parallelism."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import NamedTuple

import joblib
import numpy as np
import pytest

from mmemo.corpora.folds import parse_scheme
from mmemo.corpora.ravdess import parse_name
from mmemo.errors import InputError
from mmemo.models.base import FoldResult
from mmemo.models.sklearn_static import (
    MODEL_CHOICES,
    STATIC_MODELS,
    FrameFold,
    ModelRegistry,
    StaticModel,
    check_model,
    fit_fold,
    fit_fold_frames,
)

LUNA_CSV = Path(__file__).parents[1] / "data" / "luna2022" / "openface_au_means.csv"
N_CLIPS = 1440

#: Paper, Table 2 (static models on averaged AUs): (model, params, norm) → (accuracy %, ± %).
TABLE2: dict[tuple[str, tuple[tuple[str, object], ...], str], tuple[float, float]] = {
    ("zeror", (), "none"): (13.33, 1.76),
    ("svc", (("C", 0.1),), "minmax"): (53.25, 2.58),
    ("svc", (("C", 0.1),), "none"): (48.07, 2.58),
    ("svc", (("C", 1.0),), "minmax"): (59.93, 2.53),
    ("svc", (("C", 1.0),), "none"): (54.88, 2.57),
    ("svc", (("C", 10.0),), "minmax"): (55.93, 2.56),
    ("svc", (("C", 10.0),), "none"): (51.65, 2.58),
    ("knn", (("n_neighbors", 10),), "minmax"): (53.10, 2.58),
    ("knn", (("n_neighbors", 10),), "none"): (46.80, 2.58),
    ("knn", (("n_neighbors", 20),), "minmax"): (54.30, 2.57),
    ("knn", (("n_neighbors", 20),), "none"): (49.07, 2.58),
    ("knn", (("n_neighbors", 30),), "minmax"): (55.18, 2.57),
    ("knn", (("n_neighbors", 30),), "none"): (48.82, 2.58),
    ("mlp", (("hidden_layer_sizes", 80),), "minmax"): (60.22, 2.53),
    ("mlp", (("hidden_layer_sizes", 80),), "none"): (58.93, 2.54),
    ("mlp", (("hidden_layer_sizes", (80, 80)),), "minmax"): (57.77, 2.55),
    ("mlp", (("hidden_layer_sizes", (80, 80)),), "none"): (55.82, 2.56),
}
FAST = [
    ("zeror", (), "none"),
    ("svc", (("C", 1.0),), "minmax"),
    ("knn", (("n_neighbors", 10),), "minmax"),
]


class Luna(NamedTuple):
    X: np.ndarray
    y: np.ndarray
    folds: np.ndarray


@pytest.fixture(scope="module")
def luna() -> Luna:
    with LUNA_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    features = [c for c in rows[0] if c.startswith("AU") and c[-2:] in ("_r", "_c")]
    assert len(features) == 35
    X = np.array([[float(row[c]) for c in features] for row in rows])
    names = [parse_name(row["name"]) for row in rows]
    y = np.array([n.emotion for n in names])
    actors = np.array([n.actor for n in names])
    counts: dict[int, dict[object, int]] = {}
    for actor, emotion in zip(actors.tolist(), y.tolist(), strict=True):
        counts.setdefault(actor, {}).setdefault(emotion, 0)
        counts[actor][emotion] += 1
    fold_of = parse_scheme("luna2022").assign(counts)
    assert len(X) == N_CLIPS
    return Luna(X, y, np.array([fold_of[a] for a in actors.tolist()]))


def _cell(accuracies: list[float]) -> tuple[float, float]:
    """Mean-over-folds test accuracy (%) and the paper's ± (95 % normal interval, n = 1440)."""
    p = float(np.mean(accuracies))
    return 100 * p, 100 * 1.96 * math.sqrt(p * (1 - p) / N_CLIPS)


def _stored_accuracies(store, run: str) -> list[float]:
    """Per fold, the test accuracy of the argmax of the run's stored scores."""
    with store.session() as s:
        (classes,) = s.fetch("SELECT classes FROM runs WHERE name = ?", [run])[0]
        rows = s.fetch(
            "SELECT p.fold, p.scores, c.emotion FROM posteriors AS p JOIN clips AS c "
            "USING (clip_id) WHERE p.run = ? AND p.split = 'test'",
            [run],
        )
    classes = np.asarray(classes if isinstance(classes, list) else json.loads(classes))
    hits: dict[int, list[bool]] = {}
    for fold, scores, emotion in rows:
        hits.setdefault(fold, []).append(classes[int(np.argmax(scores))] == emotion)
    assert sum(len(h) for h in hits.values()) == N_CLIPS
    return [float(np.mean(hits[fold])) for fold in sorted(hits)]


def _check_cell(key: tuple, accuracies: list[float]) -> None:
    accuracy, ci = _cell(accuracies)
    want_accuracy, want_ci = TABLE2[key]
    assert round(accuracy, 2) == pytest.approx(want_accuracy, abs=1e-9), key
    assert round(ci, 2) == pytest.approx(want_ci, abs=1e-9), key


def _train(store, key: tuple, name: str) -> list[float]:
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static

    model, params, norm = key
    train_static(
        store,
        StaticSpec.one(
            name=name,
            model=model,
            params=dict(params),
            norm=norm,
            features=None if model == "zeror" else "luna_aus",
            scheme="luna2022",
            seed=2020,
            clips=None,
        ),
    )
    return _stored_accuracies(store, name)


@pytest.mark.parametrize("key", FAST, ids=lambda k: f"{k[0]}{dict(k[1])}-{k[2]}")
def test_table2_fast_subset(models_luna_store, key: tuple) -> None:
    accuracies = _train(models_luna_store, key, "table2")
    assert len(accuracies) == 5
    _check_cell(key, accuracies)


@pytest.mark.slow
def test_table2_full_grid(models_luna_store) -> None:
    for i, key in enumerate(TABLE2):
        _check_cell(key, _train(models_luna_store, key, f"table2-{i}"))


@pytest.mark.slow
def test_job_scores_are_fit_fold_on_the_folds_rows(models_luna_store, luna: Luna) -> None:
    """The job trains each fold on the feature file's rows in file order (an MLP depends on
    row order) and stores exactly what fit_fold returns."""
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static

    params = {"hidden_layer_sizes": 8, "max_iter": 20}
    train_static(
        models_luna_store,
        StaticSpec.one(
            name="mlp",
            model="mlp",
            params=params,
            norm="minmax",
            features="luna_aus",
            scheme="luna2022",
            seed=3,
            clips=None,
        ),
    )
    with models_luna_store.session() as s:
        stored = np.array(
            s.fetch(
                "SELECT p.scores FROM posteriors AS p JOIN clip_vectors AS v USING (clip_id) "
                "WHERE p.run = 'mlp' AND p.split = 'test' AND p.fold = 2 "
                "AND v.feature_set = 'luna_aus' ORDER BY v.ordinal"
            )
        )[:, 0]
    alone = fit_fold("mlp", params, norm="minmax", seed=3, **_fold(luna, 2))
    np.testing.assert_array_equal(np.stack(stored), alone.test_scores)


# --------------------------------------------------------------------------- score contract


def _fold(data: Luna, fold: int = 0) -> dict[str, np.ndarray]:
    test = data.folds == fold
    return {"X_train": data.X[~test], "y_train": data.y[~test], "X_test": data.X[test]}


def test_fold_result_shapes_and_classes(luna: Luna) -> None:
    part = _fold(luna)
    result = fit_fold("logreg", {}, norm="standard", seed=2020, **part)
    assert result.classes == list(range(1, 9))
    assert result.kind == "probs"
    assert result.train_scores.shape == (len(part["X_train"]), 8)
    assert result.test_scores.shape == (len(part["X_test"]), 8)
    np.testing.assert_allclose(result.test_scores.sum(axis=1), 1.0)
    assert result.extra["warnings"] == [] or all(
        isinstance(w, str) for w in result.extra["warnings"]
    )


def test_svc_scores_are_ovo_votes_whose_argmax_is_predict(luna: Luna) -> None:
    """The one-vs-rest decision_function breaks vote ties differently from predict."""
    part = _fold(luna)
    result = fit_fold("svc", {"C": 10.0}, norm="minmax", seed=2020, **part)
    assert result.kind == "decision"
    predicted = result.model.predict(part["X_test"])
    np.testing.assert_array_equal(result.predict("test"), predicted)
    np.testing.assert_array_equal(result.predict("train"), result.model.predict(part["X_train"]))
    votes = result.test_scores
    assert np.array_equal(votes, np.round(votes)) and (votes.sum(axis=1) == 28).all()
    ovr = result.model.decision_function(part["X_test"])
    np.testing.assert_array_equal(np.floor(ovr + 0.5), votes)  # votes + a term in (-1/3, 1/3)
    ovr_argmax = np.asarray(result.classes)[ovr.argmax(axis=1)]
    assert (ovr_argmax != predicted).sum() > 0  # tied votes exist on the paper's data
    # The fitted model itself is left as fitted (shape 'ovr').
    assert result.model[-1].decision_function_shape == "ovr"


def test_svc_break_ties_stores_the_decision_function(luna: Luna) -> None:
    part = _fold(luna)
    result = fit_fold("svc", {"break_ties": True}, norm="minmax", seed=2020, **part)
    assert result.kind == "decision"
    np.testing.assert_array_equal(
        result.test_scores, result.model.decision_function(part["X_test"])
    )
    np.testing.assert_array_equal(result.predict("test"), result.model.predict(part["X_test"]))


def test_svc_probability_reports_mismatches(luna: Luna) -> None:
    part = _fold(luna)
    result = fit_fold("svc", {"probability": True}, norm="minmax", seed=2020, **part)
    assert result.kind == "probs"
    assert set(result.extra["predict_mismatch"]) == {"train", "test"}
    np.testing.assert_allclose(result.test_scores.sum(axis=1), 1.0)


def test_svc_two_classes_votes(luna: Luna) -> None:
    part = _fold(luna)
    keep = np.isin(part["y_train"], (3, 5))
    result = fit_fold(
        "svc",
        {},
        norm="minmax",
        X_train=part["X_train"][keep],
        y_train=part["y_train"][keep],
        X_test=part["X_test"],
    )
    assert result.classes == [3, 5]
    np.testing.assert_array_equal(result.predict("test"), result.model.predict(part["X_test"]))


def test_zeror_predicts_the_training_majority() -> None:
    X = np.zeros((10, 1))
    y = np.array([1, 2, 2, 2, 3, 3, 4, 4, 4, 4])
    result = fit_fold("zeror", {}, norm="none", X_train=X, y_train=y, X_test=np.zeros((3, 1)))
    np.testing.assert_allclose(result.test_scores, [[0.1, 0.3, 0.2, 0.4]] * 3)
    assert result.predict("test").tolist() == [4, 4, 4]


def test_mlp_single_layer_is_coerced_and_model_is_joblib_able(luna: Luna, tmp_path: Path) -> None:
    assert check_model("mlp", {"hidden_layer_sizes": 80}) == {"hidden_layer_sizes": (80,)}
    part = _fold(luna)
    result = fit_fold(
        "mlp", {"hidden_layer_sizes": 8, "max_iter": 20}, norm="minmax", seed=1, **part
    )
    assert result.model[-1].hidden_layer_sizes == (8,)
    assert any("ConvergenceWarning" in w for w in result.extra["warnings"])
    path = tmp_path / "model.joblib"
    joblib.dump(result.model, path)
    np.testing.assert_array_equal(
        joblib.load(path).predict_proba(part["X_test"]), result.test_scores
    )


def test_scaler_is_fitted_on_the_training_part_only(luna: Luna) -> None:
    part = _fold(luna)
    result = fit_fold("knn", {}, norm="minmax", **part)
    scaler = result.model[0]
    np.testing.assert_array_equal(scaler.data_min_, part["X_train"].min(axis=0))
    np.testing.assert_array_equal(scaler.data_max_, part["X_train"].max(axis=0))


# ----------------------------------------------------------------------------------- registry


def test_duplicate_registration_is_refused() -> None:
    registry = ModelRegistry("test model")

    @registry.register
    class One(StaticModel):
        name = "one"
        estimator = "sklearn.dummy:DummyClassifier"
        description = "one"

    class Again(StaticModel):
        name = "one"
        estimator = "sklearn.dummy:DummyClassifier"
        description = "again"

    with pytest.raises(ValueError, match="'one' is already registered"):
        registry.register(Again)
    assert registry.names() == ("one",)

    class OtherSVC(StaticModel):
        name = "svc"
        estimator = "sklearn.svm:SVC"
        description = "a second svc"

    with pytest.raises(ValueError, match="already registered"):
        STATIC_MODELS.register(OtherSVC)
    assert STATIC_MODELS.get("svc").description != "a second svc"
    assert registry.get("one").description == "one"


def test_builtin_models() -> None:
    assert STATIC_MODELS.names() == ("zeror", "svc", "knn", "mlp", "logreg")
    assert MODEL_CHOICES == "zeror, svc, knn, mlp, logreg"


def test_a_classifier_by_import_path_is_made_on_demand_and_listed_nowhere() -> None:
    model = STATIC_MODELS.get("sklearn.naive_bayes:GaussianNB")
    assert model.estimator_class().__name__ == "GaussianNB"
    assert "sklearn.naive_bayes:GaussianNB" not in STATIC_MODELS.names()


# -------------------------------------------------------------------------------------- errors


def test_unknown_model_lists_choices() -> None:
    with pytest.raises(InputError, match="unknown static model 'rf'; expected one of zeror, svc"):
        check_model("rf", {})


def test_unknown_key_lists_the_estimators_parameters() -> None:
    with pytest.raises(InputError, match=r"no hyper-parameter 'n_neighbours'.*n_neighbors"):
        check_model("knn", {"n_neighbours": 5})


def test_random_state_comes_from_the_seed() -> None:
    with pytest.raises(InputError, match="seed"):
        check_model("mlp", {"random_state": 1})


def test_zeror_takes_no_strategy() -> None:
    with pytest.raises(InputError, match="'strategy'"):
        check_model("zeror", {"strategy": "uniform"})


def test_unknown_norm() -> None:
    with pytest.raises(InputError, match="unknown normalisation 'z'; expected one of minmax"):
        fit_fold("knn", {}, norm="z", X_train=np.eye(3), y_train=[1, 2, 3], X_test=np.eye(3))


def test_bad_value_is_an_input_error() -> None:
    with pytest.raises(InputError, match="svc/C=-1,norm=none"):
        fit_fold(
            "svc", {"C": -1}, norm="none", X_train=np.eye(3), y_train=[1, 2, 3], X_test=np.eye(3)
        )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_features_are_refused(bad: float) -> None:
    X = np.eye(4)
    X[2, 1] = bad
    with pytest.raises(InputError, match=r"X_train: 1 row\(s\) contain NaN or infinite.*row 2"):
        fit_fold("knn", {}, norm="none", X_train=X, y_train=[1, 2, 3, 4], X_test=np.eye(4))
    with pytest.raises(InputError, match="X_test"):
        fit_fold("knn", {}, norm="none", X_train=np.eye(4), y_train=[1, 2, 3, 4], X_test=X)


def test_shapes_are_checked() -> None:
    with pytest.raises(InputError, match="one label per row"):
        fit_fold("knn", {}, norm="none", X_train=np.eye(4), y_train=[1, 2], X_test=np.eye(4))
    with pytest.raises(InputError, match="4 features but X_test has 3"):
        fit_fold("knn", {}, norm="none", X_train=np.eye(4), y_train=[1, 2, 3, 4], X_test=np.eye(3))
    with pytest.raises(InputError, match="integer emotion codes"):
        fit_fold("knn", {}, norm="none", X_train=np.eye(2), y_train=["a", "b"], X_test=np.eye(2))


def test_fold_missing_a_test_class_in_training_is_refused(luna: Luna) -> None:
    from dataclasses import replace

    from mmemo.corpora.ravdess import VOCABULARY
    from mmemo.jobs.cv import CVData
    from mmemo.jobs.fold_training import check_folds

    y = luna.y.copy()
    y[(luna.folds != 2) & (y == 8)] = 7  # surprised clips remain only in fold 2's test part
    ids = np.array([f"c{i}" for i in range(len(y))])
    cv = CVData(
        "luna2022", "all", ids, y, np.zeros(len(y), np.int64), luna.folds, 0, vocabulary=VOCABULARY
    )
    with pytest.raises(InputError, match=r"fold 2 of 'luna2022': class surprised is in its test"):
        check_folds(cv, cv.fold_ids)
    from mmemo.store.vocabulary import Vocabulary

    record = Vocabulary(tuple(range(8, 0, -1)), tuple(f"e{c}" for c in range(8, 0, -1)))
    with pytest.raises(InputError, match=r"fold 2 of 'luna2022': class e8 is in its test"):
        check_folds(replace(cv, vocabulary=record), cv.fold_ids)  # named by the dataset's record


# ---------------------------------------------------------------------------------- parallel


def _synthetic(seed: int = 0, n_per: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(1, 9), n_per)
    X = rng.normal(size=(len(y), 6)) + 0.8 * np.eye(8)[y - 1][:, :6]
    folds = np.tile(np.arange(4), len(y) // 4)
    return X, y, folds


def _cv(configs: list, seed: int, X, y, folds, n_jobs: int) -> list[list[FoldResult]]:
    """Folds × configurations through fit_fold in joblib workers, as ``train_static_grid``
    runs them."""
    from joblib import Parallel, delayed

    fold_ids = sorted(set(folds.tolist()))
    tasks = [(config, fold) for config in configs for fold in fold_ids]
    results = Parallel(n_jobs=n_jobs, backend="loky")(
        delayed(fit_fold)(
            model,
            params,
            norm=norm,
            seed=seed,
            X_train=X[folds != fold],
            y_train=y[folds != fold],
            X_test=X[folds == fold],
        )
        for (model, params, norm), fold in tasks
    )
    n = len(fold_ids)
    return [list(results[i * n : (i + 1) * n]) for i in range(len(configs))]


@pytest.mark.slow
def test_parallel_grid_is_bit_identical_to_serial() -> None:
    X, y, folds = _synthetic()
    configs = [
        ("mlp", {"hidden_layer_sizes": (16, 16), "max_iter": 40}, "minmax"),
        ("svc", {"C": 1.0}, "standard"),
        ("knn", {"n_neighbors": 5}, "none"),
        ("logreg", {"C": 0.5}, "minmax"),
        ("zeror", {}, "none"),
    ]
    serial = _cv(configs, 7, X, y, folds, n_jobs=1)
    parallel = _cv(configs, 7, X, y, folds, n_jobs=2)
    assert len(serial) == len(parallel) == len(configs)
    for a_runs, b_runs in zip(serial, parallel, strict=True):
        assert len(a_runs) == len(b_runs) == 4
        for a, b in zip(a_runs, b_runs, strict=True):
            assert (a.classes, a.kind) == (b.classes, b.kind)
            assert a.train_scores.tobytes() == b.train_scores.tobytes()
            assert a.test_scores.tobytes() == b.test_scores.tobytes()
            assert a.extra["warnings"] == b.extra["warnings"]


def test_seed_changes_the_mlp() -> None:
    X, y, folds = _synthetic(2)
    config = [("mlp", {"max_iter": 30}, "minmax")]
    a = _cv(config, 1, X, y, folds, n_jobs=1)[0]
    b = _cv(config, 2, X, y, folds, n_jobs=1)[0]
    assert not np.array_equal(a[0].test_scores, b[0].test_scores)


# ------------------------------------------------------------------------------ frame variant


def _frames() -> dict[str, np.ndarray]:
    # Training clips: class 1 frames at 0, class 2 at 10, class 3 at 20 (two clips each).
    train_x, train_y, train_g = [], [], []
    for code, where in ((1, 0.0), (2, 10.0), (3, 20.0)):
        for clip in range(2):
            for _ in range(3):
                train_x.append([where])
                train_y.append(code)
                train_g.append(f"t{code}{clip}")
    # Test clips, given out of order: frames sit exactly on a class, so 1-NN predicts it.
    test = [("c", 20.0), ("a", 0.0), ("b", 0.0), ("a", 10.0), ("c", 10.0), ("a", 10.0), ("b", 10.0)]
    return {
        "X_train_frames": np.array(train_x),
        "y_train_frames": np.array(train_y),
        "train_groups": np.array(train_g),
        "X_test_frames": np.array([[x] for _, x in test]),
        "test_groups": np.array([g for g, _ in test]),
    }


def test_frame_votes_and_mean_posteriors() -> None:
    result = fit_fold_frames("knn", {"n_neighbors": 1}, FrameFold(**_frames()), norm="none")
    assert result.classes == [1, 2, 3]
    assert result.extra["test_groups"].tolist() == ["a", "b", "c"]
    # a: 1, 2, 2 -> 2; b: 1, 2 tie -> 1 (lowest class); c: 3, 2 tie -> 2 (lowest class).
    assert result.extra["test_vote"].tolist() == [2, 1, 2]
    np.testing.assert_allclose(
        result.test_scores, [[1 / 3, 2 / 3, 0.0], [0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]
    )
    assert result.extra["train_groups"].tolist() == ["t10", "t11", "t20", "t21", "t30", "t31"]
    assert result.extra["train_vote"].tolist() == [1, 1, 2, 2, 3, 3]
    assert result.train_scores.shape == (6, 3)


def test_frames_of_one_clip_must_share_a_label() -> None:
    frames = _frames()
    frames["y_train_frames"] = frames["y_train_frames"].copy()
    frames["y_train_frames"][0] = 2
    with pytest.raises(InputError, match=r"training clip 't10' has frames with different labels"):
        fit_fold_frames("knn", {}, FrameFold(**frames), norm="none")


def test_frame_variant_on_synthetic_clips() -> None:
    rng = np.random.default_rng(5)
    n_clips, per_clip = 48, 7
    clip_y = np.repeat(np.arange(1, 9), n_clips // 8)
    X = rng.normal(size=(n_clips * per_clip, 4)) + np.repeat(clip_y, per_clip)[:, None] * 0.5
    y = np.repeat(clip_y, per_clip)
    groups = np.repeat(np.array([f"clip{i:02d}" for i in range(n_clips)]), per_clip)
    test = np.isin(groups, [f"clip{i:02d}" for i in range(0, n_clips, 4)])
    frames = FrameFold(
        X_train_frames=X[~test],
        y_train_frames=y[~test],
        train_groups=groups[~test],
        X_test_frames=X[test],
        test_groups=groups[test],
    )
    result = fit_fold_frames("logreg", {}, frames, norm="standard")
    assert result.kind == "probs"
    assert result.test_scores.shape == (12, 8)
    np.testing.assert_allclose(result.test_scores.sum(axis=1), 1.0)
    assert len(result.extra["test_vote"]) == 12


def test_no_print_in_library(capsys: pytest.CaptureFixture[str]) -> None:
    X, y, folds = _synthetic(3)
    _cv([("mlp", {"max_iter": 5}, "none")], 0, X, y, folds, n_jobs=1)
    assert capsys.readouterr().out == ""
