"""Reports read from the store: which runs, and their cross-validated test predictions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mmemo.errors import InputError, NotFoundError
from mmemo.params import format_value
from mmemo.reports.metrics import FoldPredictions, RunSummary, summarize
from mmemo.reports.rows import RunRow
from mmemo.resources import read_sql
from mmemo.store.runs import resolve_runs
from mmemo.store.schema import Run
from mmemo.store.store import Store
from mmemo.store.vocabulary import dataset_vocabulary


def summarize_runs(store: Store, patterns: list[str]) -> list[RunSummary]:
    """Cross-validated summary (accuracy ± CI, UAR, macro-F1, per class) of each run."""
    return [summary for _, summary in summarize_matching(store, patterns)]


def report_rows(store: Store, patterns: list[str], *, scheme: str | None = None) -> list[RunRow]:
    """Rows of a paper-style comparison table: inputs, model, parameters, norm, results.

    The best accuracy of the table is set in bold (one group: runs on different inputs
    compete too, so a lone run is not bold for being alone). The runs share one fold scheme:
    see :func:`one_scheme` (``scheme`` keeps the runs of that scheme only).
    """
    rows = []
    for run, summary in summarize_matching(store, patterns, scheme=scheme):
        params = {k: v for k, v in (run.params or {}).items() if k not in ("norm", "config")}
        norm = (run.params or {}).get("norm")
        inputs = _inputs_label(run)
        rows.append(
            RunRow(
                summary=summary,
                inputs=inputs,
                model=run.model,
                params=", ".join(f"{k} = {format_value(v)}" for k, v in params.items()) or "-",
                norm=None if norm is None else str(norm),
                group="",
                ranked=run.model != "zeror",
            )
        )
    return rows


def _inputs_label(run: Run) -> str:
    inputs = run.inputs or {}
    if "features" in inputs:
        return f"{inputs['features']['name']}@{inputs['features']['version']}"
    if "runs" in inputs:
        return "fusion of " + ", ".join(inputs["runs"])
    if "model" in inputs:  # fine-tuned audio model
        return f"audio ({Path(str(inputs['model'])).name})"
    return "-"


def one_scheme(runs: list[Run], scheme: str | None) -> tuple[list[Run], list[Run]]:
    """The runs that go into one table, and those left out: with ``scheme``, the runs of that
    fold scheme; without, all runs, when they share one scheme.

    Accuracies over different fold schemes test other actor groupings and do not belong in
    one table unannounced.

    Raises:
        InputError: runs of several schemes and no ``scheme`` (naming each run's scheme), or
            no run of ``scheme`` (listing the schemes the runs use).
    """
    if scheme is None:
        if len({r.scheme for r in runs}) > 1:
            named = ", ".join(f"{r.name} ({r.scheme})" for r in runs)
            raise InputError(
                f"runs of different fold schemes in one table: {named}; "
                "keep the runs of one with --scheme"
            )
        return runs, []
    kept = [r for r in runs if r.scheme == scheme]
    if not kept:
        used = ", ".join(sorted({r.scheme for r in runs}))
        raise InputError(f"--scheme {scheme}: no matching run uses it; the runs use {used}")
    return kept, [r for r in runs if r.scheme != scheme]


def left_out_of_scheme(store: Store, patterns: list[str], scheme: str) -> list[tuple[str, str]]:
    """(run, scheme) of the complete runs matching ``patterns`` that ``--scheme`` leaves out."""
    with store.session() as s:
        runs = resolve_runs(s, patterns)
    return [(r.name, r.scheme) for r in one_scheme(runs, scheme)[1]]


def summarize_matching(
    store: Store, patterns: list[str], *, scheme: str | None = None
) -> list[tuple[Run, RunSummary]]:
    """(run, summary) of every complete run matching ``patterns`` (of one fold scheme, see
    :func:`one_scheme`), over the classes of the dataset's record in its order (the
    confusion matrices' rows and columns, the per-class table's names)."""
    # The metrics depend on each fold's confusion matrix only, so the store counts the
    # (true, predicted) pairs and the metrics take the counts as they are: a few hundred rows
    # cross over instead of one per test clip and run.
    with store.session() as s:
        runs, _ = one_scheme(resolve_runs(s, patterns), scheme)
        rows = s.fetch(
            "SELECT run_id, fold, true_emotion, predicted_emotion, count(*) FROM predictions "
            "WHERE split = 'test' AND run_id IN (SELECT unnest(?)) GROUP BY ALL ORDER BY ALL",
            [[r.id for r in runs]],
        )
        vocabularies = {r.dataset: dataset_vocabulary(s.con, r.dataset) for r in runs}
    per_run: dict[int, dict[int, list[tuple[int, int, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for run_id, fold, true, predicted, n in rows:
        per_run[run_id][fold].append((true, predicted, n))
    summaries = []
    for run in runs:
        vocabulary = vocabularies[run.dataset]
        folds = [
            FoldPredictions(
                fold=fold,
                y_true=vocabulary.index_of([t for t, _, _ in pairs]),
                y_pred=vocabulary.index_of([p for _, p, _ in pairs]),
                counts=np.array([n for _, _, n in pairs]),
            )
            for fold, pairs in sorted(per_run[run.id].items())
        ]
        if not folds:
            raise NotFoundError(f"run '{run.name}' has no test posteriors")
        summaries.append((run, summarize(run.name, folds, labels=vocabulary.labels)))
    return summaries


def export_run(store: Store, run: str, out: Path, fmt: str) -> int:
    """Write a run's posteriors with clip metadata (``sql/export/run_posteriors.sql``) to
    ``out``, atomically."""
    from mmemo.outputs import write_result

    if fmt not in ("parquet", "csv"):
        raise InputError(f"--format {fmt!r}: expected parquet or csv")
    with store.session() as s:
        (found,) = resolve_runs(s, [run])[:1]
        query = read_sql("export/run_posteriors.sql")
        s.ensure_views(query)
        table = s.con.execute(query, {"run": found.name}).to_arrow_table()
    write_result(table, fmt, out)
    return table.num_rows


@dataclass
class Comparison:
    run_a: str
    run_b: str
    n: int
    accuracy_a: float
    accuracy_b: float
    only_a: int  # clips A gets right and B wrong
    only_b: int
    p_value: float
    diff: float
    diff_low: float
    diff_high: float

    def to_json(self) -> dict:
        return asdict(self)


def compare_runs(
    store: Store, a: str, b: str, *, n_boot: int = 10000, seed: int = 2020
) -> Comparison:
    """Paired comparison of two runs on the test clips they share (same scheme and fold):
    McNemar's exact test and a paired bootstrap 95% CI of the accuracy difference."""
    from mmemo.reports.stats import mcnemar_exact, paired_bootstrap_diff

    with store.session() as s:
        run_a, run_b = resolve_runs(s, [a])[0], resolve_runs(s, [b])[0]
        if run_a.scheme != run_b.scheme:
            raise InputError(
                f"{run_a.name} uses scheme {run_a.scheme}, {run_b.name} {run_b.scheme}; "
                "compare runs of one scheme"
            )
        rows = s.fetch(
            "SELECT x.correct, y.correct FROM test_predictions AS x "
            "JOIN test_predictions AS y USING (clip_id, fold) "
            "WHERE x.run_id = ? AND y.run_id = ? ORDER BY clip_id",
            [run_a.id, run_b.id],
        )
    if not rows:
        raise InputError(f"{run_a.name} and {run_b.name} share no test clips")
    correct_a = np.array([r[0] for r in rows], dtype=bool)
    correct_b = np.array([r[1] for r in rows], dtype=bool)
    only_a, only_b, p = mcnemar_exact(correct_a, correct_b)
    diff, low, high = paired_bootstrap_diff(correct_a, correct_b, n_boot=n_boot, seed=seed)
    return Comparison(
        run_a.name,
        run_b.name,
        len(rows),
        float(100.0 * correct_a.mean()),
        float(100.0 * correct_b.mean()),
        int(only_a),
        int(only_b),
        float(p),
        float(diff),
        float(low),
        float(high),
    )


@dataclass(frozen=True)
class LayerPoint:
    """One point of a layer-probing plot: a run's accuracy on one encoder layer.

    Attributes:
        run: Run name.
        line: The line it belongs to: the encoder (the family of the run's feature set: the
            NAME of ``NAME/layer=L``), with the run's model and parameters when one encoder
            has several configurations.
        encoder: The family of the run's feature set, as its record holds it.
        layer: The layer its feature set records (``conv``, ``1``, ...).
        accuracy: Mean test accuracy over folds, %.
        ci95: Half-width of the 95% interval, % points (the report's).
    """

    run: str
    line: str
    encoder: str
    layer: str
    accuracy: float
    ci95: float


def layer_accuracy_rows(store: Store) -> list[tuple]:
    """Rows of ``sql/analysis/layer_accuracy.sql``: (run, encoder, layer, layer_order,
    features, folds, accuracy) of every complete run on one layer of a family of sets, as
    the set's record gives its family (encoder) and layer."""
    query = read_sql("analysis/layer_accuracy.sql").rstrip().rstrip(";")
    with store.session() as s:
        return s.fetch(query)


def layer_points(store: Store, patterns: list[str]) -> list[LayerPoint]:
    """The runs matching ``patterns`` as layer-probing points: encoder and layer from
    :func:`layer_accuracy_rows` (the columns of each run's feature set), accuracy and 95% CI
    from the report's summaries.

    Raises:
        NotFoundError: no run matches.
        InputError: a matching run was not trained on one layer of a family of sets
            (``ENCODER/layer=L``, made by ``embed --layers`` or ``import features --layer``).
    """
    rows = report_rows(store, patterns)
    layered = {row[0]: (row[1], row[2]) for row in layer_accuracy_rows(store)}
    odd = [row.name for row in rows if row.name not in layered]
    if odd:
        more = f" (and {len(odd) - 1} more)" if len(odd) > 1 else ""
        raise InputError(
            f"run '{odd[0]}'{more} was not trained on a feature set named ENCODER/layer=L; "
            "plot layers draws probe runs (train static --features 'NAME/layer=*')"
        )
    configs: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    for row in rows:
        configs[layered[row.name][0]].add((row.model, row.params, row.norm))
    points = []
    for row in rows:
        if row.summary is None:  # report_rows measures every row; literature rows have none
            continue
        encoder, layer = layered[row.name]
        line = encoder
        if len(configs[encoder]) > 1:
            params = "" if row.params == "-" else f", {row.params}"
            norm = {"minmax": ", min-max", "none": "", None: ""}.get(row.norm, f", norm {row.norm}")
            line = f"{encoder}: {row.model}{params}{norm}"
        points.append(
            LayerPoint(
                run=row.name,
                line=line,
                encoder=encoder,
                layer=layer,
                accuracy=row.summary.accuracy,
                ci95=row.summary.ci95,
            )
        )
    return points
