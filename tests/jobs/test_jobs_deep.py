"""``mmemo train bilstm`` and ``mmemo train finetune`` on the synthetic corpus, tiny configs."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mmemo.errors import InputError

KFOLD2 = "kfold:2:2020"
BILSTM = ("--param", "max_epochs=3", "--device", "cpu", "--scheme", KFOLD2)
FT_OVERRIDES = {"epochs": 2, "batch_size": 8, "max_seconds": 0.5}
REPO = Path(__file__).resolve().parents[2]


def _coverage(store, run: str) -> list[tuple]:
    with store.session() as s:
        return s.fetch(
            "SELECT p.fold, p.split, count(DISTINCT p.clip_id), any_value(p.kind), "
            "min(len(p.scores)), bool_and((f.fold = p.fold) = (p.split = 'test')) "
            "FROM posteriors AS p JOIN folds AS f ON f.clip_id = p.clip_id AND f.scheme = ? "
            "WHERE p.run = ? GROUP BY ALL ORDER BY ALL",
            [KFOLD2, run],
        )


def _expected_coverage() -> list[tuple]:
    return [(fold, split, 60, "logits", 8, True) for fold in (0, 1) for split in ("test", "train")]


# ------------------------------------------------------------------------------------ bi-LSTM


@pytest.mark.slow
def test_bilstm_stores_logits_and_attention_of_every_clip(
    store_cli, jobs_store, run_row, tmp_path, jobs_sha256
):
    pytest.importorskip("torch")
    result = store_cli(
        jobs_store, "train", "bilstm", "--features", "aus", "--name", "bl",
        "--early-stop-on", "test", *BILSTM,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "run bl (120 clips, 2 folds" in result.out_text
    assert _coverage(jobs_store, "bl") == _expected_coverage()
    run = run_row(jobs_store, "bl")
    assert run.params["early_stop_on"] == "test"
    assert run.params["max_epochs"] == 3 and run.params["config"]["max_epochs"] == 3
    assert run.device == "cpu" and run.seed == 2020
    assert run.inputs["features"]["name"] == "aus"
    for artefact in run.artefacts:
        assert jobs_sha256(jobs_store.root / artefact["path"]) == artefact["sha256"]
    with jobs_store.session() as s:
        sums = s.fetch(
            "SELECT run, fold, split, clip_id, sum(weight) AS total, count(*) AS frames "
            "FROM attention WHERE run = 'bl' GROUP BY ALL"
        )
        frames = dict(
            s.fetch("SELECT clip_id, len(frames) FROM au_sequences WHERE feature_set = 'aus'")
        )
    assert len(sums) == 240  # every clip of every fold, train and test
    assert all(abs(total - 1) < 1e-4 for *_, total, _ in sums)
    assert all(n == frames[clip] for _, _, _, clip, _, n in sums)
    out = tmp_path / "top.parquet"
    top = store_cli(
        jobs_store, "sql", "-f", REPO / "sql/analysis/top_attention_frames.sql",
        "--format", "parquet", "--out", out,
    )  # fmt: skip
    assert top.code == 0, top.err
    table = pq.read_table(out)
    assert table.column_names == ["run", "clip_id", "frame", "weight", "rank"]
    assert table.num_rows == 3 * 120  # 3 most attended frames of every test clip
    assert set(table.column("rank").to_pylist()) == {1, 2, 3}


@pytest.mark.slow
def test_bilstm_is_deterministic_on_cpu(jobs_store, jobs_posteriors):
    pytest.importorskip("torch")
    from mmemo.jobs.deep import train_bilstm_job
    from mmemo.jobs.specs import BiLSTMSpec

    common = dict(features="aus", scheme=KFOLD2, clips="av-speech", device="cpu")
    common |= dict(early_stop_on="test", params={"max_epochs": 2}, seed=5)
    train_bilstm_job(jobs_store, BiLSTMSpec(name="a", **common))
    train_bilstm_job(jobs_store, BiLSTMSpec(name="b", **common))
    a = jobs_posteriors(jobs_store, "a")
    assert len(a) == 240
    assert a == jobs_posteriors(jobs_store, "b")
    with jobs_store.session() as s:
        weights = s.fetch(
            "SELECT run, list(weight ORDER BY fold, split, clip_id, frame) FROM attention "
            "GROUP BY run ORDER BY run"
        )
    assert weights[0][1] == weights[1][1]


def test_bilstm_unknown_hyper_parameter_lists_the_valid_ones(store_cli, jobs_store, store_state):
    before = store_state(jobs_store)
    result = store_cli(
        jobs_store, "train", "bilstm", "--features", "aus", "--name", "x",
        "--param", "units=3", "--device", "cpu",
    )  # fmt: skip
    assert result.code == 2, result.out + result.err
    assert "units" in result.err_text and "max_epochs" in result.err_text
    assert store_state(jobs_store) == before


# -------------------------------------------------------------------------------- fine-tuning


@pytest.mark.slow
def test_finetune_stores_logits_of_every_clip_and_keeps_checkpoints(
    store_cli, jobs_store, run_row, tiny_w2v2, jobs_sha256
):
    result = store_cli(
        jobs_store, "train", "finetune", tiny_w2v2[True], "--name", "ft", "--scheme", KFOLD2,
        "--epochs", "2", "--batch-size", "8", "--param", "max_seconds=0.5", "--device", "cpu",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert _coverage(jobs_store, "ft") == _expected_coverage()
    run = run_row(jobs_store, "ft")
    assert run.model == "wav2vec2-finetune" and run.score_kind == "logits"
    assert run.params["config"]["epochs"] == 2 and run.params["config"]["batch_size"] == 8
    assert sorted(a["fold"] for a in run.artefacts) == [0, 1]
    for artefact in run.artefacts:
        folder = jobs_store.root / artefact["path"]
        assert folder.is_dir()
        assert (folder / "head.safetensors").is_file()
        assert jobs_sha256(folder) == artefact["sha256"]
    assert not any((jobs_store.root / "models" / ".work").glob("*"))


def _counting_finetune(monkeypatch, fail_on: int | None) -> list[int]:
    import mmemo.models.wav2vec2_finetune.kind as ft  # where the kind's fit finds it

    real = ft.finetune
    calls: list[int] = []

    def finetune(*args, **kwargs):
        calls.append(len(y := args[2]) if len(args) > 2 else 0)
        del y
        if fail_on is not None and len(calls) == fail_on:
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(ft, "finetune", finetune)
    return calls


def _model_files(store) -> set[str]:
    models = store.root / "models"
    return {str(p.relative_to(models)) for p in models.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_finetune_resumes_after_a_crash(jobs_store, tiny_w2v2, store_state, monkeypatch):
    from mmemo.jobs.cv import load_cv
    from mmemo.jobs.deep import train_finetune_job
    from mmemo.jobs.specs import FinetuneSpec

    load_cv(jobs_store, KFOLD2, "av-speech")  # fix the scheme first: a first use records it
    before = store_state(jobs_store)
    files_before = _model_files(jobs_store)
    job = FinetuneSpec(
        model=str(tiny_w2v2[True]),
        name="ft",
        scheme=KFOLD2,
        clips="av-speech",
        device="cpu",
        params=FT_OVERRIDES,
    )

    calls = _counting_finetune(monkeypatch, fail_on=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_finetune_job(jobs_store, job)
    assert len(calls) == 2
    assert store_state(jobs_store) == before
    added = _model_files(jobs_store) - files_before
    assert added and all(f.startswith(".work/") for f in added)
    assert any(f.endswith("fold-0.joblib") for f in added)

    monkeypatch.undo()
    calls = _counting_finetune(monkeypatch, fail_on=None)
    info = train_finetune_job(jobs_store, job)
    assert len(calls) == 1  # fold 0 came from the work folder, only fold 1 was trained
    assert info.n_clips == 120 and len(info.fold_seconds) == 2
    assert _coverage(jobs_store, "ft") == _expected_coverage()
    assert not any(f.startswith(".work/") for f in _model_files(jobs_store))


def test_finetune_unknown_hyper_parameter(jobs_store, tiny_w2v2):
    from mmemo.jobs.deep import train_finetune_job
    from mmemo.jobs.specs import FinetuneSpec

    with pytest.raises(InputError, match="max_epochs.*expected one of.*epochs"):
        train_finetune_job(
            jobs_store,
            FinetuneSpec(
                model=str(tiny_w2v2[True]), name="x", params={"max_epochs": 2}, clips=None
            ),
        )
