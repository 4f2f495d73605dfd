"""Which modality knows what: the complementarity views, recipes, report and figure, checked
against numbers computed here from the stored posteriors (numpy, scikit-learn) and by hand."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from mmemo.errors import InputError, NotFoundError
from mmemo.reports.complementarity import (
    OVERALL,
    Complementarity,
    complementarity,
    render_complementarity,
)
from mmemo.testing.stores import restorable

KFOLD = "kfold:2:7"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: The pairs checked against numpy: two learned runs both ways, a learned run against ZeroR
#: (kappa 0 overall) and ZeroR against itself (kappa and Q undefined in every group).
PAIRS = [("lr", "knn"), ("knn", "lr"), ("lr", "zeror"), ("zeror", "zeror")]


@pytest.fixture(scope="session")
def _pair_restore(_aus_store_restore, backend) -> Callable[[], Path]:
    """Template: the root conftest's AU store (actors 1-2; restored at the ingested store's
    path, so a test takes ``pair_store`` or a root store fixture, never both) with the runs

    =========  ==========================================================================
    ``lr``     logistic regression, min-max, AU means, luna2022, av-speech (120 test clips)
    ``knn``    k-NN k=5, AU means, luna2022, av-speech
    ``zeror``  ZeroR, luna2022, av-speech
    ``lr-k2``  as ``lr`` on another fold scheme (kfold:2:7)
    ``audio``  ZeroR on the audio-only speech files, luna2022: no clip shared with the others
    =========  ==========================================================================
    """
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static
    from mmemo.store.store import Store

    work = _aus_store_restore()
    store = Store.open(work)
    av = {"clips": "av-speech"}
    lr = {"model": "logreg", "norm": "minmax", "features": "aus"}
    train_static(store, StaticSpec.one(name="lr", **lr, **av))
    train_static(
        store,
        StaticSpec.one(name="knn", model="knn", params={"n_neighbors": 5}, features="aus", **av),
    )
    train_static(store, StaticSpec.one(name="zeror", model="zeror", **av))
    train_static(store, StaticSpec.one(name="lr-k2", **lr, scheme=KFOLD, **av))
    train_static(store, StaticSpec.one(name="audio", model="zeror", clips="audio-speech"))
    return restorable(work, work.parent / "complementarity-template", backend)


@pytest.fixture()
def pair_store(_pair_restore):
    """A fresh copy of the ``_pair_restore`` template."""
    from mmemo.store.store import Store

    return Store.open(_pair_restore())


def _test_predictions(store, run: str) -> dict[str, tuple[int, str, int, int]]:
    """{clip_id: (fold, true label, actor, predicted emotion code)} of a run's test clips,
    the prediction taken here as the argmax of the stored scores (first one on ties)."""
    with store.session() as s:
        rows = s.fetch(
            "SELECT p.clip_id, p.fold, p.scores, p.classes, c.label, c.actor "
            "FROM posteriors AS p JOIN lake.clips AS c USING (clip_id) "
            "WHERE p.run = ? AND p.split = 'test'",
            [run],
        )
    return {
        clip: (fold, label, actor, classes[int(np.argmax(scores))])
        for clip, fold, scores, classes, label, actor in rows
    }


def _label_code(store) -> dict[str, int]:
    with store.session() as s:
        return dict(s.fetch("SELECT DISTINCT label, emotion FROM lake.clips"))


def _expected(store, run_a: str, run_b: str, by: str) -> dict[str, dict[str, float | None]]:
    """The complementarity numbers of two runs per group and overall, computed with numpy,
    scikit-learn's Cohen's kappa and Yule's Q from its definition."""
    a, b = _test_predictions(store, run_a), _test_predictions(store, run_b)
    codes = _label_code(store)
    shared = sorted(c for c in a if c in b and a[c][0] == b[c][0])
    true = np.array([codes[a[c][1]] for c in shared])
    pred_a = np.array([a[c][3] for c in shared])
    pred_b = np.array([b[c][3] for c in shared])
    group = np.array([a[c][1] if by == "emotion" else str(a[c][2]) for c in shared])
    out = {}
    for name in [*sorted(set(group)), OVERALL]:
        mask = np.ones(len(shared), bool) if name == OVERALL else group == name
        ra, rb = pred_a[mask] == true[mask], pred_b[mask] == true[mask]
        both, only_a = int(np.sum(ra & rb)), int(np.sum(ra & ~rb))
        only_b, neither = int(np.sum(~ra & rb)), int(np.sum(~ra & ~rb))
        with warnings.catch_warnings():  # undefined kappa: sklearn warns and returns nan
            warnings.simplefilter("ignore")
            kappa = float(cohen_kappa_score(pred_a[mask], pred_b[mask]))
        denominator = both * neither + only_a * only_b
        out[name] = {
            "n": int(mask.sum()),
            "both": both,
            "only_a": only_a,
            "only_b": only_b,
            "neither": neither,
            "accuracy_a": 100.0 * ra.mean(),
            "accuracy_b": 100.0 * rb.mean(),
            "oracle": 100.0 * (ra | rb).mean(),
            "kappa": None if math.isnan(kappa) else kappa,
            "yule_q": (both * neither - only_a * only_b) / denominator if denominator else None,
        }
    return out


def _check(result: Complementarity, expected: dict[str, dict[str, float | None]]) -> None:
    got = {row.group: row for row in result.all_rows}
    assert set(got) == set(expected)
    for name, numbers in expected.items():
        row = got[name]
        for field, value in numbers.items():
            have = getattr(row, field)
            if value is None:
                assert have is None, (name, field, have)
            else:
                assert have == pytest.approx(value, abs=1e-9), (name, field)


@pytest.mark.parametrize("by", ["emotion", "actor"])
@pytest.mark.slow
def test_complementarity_matches_numpy_and_sklearn(pair_store, by) -> None:
    for run_a, run_b in PAIRS:
        result = complementarity(pair_store, run_a, run_b, by=by)
        assert (result.run_a, result.run_b, result.scheme, result.by) == (
            run_a,
            run_b,
            "luna2022",
            by,
        )
        _check(result, _expected(pair_store, run_a, run_b, by))
        assert result.overall.n == 120


def _tiny_case(session) -> None:
    """Replace ``clip_correctness`` (for this connection) by ten hand-made clips of runs A and
    B, so that the views above it compute on them:

    ======  ======  =====  =====  ==============
    clips   true    A      B      A, B right
    ======  ======  =====  =====  ==============
    3       angry   angry  angry  both
    1       angry   angry  sad    only A
    2       angry   sad    angry  only B
    1       angry   sad    sad    neither
    1       angry   happy  sad    neither
    2       calm    calm   calm   both
    ======  ======  =====  =====  ==============
    """
    rows = (
        [("angry", "angry", "angry")] * 3
        + [("angry", "angry", "sad")]
        + [("angry", "sad", "angry")] * 2
        + [("angry", "sad", "sad"), ("angry", "happy", "sad")]
        + [("calm", "calm", "calm")] * 2
    )
    code = {"calm": 2, "angry": 5}
    values = []
    for i, (true, a, b) in enumerate(rows):
        for run, predicted in (("A", a), ("B", b)):
            values.append(
                f"('{run}', 0, 'hand', 0, 'clip{i}', '{true}', {code[true]}, 1, "
                f"'{predicted}', {str(predicted == true).upper()})"
            )
    session.ensure_views()
    session.con.execute(
        "CREATE OR REPLACE TEMP VIEW clip_correctness AS SELECT * FROM (VALUES "
        + ", ".join(values)
        + ") AS t(run, run_id, scheme, fold, clip_id, emotion, emotion_code, actor, predicted, "
        "correct)"
    )


def test_yule_q_and_kappa_by_hand_on_a_tiny_case(store) -> None:
    with store.session() as s:
        _tiny_case(s)
        rows = s.fetch(
            "SELECT value, n, both_right, only_a, only_b, neither, accuracy_a, accuracy_b, "
            "oracle, kappa, yule_q FROM complementarity WHERE run_a = 'A' AND run_b = 'B' "
            "AND attribute IN ('emotion', 'all') ORDER BY attribute = 'all', value_order"
        )
    calm, angry, overall = rows
    # calm: both right on both clips; Q = (2*0 - 0*0) / (2*0 + 0*0): 0/0; kappa: both runs
    # say calm throughout, chance agreement 1: 0/0. Both undefined: NULL
    assert calm == ("calm", 2, 2, 0, 0, 0, 100.0, 100.0, 100.0, None, None)
    # angry: a=3 b=1 c=2 d=2: Q = (3*2 - 1*2) / (3*2 + 1*2) = 4/8; labels A: angry 4, sad 3,
    # happy 1; B: angry 5, sad 3; agreement 4/8, chance (4*5 + 3*3) / 64 = 29/64;
    # kappa = (32/64 - 29/64) / (35/64) = 3/35
    assert angry[:9] == ("angry", 8, 3, 1, 2, 2, 50.0, 62.5, 75.0)
    assert angry[10] == pytest.approx(0.5)
    assert angry[9] == pytest.approx(3 / 35)
    # all: a=5 b=1 c=2 d=2: Q = (10 - 2) / (10 + 2); agreement 6/10, chance (20 + 9 + 4) / 100
    # = 33/100: kappa = (60 - 33) / (100 - 33)
    assert overall[:9] == ("all", 10, 5, 1, 2, 2, 60.0, 70.0, 80.0)
    assert overall[10] == pytest.approx(8 / 12)
    assert overall[9] == pytest.approx(27 / 67)
    a = ["angry"] * 4 + ["sad"] * 3 + ["happy"] + ["calm"] * 2
    b = ["angry"] * 3 + ["sad"] + ["angry"] * 2 + ["sad"] * 2 + ["calm"] * 2
    assert overall[9] == pytest.approx(cohen_kappa_score(a, b))
    assert angry[9] == pytest.approx(cohen_kappa_score(a[:8], b[:8]))


def test_unknown_runs_and_runs_without_shared_clips_are_one_line_errors(
    pair_store, store_cli
) -> None:
    with pytest.raises(NotFoundError, match=r"no complete run matches 'lrr' \(did you mean 'lr'"):
        complementarity(pair_store, "lrr", "knn")
    with pytest.raises(InputError, match="'lr' and 'audio' have no test clips in common"):
        complementarity(pair_store, "lr", "audio")
    with pytest.raises(InputError, match="scheme luna2022.*scheme kfold:2:7"):
        complementarity(pair_store, "lr", "lr-k2")
    with pytest.raises(InputError, match="'l\\*' matches 2 runs \\(lr, lr-k2\\)"):
        complementarity(pair_store, "l*", "knn")
    with pytest.raises(InputError, match="unknown breakdown 'gender'; expected one of emotion"):
        complementarity(pair_store, "lr", "knn", by="gender")
    for args, message in [
        (("report", "lr", "nope", "--complementarity"), "no complete run matches 'nope'"),
        (("report", "lr", "audio", "--complementarity"), "have no test clips in common"),
        (("report", "lr", "--complementarity"), "takes two runs, A and B; 1 given"),
        (("report", "lr", "knn", "--by", "actor"), "--by actor goes with --complementarity"),
        (("report", "lr", "knn", "--complementarity", "--per-class"), "with --per-class"),
        (("plot", "complementarity", "lr", "audio", "--out", "x.png"), "no test clips"),
    ]:
        result = store_cli(pair_store, *args)
        assert result.code == 2, args
        assert result.out == "" and len(result.err.strip().splitlines()) == 1, result.err
        assert result.err.startswith("error: ") and message in result.err_text, result.err


@pytest.mark.slow
def test_report_prints_the_table_and_exports_latex(pair_store, store_cli, tmp_path) -> None:
    result = complementarity(pair_store, "lr", "knn")
    shown = store_cli(pair_store, "report", "lr", "knn", "--complementarity")
    assert shown.code == 0, shown.err
    assert "A = lr, B = knn; 120 shared test clips (scheme luna2022)" in shown.out_text
    for row in result.all_rows:
        assert f"{row.group} {row.n} {row.both} {row.only_a} {row.only_b} " in shown.out_text
    labels = [row.group for row in result.rows]
    assert labels == ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]

    out = tmp_path / "which.tex"
    written = store_cli(
        pair_store, "report", "lr", "knn", "--complementarity", "--format", "latex", "--out", out
    )
    assert written.code == 0 and f"wrote 9 rows to {out}" in written.out_text
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "% needs \\usepackage{booktabs}"
    assert lines[1] == "\\begin{tabular}{lrrrrrrrrrr}" and lines[-1] == "\\end{tabular}"
    assert lines[3].startswith("Emotion & Clips & Both & Only A & Only B & Neither")
    body = lines[5 : lines.index("\\bottomrule")]
    assert len(body) == 10 and body[-2] == "\\midrule"  # 8 emotions, a rule, overall
    for line, row in zip([*body[:-2], body[-1]], result.all_rows, strict=True):
        kappa = "-" if row.kappa is None else f"{row.kappa:.3f}"
        q = "-" if row.yule_q is None else f"{row.yule_q:.3f}"
        assert line == (
            f"{row.group} & {row.n} & {row.both} & {row.only_a} & {row.only_b} & "
            f"{row.neither} & {row.accuracy_a:.2f} & {row.accuracy_b:.2f} & {row.oracle:.2f} & "
            f"{kappa} & {q} \\\\"
        )
    assert "A = lr, B = knn" in lines[-2]

    as_json = store_cli(pair_store, "report", "lr", "knn", "--complementarity", "--format", "json")
    assert json.loads(as_json.out) == result.to_json()

    by_actor = store_cli(pair_store, "report", "lr", "knn", "--complementarity", "--by", "actor")
    per_actor = complementarity(pair_store, "lr", "knn", by="actor")
    assert by_actor.code == 0 and [row.group for row in per_actor.rows] == ["1", "2"]
    for row in per_actor.all_rows:
        assert f"{row.group} {row.n} {row.both} {row.only_a} " in by_actor.out_text


def test_render_formats(pair_store) -> None:
    result = complementarity(pair_store, "zeror", "lr")
    markdown = render_complementarity(result, fmt="markdown")
    assert markdown.splitlines()[2].startswith("| Emotion | Clips | Both |")
    assert markdown.splitlines()[-1].startswith("| **overall** | **120** |")
    csv_text = render_complementarity(result, fmt="csv").splitlines()
    assert csv_text[0].startswith("run_a,run_b,scheme,by,group,n,both")
    assert len(csv_text) == 10 and csv_text[-1].startswith("zeror,lr,luna2022,emotion,overall,120")
    # ZeroR says one label throughout: kappa against it is 0 overall, undefined where both
    # runs say that label throughout (the zeror-zeror pair)
    assert result.overall.kappa == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(InputError, match="unknown table format 'html'; expected one of table"):
        render_complementarity(result, fmt="html")


@pytest.mark.slow
def test_recipes_give_the_reports_numbers(pair_store, store_cli) -> None:
    for by in ("emotion", "actor"):
        result = complementarity(pair_store, "lr", "knn", by=by)
        shown = store_cli(
            pair_store,
            "sql",
            "-f",
            f"complementarity_by_{by}",
            "--param",
            "run_a=lr",
            "--param",
            "run_b=knn",
            "--format",
            "json",
        )
        assert shown.code == 0, shown.err
        records = json.loads(shown.out)
        assert [r[by] for r in records] == [row.group for row in result.rows] + ["all"]
        for record, row in zip(records, result.all_rows, strict=True):
            assert (record["n"], record["both_right"], record["only_a"]) == (
                row.n,
                row.both,
                row.only_a,
            )
            assert (record["only_b"], record["neither"]) == (row.only_b, row.neither)
            assert record["oracle"] == round(row.oracle, 2)
            assert record["kappa"] == (None if row.kappa is None else round(row.kappa, 4))
            assert record["yule_q"] == (None if row.yule_q is None else round(row.yule_q, 4))

    runs = ["lr", "knn", "zeror"]
    shown = store_cli(
        pair_store,
        "sql",
        "-f",
        "runs_right_per_clip",
        "--param",
        "runs=lr,knn,zeror",
        "--format",
        "json",
    )
    assert shown.code == 0, shown.err
    records = json.loads(shown.out)
    predictions = {run: _test_predictions(pair_store, run) for run in runs}
    codes = _label_code(pair_store)
    assert len(records) == 120
    for record in records:
        clip = record["clip_id"]
        right = [r for r in runs if predictions[r][clip][3] == codes[predictions[r][clip][1]]]
        assert record["right_runs"] == right
        assert record["wrong_runs"] == [r for r in runs if r not in right]
        assert record["n_right"] == len(right) and record["n_runs"] == 3
    assert [r["n_right"] for r in records] == sorted(r["n_right"] for r in records)


def test_plot_complementarity(pair_store, store_cli, tmp_path) -> None:
    from mmemo.reports.analysis_figures import complementarity_figure, plot_complementarity

    out = tmp_path / "which.png"
    drawn = store_cli(pair_store, "plot", "complementarity", "lr", "knn", "--out", out)
    assert drawn.code == 0 and f"wrote {out}" in drawn.out_text
    assert out.stat().st_size > 1000 and out.read_bytes()[:8] == PNG_MAGIC

    result = complementarity(pair_store, "lr", "knn")
    ax = complementarity_figure(result).axes[0]
    rows = result.all_rows
    heights = np.array([patch.get_height() for patch in ax.patches]).reshape(4, len(rows))
    counts = np.array([[r.both, r.only_a, r.only_b, r.neither] for r in rows]).T
    n = np.array([r.n for r in rows])
    np.testing.assert_allclose(heights, 100.0 * counts / n)
    np.testing.assert_allclose(heights.sum(axis=0), 100.0)
    oracle, acc_a, acc_b = (c.get_offsets()[:, 1] for c in ax.collections)
    np.testing.assert_allclose(oracle, [r.oracle for r in rows])
    np.testing.assert_allclose(acc_a, [r.accuracy_a for r in rows])
    np.testing.assert_allclose(acc_b, [r.accuracy_b for r in rows])
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "Overall"

    assert plot_complementarity(result, tmp_path / "which.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(InputError, match="expected .png, .pdf or .svg"):
        plot_complementarity(result, tmp_path / "which.jpg")
