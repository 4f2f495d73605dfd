from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from rich.console import Console

from mmemo.errors import InputError
from mmemo.reports.metrics import zeror
from mmemo.reports.rows import RunRow, baseline_rows, best_rows
from mmemo.reports.tables import latex_escape, render


@pytest.fixture()
def rows(make_summary) -> list[RunRow]:
    svc = make_summary("svc_c1_norm", 0.60, seed=1)
    knn = make_summary("knn_k10_raw", 0.47, seed=2)
    lstm = make_summary("bilstm_50", 0.62, seed=3)
    base = baseline_rows([svc, knn, lstm], human=["visual"])
    return [
        *base,
        RunRow(
            svc, inputs="Average AUs", model="SVC", params="C = 1.0", norm="minmax", group="static"
        ),
        RunRow(
            knn, inputs="Average AUs", model="k-NN", params="k = 10", norm="none", group="static"
        ),
        RunRow(
            lstm,
            inputs="Sequence of AUs",
            model="bi-LSTM",
            params="2 x 50 & attn",
            norm="none",
            group="sequential",
        ),
    ]


def test_baseline_rows_compute_zeror_and_cite_literature(rows) -> None:
    human, zr = rows[0], rows[1]
    assert human.literature and human.accuracy == 75.0
    assert "§3.1" in human.source and "Luna-Jiménez" in human.source
    assert zr.summary is not None
    assert f"{zr.summary.accuracy:.2f} ± {zr.summary.ci95:.2f}" == "13.33 ± 1.76"
    assert not zr.ranked and not human.ranked


def test_baseline_rows_from_class_counts() -> None:
    per_actor = np.array([4] + [8] * 7)
    support = np.stack([per_actor * n for n in (5, 5, 5, 5, 4)])
    (speech, visual, zr) = baseline_rows(fold_support=support)
    assert (speech.accuracy, visual.accuracy) == (67.0, 75.0)
    assert round(zr.accuracy, 2) == 13.33


def test_baseline_rows_errors(make_summary) -> None:
    with pytest.raises(InputError, match="fold_support"):
        baseline_rows()
    a = make_summary("a", 0.5)
    b = zeror(np.ones((2, 8), dtype=int))
    with pytest.raises(InputError, match="same folds"):
        baseline_rows([a, b])
    with pytest.raises(InputError, match="expected one of speech, visual"):
        baseline_rows([a], human=["smell"])


def test_best_per_group(rows) -> None:
    assert best_rows(rows) == {2, 4}


def test_markdown_bolds_best_per_group(rows) -> None:
    out = render(rows, fmt="markdown")
    lines = out.splitlines()
    assert lines[0].startswith("| Run | Group | Inputs | Model |")
    svc_line = next(line for line in lines if "SVC" in line)
    knn_line = next(line for line in lines if "k-NN" in line)
    lstm_line = next(line for line in lines if "bi-LSTM" in line)
    zr_line = next(line for line in lines if "ZeroR" in line)
    assert "**SVC**" in svc_line and "**" not in knn_line
    assert "**bi-LSTM**" in lstm_line
    assert "**" not in zr_line and "13.33 ± 1.76" in zr_line
    assert "Human perception (visual)†" in out and "75.00" in out
    assert "literature value" in out


def test_latex_booktabs_and_escaping(rows, make_summary) -> None:
    out = render(rows, fmt="latex")
    for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}", r"\end{tabular}"):
        assert rule in out
    assert r"2 x 50 \& attn" in out
    assert r"\textbf{SVC}" in out and r"\textbf{k-NN}" not in out
    assert r"$\pm$" in out and "±" not in out
    weird = make_summary("run_1 #2 100%", 0.5)
    out = render([RunRow(weird)], fmt="latex")
    assert r"run\_1 \#2 100\%" in out
    assert latex_escape("a_b%c&d#e") == r"a\_b\%c\&d\#e"


def test_csv_parses_with_unrounded_numbers(rows) -> None:
    out = render(rows, fmt="csv", per_class=True)
    records = list(csv.DictReader(io.StringIO(out)))
    assert len(records) == len(rows)
    svc = next(r for r in records if r["run"] == "svc_c1_norm")
    assert float(svc["accuracy"]) == rows[2].accuracy
    assert float(svc["ci95"]) == rows[2].summary.ci95
    assert svc["best"] == "1" and svc["n"] == "1440"
    assert float(svc["recall_calm"]) == rows[2].summary.per_class["calm"]["recall"]
    human = records[0]
    assert human["accuracy"] == "75.0" and human["ci95"] == "" and "§3.1" in human["source"]


def test_json_is_list_of_to_json(rows) -> None:
    data = json.loads(render(rows, fmt="json"))
    keys = ["run", "accuracy", "ci95", "n", "folds", "uar", "macro_f1"]
    for record, row in zip(data[1:], rows[1:], strict=True):
        assert list(record) == keys
        assert record == json.loads(json.dumps(row.summary.to_json()))
    assert list(data[0]) == [*keys, "source"]
    with_pc = json.loads(render(rows[2:], fmt="json", per_class=True))
    assert all("per_class" in r for r in with_pc)


def test_rich_table_renders_bold(rows) -> None:
    table = render(rows, fmt="table")
    console = Console(record=True, width=200, color_system="truecolor", force_terminal=True)
    console.print(table)
    text = console.export_text()
    assert "SVC" in text and "13.33 ± 1.76" in text
    assert table.bold_rows == {2, 4}
    per_class = render(rows, fmt="table", per_class=True)
    console.print(per_class)
    assert "Precision" in console.export_text()


def test_markdown_per_class_and_groups_override(make_summary) -> None:
    a, b = make_summary("a", 0.5, seed=1), make_summary("b", 0.7, seed=2)
    out = render([a, b], fmt="markdown", per_class=True, groups={"a": "g1", "b": "g2"})
    assert "**a**" in out and "**b**" in out  # each best in its own group
    assert "| Metric | Neutral | Calm |" in out
    out = render([a, b], fmt="markdown")
    assert "**b**" in out and "**a**" not in out


def test_render_errors(rows) -> None:
    with pytest.raises(InputError, match="expected one of table, markdown"):
        render(rows, fmt="html")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        render([], fmt="csv")
    with pytest.raises(InputError):
        RunRow()


def _at(width: int, renderable) -> str:
    console = Console(record=True, width=width, markup=False)
    console.print(renderable)
    return console.export_text()


def test_every_format_names_the_run(rows) -> None:
    """The run's name is the first column of the table, markdown and LaTeX output."""
    markdown = render(rows, fmt="markdown").splitlines()
    svc = next(line for line in markdown if "svc_c1_norm" in line)
    assert svc.startswith("| **svc_c1_norm** |")
    assert r"\textbf{svc\_c1\_norm} & " in render(rows, fmt="latex")
    # paper-style rows (groups, models, a literature row) are too wide for 80 columns: one
    # record per run, each named whole
    text = _at(80, render(rows, fmt="table"))
    for name in ("svc_c1_norm", "knn_k10_raw", "bilstm_50"):
        assert f"-[ RECORD {[r.name for r in rows].index(name) + 1} ]- {name}" in text
    # a plain report of runs fits: the name starts its line
    plain = [RunRow(r.summary, inputs=r.inputs, model=r.model, params=r.params) for r in rows[2:]]
    text = _at(80, render(plain, fmt="table"))
    assert any(line.startswith("svc_c1_norm ") for line in text.splitlines())
    assert all(len(line.rstrip()) <= 80 for line in text.splitlines())


def test_a_model_column_that_repeats_the_run_is_left_out(make_summary) -> None:
    a, b = make_summary("aus-svc", 0.5, seed=1), make_summary("fusion", 0.7, seed=2)
    header = render([a, b], fmt="markdown").splitlines()[0]
    assert header.startswith("| Run | Inputs | Parameters |")


def test_report_at_80_columns_keeps_names_whole_and_numbers_together(make_summary) -> None:
    long = "probe/wavlm-large/layer=12"
    row = RunRow(
        make_summary(long, 0.61, seed=4),
        inputs="fusion of aus-svc, audio-ft and three more runs",
        model="logreg",
        params="C = 1.0, class_weight = balanced, max_iter = 1000",
        norm="minmax",
    )
    text = _at(80, render([row], fmt="table"))
    lines = text.splitlines()
    assert all(len(line.rstrip()) <= 80 for line in lines)
    assert any(line.startswith(long + " ") or line.endswith(f"]- {long}") for line in lines)
    accuracy = f"{row.summary.accuracy:.2f} ± {row.summary.ci95:.2f}"
    assert accuracy in text


def test_lone_runs_are_not_bold_for_being_alone(make_summary) -> None:
    """Rows of different inputs but no explicit group compete: only the best is bold."""
    good = RunRow(make_summary("good", 0.8, seed=1), inputs="aus@1")
    bad = RunRow(make_summary("bad", 0.2, seed=2), inputs="w2v@1")
    assert best_rows([good, bad]) == {0}


def test_a_column_with_one_value_is_said_once_above_the_terminal_table(make_summary) -> None:
    rows = [
        RunRow(
            make_summary(f"svc/C={c},norm=minmax", 0.5 + c / 100, seed=c),
            inputs="aus@1",
            model="svc",
            params=f"C = {c}",
            norm="minmax",
        )
        for c in (1, 10)
    ]
    lines = _at(80, render(rows, fmt="table")).splitlines()
    assert lines[0].strip() == "Inputs: aus@1 · Model: svc · Norm.: Yes"
    assert "Inputs" not in lines[1] and "Run" in lines[1]
    assert any(line.startswith("svc/C=10,norm=minmax ") for line in lines)
    # markdown and LaTeX keep the paper's columns
    assert render(rows, fmt="markdown").startswith("| Run | Inputs | Model | Parameters |")
