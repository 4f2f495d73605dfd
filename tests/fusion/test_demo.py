"""``mmemo demo``: the whole loop on a tiny synthetic corpus ends in a table and a figure."""

from __future__ import annotations

import pytest

PNG = b"\x89PNG\r\n\x1a\n"


def _check_demo(result, store_dir, runs: list[str]) -> None:
    assert result.code == 0, result.out + result.err
    report = store_dir.parent / f"{store_dir.name}-report.md"
    figure = store_dir.parent / f"{store_dir.name}-fusion-confusion.png"
    assert report.is_file() and figure.read_bytes()[:8] == PNG
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

    monkeypatch.setattr(mmemo.demo.loop, "_deep_models", lambda *a, **k: [])
    store_dir = tmp_path / "demo-store"
    result = cli("demo", "--store", store_dir, "--actors", "2")
    _check_demo(result, store_dir, ["aus-svc", "aus-mlp"])
