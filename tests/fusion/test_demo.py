"""``mmemo demo``: the whole loop on a tiny synthetic corpus ends in a table and a figure."""

from __future__ import annotations

import shlex

import pytest

PNG = b"\x89PNG\r\n\x1a\n"


def _check_demo(result, store_dir, runs: list[str]) -> None:
    assert result.code == 0, result.out + result.err
    # inside the store folder, said where; nothing next to it in the current folder
    report = store_dir / "demo-report.md"
    figure = store_dir / "demo-fusion-confusion.png"
    assert report.is_file() and figure.read_bytes()[:8] == PNG
    assert sorted(p.name for p in store_dir.parent.iterdir()) == [store_dir.name]
    assert f"report (in the store folder): {report}" in result.out_text
    text = report.read_text(encoding="utf-8")
    assert "ZeroR" in text and "fusion of" in text
    assert str(report) in result.out_text and str(figure) in result.out_text
    assert "Accuracy ± 95% CI" in result.out  # the final table
    for run in runs:
        assert run in text


@pytest.mark.slow
def test_demo_with_two_actors(cli, tmp_path):
    store_dir = tmp_path / "demo-store"
    result = cli("demo", "--store", store_dir, "--actors", "2")
    _check_demo(result, store_dir, ["aus-svc", "aus-mlp", "aus-bilstm", "audio-ft"])


@pytest.mark.slow
def test_demo_without_deep_models(cli, tmp_path, monkeypatch):
    """The static part of the loop alone (bi-LSTM and fine-tune stubbed out)."""
    import mmemo.demo.loop

    monkeypatch.setattr(mmemo.demo.loop, "can_train_deep", lambda: False)
    store_dir = tmp_path / "demo-store"
    result = cli("demo", "--store", store_dir, "--actors", "2")
    _check_demo(result, store_dir, ["aus-svc", "aus-mlp"])
    assert "aus-bilstm" not in result.out
    # each command the demo prints makes the run it stands for: made again under another
    # name, it gives the very same scores
    printed = [line for line in result.out.splitlines() if line.startswith(("train ", "fuse "))]
    assert len(printed) == 4, result.out  # zeror, aus-svc, aus-mlp, aus-fusion
    for line in printed:
        name = line.rsplit("--name ", 1)[1].split()[0]
        renamed = line.replace(f"--name {name}", f"--name {name}-again")
        again = cli("--store", store_dir, *shlex.split(renamed))
        assert again.code == 0, f"{line}: {again.err}"
        assert _scores(store_dir, f"{name}-again") == _scores(store_dir, name), line


def _scores(store_dir, run: str) -> list[dict]:
    from mmemo.store.store import Store
    from mmemo.testing.stores import query_rows

    rows = query_rows(
        Store.open(store_dir),
        "SELECT fold, split, clip_id, scores FROM posteriors "
        f"WHERE run = '{run}' ORDER BY fold, split, clip_id",
    )
    assert rows, f"no scores of run {run}"
    return rows


@pytest.mark.slow
def test_demo_again_reuses_what_it_finds(cli, tmp_path, monkeypatch):
    """A second demo on the same store says what it found and retrains nothing (no ``*-2``
    runs); an interrupted one keeps its finished runs; one with other settings is refused
    with the fix."""
    import mmemo.demo.loop

    monkeypatch.setattr(mmemo.demo.loop, "can_train_deep", lambda: False)
    store_dir = tmp_path / "demo-store"
    first = cli("demo", "--store", store_dir, "--actors", "2")
    _check_demo(first, store_dir, ["aus-svc", "aus-mlp"])
    (store_dir / "demo-report.md").unlink()

    import mmemo.jobs.fusion
    import mmemo.jobs.static

    def refuse(*_args, **_kwargs):
        raise AssertionError("the demo trained again")

    real_train, real_fuse = mmemo.jobs.static.train_static_grid, mmemo.jobs.fusion.fuse_runs
    monkeypatch.setattr(mmemo.jobs.static, "train_static_grid", refuse)
    monkeypatch.setattr(mmemo.jobs.fusion, "fuse_runs", refuse)
    again = cli("demo", "--store", store_dir, "--actors", "2")
    _check_demo(again, store_dir, ["aus-svc", "aus-mlp"])
    assert (
        f"found a finished demo in {store_dir} (runs zeror, aus-svc, aus-mlp, fusion): reusing it"
    ) in again.out_text
    runs = cli("--store", store_dir, "runs")
    assert "-2" not in runs.out

    # an interrupted demo: its finished runs are kept, the rest made
    interrupted = tmp_path / "interrupted"
    monkeypatch.setattr(mmemo.jobs.static, "train_static_grid", real_train)
    with pytest.raises(AssertionError, match="trained again"):  # at the first fusion
        cli("demo", "--store", interrupted, "--actors", "2")
    monkeypatch.setattr(mmemo.jobs.fusion, "fuse_runs", real_fuse)
    resumed = cli("demo", "--store", interrupted, "--actors", "2")
    assert resumed.code == 0, resumed.err
    assert (
        f"found 3 run(s) of an earlier demo in {interrupted} (zeror, aus-svc, aus-mlp): "
        "reusing them, making the rest"
    ) in resumed.out_text
    assert "--name aus-svc: found run aus-svc, reusing it" in resumed.out_text
    assert "fuse aus-svc aus-mlp --seed 2020 --name fusion" in resumed.out_text

    other = cli("demo", "--store", store_dir, "--actors", "3")
    assert other.code == 2
    assert other.err_text == (
        f"error: {store_dir} holds a demo on 2 actors, not 3: give another --store for this "
        "one (or remove that folder)"
    )
