"""Refuse what cannot mean anything: a fusion of one run, reproduce inputs that are not there,
a grid run name cut at its commas; and no ETA over an epoch budget that early stopping ends."""

from __future__ import annotations

import json

import pytest

from mmemo.cli.progress import PlainProgress

# ----------------------------------------------------------------------------------- fuse


@pytest.mark.parametrize(
    ("runs", "given"),
    [(["zeror"], "'zeror' matches"), (["zer*"], "'zer*' matches"), (["zeror", "zeror"], "match")],
    ids=["one", "glob", "twice"],
)
def test_a_fusion_of_one_run_is_refused(store_cli, zeror_store, store_state, runs, given):
    before = store_state(zeror_store)
    result = store_cli(zeror_store, "fuse", *runs, "--name", "onlyone")
    assert result.code == 2, result.out + result.err
    assert result.err_text.startswith("error: a fusion needs at least two runs, and ")
    assert f"{given} only 'zeror'" in result.err_text
    assert store_state(zeror_store) == before


# ------------------------------------------------------------------------------ reproduce


def test_reproduce_refuses_input_paths_that_do_not_exist(cli, tmp_path):
    missing = tmp_path / "no-such-folder"
    folder = cli("reproduce", "luna2022", "--recipe", "--inputs", missing)
    assert folder.code == 2 and folder.out == ""  # no command printed with the path
    assert folder.err_text == f"error: --inputs {missing}: no such folder ({missing})"

    corpus = tmp_path / "RAVDESS"
    given = cli("reproduce", "luna2022", "--recipe", "--input", f"ravdess={corpus}")
    assert given.code == 2 and given.out == ""
    assert given.err_text == (f"error: --input ravdess={corpus}: no such file or folder ({corpus})")

    corpus.mkdir()  # there now: the commands name it
    ok = cli("reproduce", "luna2022", "--recipe", "--input", f"ravdess={corpus}")
    assert ok.code == 0, ok.err
    assert f"mmemo ingest ravdess {corpus}" in ok.out
    # a hub id is a value, not a path: not checked here (embed resolves it first)
    hub = cli("reproduce", "luna2022", "--recipe", "--input", "xlsr=org/model")
    assert hub.code == 0 and "mmemo embed org/model --name xlsr" in hub.out


def test_reproduce_of_a_missing_cells_file_names_its_path(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("reproduce", "my-paper.toml")
    assert result.code == 2
    assert result.err_text == (
        f"error: no cells file {tmp_path / 'my-paper.toml'} (no such file); "
        "built-in papers: luna2022"
    )


# ------------------------------------------------------------------------- --param lists

#: The two runs of a grid: names with a comma.
GRID = ["svc/C=1,norm=minmax", "svc/C=1,norm=none"]


@pytest.fixture(scope="session")
def _grid_store_restore(_aus_store_restore, backend):
    """Template of ``grid_store``, built once per session."""
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static_grid
    from mmemo.store.store import Store
    from mmemo.testing.stores import restorable

    work = _aus_store_restore()  # shares the ingested store's path (see conftest)
    spec = StaticSpec.parse(
        name="svc", model="svc", param_specs=["C=1"], norms=["minmax", "none"], features="aus:mean"
    )
    runs = train_static_grid(Store.open(work), spec, n_jobs=1)
    assert [run.name for run in runs] == GRID
    return restorable(work, work.parent / "grid-template", backend)


@pytest.fixture()
def grid_store(_grid_store_restore):
    """The AU store with a two-run SVC grid on per-clip AU means (``GRID``)."""
    from mmemo.store.store import Store

    return Store.open(_grid_store_restore())


def _records(result) -> list[dict]:
    assert result.code == 0, result.out + result.err
    return json.loads(result.out)


def test_a_run_name_is_taken_whole_where_one_run_is_expected(store_cli, grid_store):
    result = store_cli(
        grid_store, "sql", "-f", "complementarity_by_emotion",
        "--param", f"run_a={GRID[0]}", "--param", f"run_b={GRID[1]}", "--format", "json",
    )  # fmt: skip
    records = _records(result)
    assert records[-1]["emotion"] == "all" and records[-1]["n"] > 0
    twice = store_cli(
        grid_store, "sql", "-f", "complementarity_by_emotion",
        "--param", f"run_a={GRID[0]}", "--param", f"run_a={GRID[1]}", "--param", "run_b=x",
    )  # fmt: skip
    assert twice.code == 2
    assert "--param run_a is given 2 times but takes one value" in twice.err_text


def _runs_per_clip(store_cli, store, *params: str) -> list[dict]:
    args = [arg for param in params for arg in ("--param", param)]
    return _records(store_cli(store, "sql", "-f", "runs_right_per_clip", *args, "--format", "json"))


def test_list_parameters_take_repeated_values_or_quoted_items(store_cli, grid_store):
    repeated = _runs_per_clip(store_cli, grid_store, f"runs={GRID[0]}", f"runs={GRID[1]}")
    assert {r["n_runs"] for r in repeated} == {2}
    quoted = _runs_per_clip(store_cli, grid_store, "runs=" + ",".join(f'"{r}"' for r in GRID))
    assert quoted == repeated
    as_json = _runs_per_clip(store_cli, grid_store, "runs=" + json.dumps(GRID))
    assert as_json == repeated


def test_a_grid_name_cut_at_its_comma_is_refused_not_dropped(store_cli, grid_store):
    cut = store_cli(
        grid_store, "sql", "-f", "runs_right_per_clip", "--param", f"runs={GRID[0]},{GRID[1]}"
    )
    assert cut.code == 2, cut.out
    assert (
        f"'norm=minmax' is the rest of the run name '{GRID[0]}' (grid run names hold commas); "
        f"give one run per --param (--param runs={GRID[0]}), or put it in double quotes"
    ) in cut.err_text


# --------------------------------------------------------------------------- bi-LSTM ETA


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_epochs_that_early_stopping_ends_get_no_eta_the_folds_do():
    from mmemo.models.bilstm import BiLSTMConfig
    from mmemo.models.bilstm.kind import epochs_task

    description, total = epochs_task("fold 1", BiLSTMConfig())  # 300 epochs, patience 30
    assert (description, total) == ("fold 1: epochs (early stopping, at most 300)", None)
    # patience >= max_epochs: it cannot stop early, the budget is the count
    assert epochs_task("fold 1", BiLSTMConfig(max_epochs=2)) == ("fold 1: epochs", 2)

    clock, lines = _Clock(), []
    progress = PlainProgress("train bilstm", write=lines.append, interval=5.0, clock=clock)
    with progress.task("training folds", 5) as folds:
        for _fold in range(2):
            with progress.task(description, total) as epochs:
                for _ in range(20):  # 0.5 s per epoch: a line every 5 s
                    clock.now += 0.5
                    epochs.advance()
            folds.advance()
    tail = "fold 1: epochs (early stopping, at most 300)"
    assert lines[:2] == [
        f"train bilstm: training folds 0/5 | {tail} 10  0.50 s each",
        f"train bilstm: training folds 0/5 | {tail} 20  0.50 s each",
    ]
    assert "train bilstm: training folds 1/5  10.0 s each  ETA 0:40" in lines
    # during the next fold: the folds' ETA counts down beside the epochs, which have none
    assert f"train bilstm: training folds 1/5 (ETA 0:35) | {tail} 10  0.50 s each" in lines
    assert not [line for line in lines if "/300" in line or "ETA 2:" in line]


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_train_bilstm_with_early_stopping_logs_time_per_epoch(aus_store, store_cli, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setenv("MMEMO_PROGRESS_INTERVAL", "0")  # every step, for the test
    result = store_cli(
        aus_store, "train", "bilstm", "--features", "aus", "--name", "bl",
        "--early-stop-on", "test", "--param", "max_epochs=3", "--param", "patience=1",
        "--device", "cpu", "--scheme", "kfold:2:2020",
    )  # fmt: skip
    assert result.code == 0, result.err
    epochs = [line for line in result.err.splitlines() if ": epochs (early stopping" in line]
    assert epochs and all(" s each" in line for line in epochs)
    assert not [line for line in epochs if "/3" in line or line.rsplit("|", 1)[-1].count("ETA")]
    assert "train bilstm: training folds 1/2 (ETA " in result.err
