"""mmemo from Python: open a store, query it, load features for your own models, run the jobs
the CLI runs (the same specs, the same executor) and get data back, not text.

Layer 8: the face of the library beside ``mmemo.demo``; it imports any layer below and
nothing imports it but the package root (``mmemo.open``) and the CLI.

>>> import mmemo
>>> with mmemo.open("./demo-store") as store:  # doctest: +SKIP
...     store.sql("SELECT label, count(*) AS n FROM clips GROUP BY label").df()
...     fm = store.features.load("aus:mean", clips="av-speech")
...     for train_idx, test_idx in fm.folds("luna2022"):
...         ...
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmemo.api.features import ClipDataset, FeatureMatrix, load_matrix
from mmemo.errors import InputError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from mmemo.jobs.slurm import Submitted
    from mmemo.reports.metrics import RunSummary
    from mmemo.reports.report import Comparison
    from mmemo.specs import JobSpec
    from mmemo.store.store import Store as _Store


def open(path: str | os.PathLike[str] | None = None, *, create: bool = False) -> Store:  # noqa: A001
    """Open the store at ``path`` (default: ``$MMEMO_STORE``, else ``./mmemo-store``).

    Args:
        path: The store's folder.
        create: Create the store first when there is none (``mmemo init``).

    Returns:
        The store, also a context manager: ``with mmemo.open(path) as store: ...`` closes
        what it opened.

    Raises:
        StoreError: no store at ``path`` (and ``create`` not given), or a damaged one.
    """
    from mmemo.store.store import Store as _Store
    from mmemo.store.store import default_store_path

    root = Path(path) if path is not None else default_store_path()
    inner = _Store.init(root) if create and not _Store(root).exists() else _Store.open(root)
    return Store(inner)


class Store:
    """An open mmemo store (:func:`open`). Tables come back as DuckDB relations (``.df()``,
    ``.to_arrow_table()``, ``.pl()``, ``.fetchnumpy()``); jobs take the CLI's specs and return
    what they made."""

    def __init__(self, inner: _Store) -> None:
        self._inner = inner
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def root(self) -> Path:
        """The store's folder."""
        return self._inner.root

    def __repr__(self) -> str:
        return f"mmemo.Store({str(self.root)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection that holds the relations this store returned (they cannot be
        read afterwards). The store's own connections are closed after every call."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def _relation(self, table: pa.Table) -> duckdb.DuckDBPyRelation:
        """``table`` as a relation of this store's in-memory connection."""
        import duckdb

        if self._con is None:
            self._con = duckdb.connect()
        return self._con.from_arrow(table)

    def _rows(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]):
        import pyarrow as pa

        data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
        return self._relation(pa.table(data) if rows else pa.table({c: [] for c in columns}))

    # -- queries -------------------------------------------------------------------------

    def sql(
        self, query: str, params: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> duckdb.DuckDBPyRelation | None:
        """Run ``query`` (one or more statements) as ``mmemo sql`` does: read-only unless
        ``write``; ``params`` fill its ``$name`` parameters. Returns the last statement's
        result as a relation (None for a statement without one).

        Raises:
            InputError: a statement a read-only query may not run, or a query DuckDB refuses.
        """
        from mmemo.store.query import run_query
        from mmemo.store.recipes import prepare, write_message

        message = write_message(query, None) if write else None
        prepared = prepare(query, dict(params or {}), write_message=message)
        table = run_query(self._inner, prepared, write=write, origin="python")
        return None if table is None else self._relation(table)

    def tables(self) -> duckdb.DuckDBPyRelation:
        """The tables and views users can query, with row counts (``mmemo tables``)."""
        from mmemo.store.inventory import table_overview

        columns = ["table", "kind", "rows", "latest_snapshot"]
        return self._rows(columns, table_overview(self._inner))

    def runs(self) -> duckdb.DuckDBPyRelation:
        """The runs, oldest first (``mmemo runs``); ``store.run(name)`` gives one."""
        from mmemo.store.inventory import run_list

        columns = ["name", "model", "scheme", "clips", "status", "finished"]
        return self._rows(columns, run_list(self._inner))

    def run(self, name: str) -> Run:
        """The run ``name``.

        Raises:
            NotFoundError: no such run.
        """
        from mmemo.store.runs import resolve_runs

        with self._inner.session() as s:
            (found,) = resolve_runs(s, [name])[:1]
        return Run(self, found.name)

    @property
    def features(self) -> Features:
        """The feature sets: ``store.features()`` lists them, ``store.features.load(ref)``
        reads one."""
        return Features(self)

    def report(self, runs: str | Sequence[str]) -> duckdb.DuckDBPyRelation:
        """Cross-validated results of ``runs`` (names or globs), one row per run, as
        ``mmemo report`` measures them: accuracy and its 95% interval, UAR, macro-F1, in %."""
        from mmemo.reports.report import summarize_runs

        summaries = summarize_runs(self._inner, [runs] if isinstance(runs, str) else list(runs))
        columns = ["run", "accuracy", "ci95", "uar", "macro_f1", "n"]
        rows = [(m.run, m.accuracy, m.ci95, m.uar, m.macro_f1, m.n) for m in summaries]
        return self._rows(columns, rows)

    def compare(self, a: str, b: str) -> Comparison:
        """Paired comparison of runs ``a`` and ``b`` on the test clips they share (``mmemo
        compare``): McNemar's exact test and a paired bootstrap 95% CI of the difference."""
        from mmemo.reports.report import compare_runs

        return compare_runs(self._inner, a, b)

    # -- jobs ----------------------------------------------------------------------------

    def train(self, spec: JobSpec, *, progress: Any = None) -> list[Run]:
        """Train ``spec`` (:class:`~mmemo.jobs.specs.StaticSpec`, ``BiLSTMSpec``,
        ``FinetuneSpec``) here, through the executor ``mmemo train`` uses; the runs it made
        (a grid makes several).

        Raises:
            InputError: a spec that is not a training spec, or one the job refuses.
        """
        from mmemo.jobs.specs import TrainSpec

        if not isinstance(spec, TrainSpec):
            raise InputError(f"train takes a training spec; got {type(spec).__name__}")
        return [Run(self, info.name) for info in spec.run(self._inner, progress=progress)]

    def fuse(self, spec: JobSpec) -> Run:
        """Fuse runs as ``spec`` (:class:`~mmemo.jobs.specs.FuseSpec`) says; the fused run."""
        from mmemo.jobs.specs import FuseSpec

        if not isinstance(spec, FuseSpec):
            raise InputError(f"fuse takes a FuseSpec; got {type(spec).__name__}")
        (info,) = spec.run(self._inner)
        return Run(self, info.name)

    def embed(self, spec: JobSpec, *, progress: Any = None) -> list[Any]:
        """Make the feature set(s) ``spec`` describes (:class:`~mmemo.features.embed.EmbedSpec`
        or :class:`~mmemo.features.openface.AuIngestSpec`); a report per set."""
        from mmemo.features.embed import EmbedSpec
        from mmemo.features.openface import AuIngestSpec

        if not isinstance(spec, EmbedSpec | AuIngestSpec):
            raise InputError(f"embed takes an EmbedSpec or AuIngestSpec; got {type(spec).__name__}")
        return spec.run(self._inner, progress=progress)

    def ingest(
        self, corpus: str | Any, sources: Sequence[str | Path], *, strict: bool = False
    ) -> Any:
        """Ingest a corpus's files through its adapter: a registered name (``"ravdess"``,
        ``"crema-d"``, ``"iemocap"``, a plug-in's) or an adapter made with its options
        (:class:`~mmemo.corpora.manifest.ManifestAdapter`,
        :class:`~mmemo.corpora.emobox.EmoBoxAdapter` ...); the ingest's report."""
        from mmemo.corpora.ingest import ingest_corpus

        return ingest_corpus(self._inner, corpus, [Path(s) for s in sources], strict=strict)

    def submit(self, spec: JobSpec, *, tasks: int, options: Sequence[str] = ()) -> Submitted:
        """Submit ``spec`` to Slurm as ``tasks`` array tasks, each running its slice of the
        spec's units (as ``--slurm --tasks N``); ``options`` are sbatch options."""
        from mmemo.jobs.slurm import submit

        return submit(self._inner, spec, tasks=tasks, options=options)

    def import_posteriors(
        self,
        name: str,
        frame: Any,
        *,
        classes: str | Sequence[str],
        kind: str = "logits",
        scheme: str = "luna2022",
        id_col: str | None = None,
    ) -> Run:
        """Store per-clip scores made elsewhere as the run ``name``, checked as ``mmemo import
        posteriors`` checks a file. ``frame`` (a pandas DataFrame or an Arrow table) has a
        clip-id column, ``fold`` and ``split`` (train/test) columns and one score column per
        class of ``classes`` (labels or codes, in the columns' order). The table is written to a
        temporary parquet file (``python-table-NAME.parquet``) that the import reads, as it
        would a user's file: the run records that name and the file's sha256.

        Raises:
            InputError: what the import refuses (unknown clips, a test clip in the wrong fold,
                NaN scores ...); the store is unchanged.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        from mmemo.jobs.specs import ImportSpec

        table = (
            frame
            if isinstance(frame, pa.Table)
            else pa.Table.from_pandas(frame, preserve_index=False)
        )
        if not isinstance(classes, str):
            classes = ",".join(map(str, classes))
        with tempfile.TemporaryDirectory(prefix="mmemo-import-") as tmp:
            path = Path(tmp) / f"python-table-{name.replace('/', '_')}.parquet"
            pq.write_table(table, path)
            spec = ImportSpec(
                name=name,
                files=(str(path),),
                classes=classes,
                id_col=id_col,
                fold_col="fold",
                split_col="split",
                scheme=scheme,
                kind=kind,
            )
            (info,) = spec.run(self._inner)
        return Run(self, info.name)


class Features:
    """The store's feature sets (``store.features``)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __call__(self, sort: str = "newest") -> duckdb.DuckDBPyRelation:
        """The complete feature sets (``mmemo features``), newest first or by ``name``."""
        from mmemo.features.listing import FeatureSetRow, list_feature_sets

        rows, _ = list_feature_sets(self._store._inner, sort)
        columns = [f.name for f in fields(FeatureSetRow)]
        return self._store._rows(columns, [astuple(r) for r in rows])

    def load(self, ref: str, *, clips: str | None = None) -> FeatureMatrix:
        """The feature set ``ref`` (``NAME[@V][:mean]``) for ``clips`` (a selection such as
        ``av-speech`` or a WHERE condition; None: every clip the set holds)."""
        return load_matrix(self._store._inner, ref, clips)


@dataclass(frozen=True)
class Run:
    """A stored run: its record, its results, its scores."""

    store: Store
    name: str

    def __repr__(self) -> str:
        return f"Run({self.name!r})"

    @property
    def record(self) -> dict[str, Any]:
        """The registry's row of the run (model, params, scheme, clips, status, inputs ...)."""
        table = self.store.sql("SELECT * FROM runs WHERE name = $name", {"name": self.name})
        assert table is not None
        (row,) = table.fetchall()
        return dict(zip(table.columns, row, strict=True))

    @property
    def status(self) -> str:
        return str(self.record["status"])

    @property
    def summary(self) -> RunSummary:
        """Its cross-validated results (accuracy ± CI, UAR, macro-F1, per class, confusion)."""
        from mmemo.reports.report import summarize_runs

        (summary,) = summarize_runs(self.store._inner, [self.name])
        return summary

    @property
    def posteriors(self) -> duckdb.DuckDBPyRelation:
        """Its stored scores: one row per fold, split and clip."""
        query = "SELECT * FROM posteriors WHERE run = $name ORDER BY fold, split, clip_id"
        table = self.store.sql(query, {"name": self.name})
        assert table is not None
        return table


__all__ = ["ClipDataset", "FeatureMatrix", "Features", "Run", "Store", "open"]
