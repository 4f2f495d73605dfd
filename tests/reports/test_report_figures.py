from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmemo.errors import InputError
from mmemo.reports.figures import (
    aus_figure,
    confusion_figure,
    plot_aus,
    plot_confusion,
    plot_runs,
    runs_figure,
)
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
    with pytest.raises(InputError, match="expected .png, .pdf or .svg"):
        plot_confusion(s, tmp_path / "cm.jpg")
    with pytest.raises(InputError, match="no runs"):
        plot_runs([], tmp_path / "r.png")
    with pytest.raises(InputError, match="AU01_r"):
        plot_aus(np.arange(5.0), {"AU01_r": np.zeros(4)}, tmp_path / "a.png", title="t")
    assert not any(tmp_path.iterdir())


def _annotations(ax) -> np.ndarray:
    """The numbers written in a heatmap's cells, as a matrix."""
    n = len(ax.get_xticks())
    return np.array([float(t.get_text()) for t in ax.texts]).reshape(n, n)


def test_confusion_counts_are_summed_so_rows_sum_to_the_clips(make_summary) -> None:
    s = make_summary("fusion", 0.8)
    counts, percent = confusion_figure(s).axes[:2]  # then the two colour bars
    shown = _annotations(counts)
    np.testing.assert_array_equal(shown, s.confusion_sum)
    np.testing.assert_array_equal(shown.sum(axis=1), s.confusion_sum.sum(axis=1))
    assert "all folds" in counts.get_title()
    rows = _annotations(percent).sum(axis=1)
    np.testing.assert_allclose(rows[rows > 0], 100.0, atol=0.5)  # cells rounded to 0.1


def test_run_bars_name_the_normalisation_and_the_colours_have_a_legend(make_summary) -> None:
    minmax, plain = make_summary("svc/C=1,norm=minmax", 0.6), make_summary("svc/C=1,norm=none", 0.5)
    rows = [
        RunRow(minmax, model="svc", params="C = 1", norm="minmax", group="aus@1"),
        RunRow(plain, model="svc", params="C = 1", norm="none", group="aus@1"),
        RunRow(make_summary("audio", 0.7), model="mlp", params="80", norm="none", group="audio@1"),
    ]
    ax = runs_figure(rows).axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["svc\nC = 1\nmin-max", "svc\nC = 1\nunnormalised", "mlp\n80\nunnormalised"]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["aus@1", "audio@1"]
    bar_colours = [tuple(p.get_facecolor()) for p in ax.patches]
    legend_colours = [tuple(h.get_facecolor()) for h in legend.legend_handles]
    assert bar_colours[0] == bar_colours[1] == legend_colours[0] != legend_colours[1]


def test_bars_with_the_same_label_get_their_run_names(make_summary) -> None:
    rows = [RunRow(make_summary(f"svc-{n}", 0.5, seed=n), model="svc") for n in (1, 2)]
    labels = [t.get_text() for t in runs_figure(rows).axes[0].get_xticklabels()]
    assert labels == ["svc\n(svc-1)", "svc\n(svc-2)"]


def test_au_frames_where_tracking_failed_are_gaps() -> None:
    times = np.arange(10) / 30
    aus = {name: np.full(10, 2.0) for name in AU_NAMES}
    success = np.array([1, 1, 1, 0, 0, 1, 1, 1, 1, 0])
    ax = aus_figure(times, aus, title="clip", success=success).axes[0]
    assert len(ax.lines) == 17
    for line in ax.lines:
        y = np.asarray(line.get_ydata(), dtype=float)
        np.testing.assert_array_equal(np.isnan(y), success == 0)
        assert (y[success == 1] == 2.0).all()  # no drop to 0
    assert "3 of 10 frames not tracked" in ax.get_title()
    with pytest.raises(InputError, match="success has shape"):
        aus_figure(times, aus, title="clip", success=success[:5])


def test_plot_aus_defaults_to_the_set_named_aus(aus_store, synth_corpus) -> None:
    from mmemo.features.aus import clip_aus, default_au_set
    from mmemo.features.openface import AuIngestSpec, ingest_openface

    csvs = [str(synth_corpus.openface_dir / "01-01-0[1-2]-*.csv")]
    ingest_openface(
        aus_store, AuIngestSpec(sources=csvs, name="newer")
    )  # newer than aus: still aus by default
    assert default_au_set(aus_store) == "aus"
    clip = sorted(p.stem for p in synth_corpus.openface_files if p.name.startswith("01-01-01"))[0]
    assert clip_aus(aus_store, clip).features == "aus@1"


def test_plot_aus_refuses_to_guess_between_sets(ingested_store, synth_corpus) -> None:
    from mmemo.features.aus import default_au_set
    from mmemo.features.openface import AuIngestSpec, ingest_openface

    csvs = [str(synth_corpus.openface_dir / "01-01-01-*.csv")]
    ingest_openface(ingested_store, AuIngestSpec(sources=csvs, name="first"))
    assert default_au_set(ingested_store) == "first"
    ingest_openface(ingested_store, AuIngestSpec(sources=csvs, name="second"))
    with pytest.raises(InputError) as info:
        default_au_set(ingested_store)
    assert str(info.value) == (
        "several AU frame sets and none named 'aus'; choose one with --features: first, second"
    )
