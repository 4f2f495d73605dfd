from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmemo.errors import InputError
from mmemo.reports.figures import plot_aus, plot_confusion, plot_runs
from mmemo.reports.rows import RunRow, baseline_rows

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
AU_NAMES = [f"AU{n:02d}_r" for n in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)]


def _is_png(path: Path) -> bool:
    return path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


def test_plot_confusion_png_and_pdf(make_summary, tmp_path: Path) -> None:
    s = make_summary("fusion", 0.8)
    out = plot_confusion(s, tmp_path / "sub" / "cm.png")
    assert out == tmp_path / "sub" / "cm.png" and _is_png(out)
    pdf = plot_confusion(s, tmp_path / "cm.pdf", title="Fusion")
    assert pdf.read_bytes()[:4] == b"%PDF"


def test_plot_runs(make_summary, tmp_path: Path) -> None:
    static = make_summary("mlp", 0.6, seed=1)
    seq = make_summary("bilstm", 0.62, seed=2)
    rows = [
        *baseline_rows([static], human=["visual"]),
        RunRow(static, model="MLP", params="80", group="static"),
        RunRow(seq, model="bi-LSTM", group="sequential"),
    ]
    out = plot_runs(rows, tmp_path / "runs.png", title="Top models")
    assert _is_png(out)
    assert _is_png(plot_runs([static, seq], tmp_path / "bare.png"))


def test_plot_aus(tmp_path: Path) -> None:
    times = np.arange(0, 3.5, 1 / 30)
    rng = np.random.default_rng(0)
    aus = {name: np.clip(rng.normal(1, 0.5, times.size), 0, 5) for name in AU_NAMES}
    out = plot_aus(times, aus, tmp_path / "aus.png", title="01-01-05-02-01-01-01 (angry)")
    assert _is_png(out)


def test_figure_errors(make_summary, tmp_path: Path) -> None:
    s = make_summary("x", 0.5)
    with pytest.raises(InputError, match="expected one of .png, .pdf"):
        plot_confusion(s, tmp_path / "cm.jpg")
    with pytest.raises(InputError, match="no runs"):
        plot_runs([], tmp_path / "r.png")
    with pytest.raises(InputError, match="AU01_r"):
        plot_aus(np.arange(5.0), {"AU01_r": np.zeros(4)}, tmp_path / "a.png", title="t")
    assert not any(tmp_path.iterdir())
