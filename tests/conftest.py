"""Shared fixtures: temporary stores, the one synthetic RAVDESS corpus, the tiny wav2vec2
checkpoints, the CLI in-process and the store-state helper that every test directory uses.

Stores are built once per session and restored before each test. A restored store lives at the
same path as the one it was built at, because a DuckLake catalog records its data folder: the
ingested, AU, ZeroR stores (and the stores of ``fusion/conftest.py``) share one folder, so a
test takes one of them. Each store fixture comes in two backends: ``local`` and ``team``
(PostgreSQL + S3, see ``backend``); the ``team`` variants are marked ``slow``.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

# The tests write compiled modules (``__pycache__``, ignored by git) even where
# PYTHONDONTWRITEBYTECODE=1 is set, as on the development machines: without them each
# pytest-xdist worker compiles and assertion-rewrites every test and mmemo module again on every
# run (about 7 s of each worker's collection), and so does each `python -m mmemo` a test starts.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
    sys.dont_write_bytecode = False

from mmemo.testing.stores import TeamBackends, init_store, restorable  # noqa: E402

#: Store backends every store fixture is parametrised over (see ``backend``); the team variants
#: start PostgreSQL and S3 servers and copy databases, so they belong to the slow lane.
BACKENDS = ["local", pytest.param("team", marks=pytest.mark.slow)]

#: Actors of the session's synthetic corpus (2 actors: 624 files; luna2022 folds 4 and 0).
SYNTH_ACTORS = 2
SYNTH_SECONDS = 0.4
#: The full-AV speech videos' OpenFace CSVs (the clips of ``--clips av-speech``).
AV_SPEECH_CSVS = "01-01-*.csv"


class CliResult(NamedTuple):
    """What one in-process ``mmemo`` invocation did."""

    code: int
    out: str
    err: str

    @property
    def err_text(self) -> str:
        """stderr with whitespace (including rich's line wrapping) collapsed to single spaces."""
        return " ".join(self.err.split())

    @property
    def out_text(self) -> str:
        return " ".join(self.out.split())


@pytest.fixture(scope="session")
def synth_corpus(tmp_path_factory: pytest.TempPathFactory):
    """A RAVDESS-shaped corpus of actors 1-2 (all 624 of their files, 416 videos with OpenFace
    CSVs), short clips: the one synthetic corpus of the test suite."""
    from mmemo.corpora.synth import create_ravdess

    root = tmp_path_factory.mktemp("synth") / "RAVDESS"
    return create_ravdess(root, actors=SYNTH_ACTORS, seconds=SYNTH_SECONDS)


@pytest.fixture(scope="session")
def team_backends() -> Iterator[TeamBackends]:
    """A PostgreSQL server (registry and lake catalog) and an S3 server (lake files, models)
    on loopback for the session: team stores live there."""
    from mmemo.testing.servers import find_postgres_bin, postgres_server, s3_server

    if find_postgres_bin() is None:
        pytest.skip(
            "team backends: no PostgreSQL server binary (initdb) on PATH or under "
            "/usr/lib/postgresql (apt install postgresql)"
        )
    with postgres_server() as pg, s3_server() as s3, pytest.MonkeyPatch.context() as env:
        for name, value in {**s3.env, **pg.env}.items():
            env.setenv(name, value)
        backends = TeamBackends(pg, s3)
        s3.create_bucket(backends.bucket)
        yield backends


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> TeamBackends | None:
    """Every test that uses a store fixture runs once per backend: ``local`` (the folder's
    own files) and ``team`` (PostgreSQL + S3), so the two modes cannot drift apart."""
    return request.getfixturevalue("team_backends") if request.param == "team" else None


@pytest.fixture(scope="session")
def tiny_w2v2(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """Tiny wav2vec2 checkpoints (seed 0) by ``stable_layer_norm``: ``True`` is the large/XLSR
    flavour (layer norm, attention mask), ``False`` the base flavour (group norm, no mask).
    Tests read them and never write into them."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from mmemo.testing.tiny_models import build_tiny_wav2vec2

    base = tmp_path_factory.mktemp("tiny-w2v2")
    return {
        flag: build_tiny_wav2vec2(base / ("large" if flag else "base"), stable_layer_norm=flag)
        for flag in (True, False)
    }


@pytest.fixture()
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread for a test: tiny models gain nothing from intra-op threads and
    lose a lot on a busy machine. Does nothing without torch."""
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def _fresh_store_restore(tmp_path_factory: pytest.TempPathFactory, backend) -> Callable[[], Path]:
    base = tmp_path_factory.mktemp("fresh")
    work = base / "store"
    init_store(work, backend)
    return restorable(work, base / "template", backend)


@pytest.fixture(scope="session")
def _ingested_store_restore(
    tmp_path_factory: pytest.TempPathFactory, synth_corpus, backend
) -> Callable[[], Path]:
    from mmemo.corpora.ingest import ingest_ravdess

    base = tmp_path_factory.mktemp("ingested")
    work = base / "store"
    report = ingest_ravdess(init_store(work, backend), [synth_corpus.root])
    assert report.added == len(synth_corpus.files)
    return restorable(work, base / "template", backend)


@pytest.fixture(scope="session")
def _aus_store_restore(_ingested_store_restore, synth_corpus, backend) -> Callable[[], Path]:
    """Template: the ingested store plus the AU frame set ``aus`` (the 120 av-speech clips)."""
    from mmemo.features.openface import AuIngestSpec, ingest_openface
    from mmemo.store.store import Store

    work = _ingested_store_restore()  # shares the ingested store's path (see module docstring)
    report = ingest_openface(
        Store.open(work),
        AuIngestSpec(sources=[str(synth_corpus.openface_dir / AV_SPEECH_CSVS)], name="aus"),
    )
    assert report.clips == 120
    return restorable(work, work.parent / "aus-template", backend)


@pytest.fixture(scope="session")
def _zeror_store_restore(_ingested_store_restore, backend) -> Callable[[], Path]:
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static
    from mmemo.store.store import Store

    work = _ingested_store_restore()  # shares the ingested store's path (see module docstring)
    train_static(
        Store.open(work),
        StaticSpec.one(name="zeror", model="zeror", scheme="luna2022", clips="av-speech"),
    )
    return restorable(work, work.parent / "zeror-template", backend)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``local_only`` skip their ``team`` variant. Every test on team backends is
    ``slow``, also one that asks for ``backend`` "team" itself (``indirect``) or for the
    servers (``team_backends``): it starts PostgreSQL and S3 servers for the session."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        team = callspec is not None and callspec.params.get("backend") == "team"
        if team or "team_backends" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
        marker = item.get_closest_marker("local_only")
        if marker is not None and team:
            why = marker.args[0] if marker.args else "looks at local files"
            item.add_marker(pytest.mark.skip(reason=f"local store only: {why}"))


@pytest.fixture()
def store(_fresh_store_restore):
    """A freshly initialised, empty store (registry at head, lake tables created)."""
    from mmemo.store.store import Store

    return Store.open(_fresh_store_restore())


@pytest.fixture()
def ingested_store(_ingested_store_restore):
    """A store holding the session's synthetic corpus (one ingest); free to change."""
    from mmemo.store.store import Store

    return Store.open(_ingested_store_restore())


@pytest.fixture()
def ingested_store_reset(_ingested_store_restore) -> Callable[[], Any]:
    """``reset()``: put the ingested store back as it was and return it (a second fresh copy
    within one test, at the same path)."""
    from mmemo.store.store import Store

    return lambda: Store.open(_ingested_store_restore())


@pytest.fixture()
def aus_store(_aus_store_restore):
    """The ingested store plus the AU frame set ``aus`` (120 clips); no runs, no schemes."""
    from mmemo.store.store import Store

    return Store.open(_aus_store_restore())


@pytest.fixture()
def zeror_store(_zeror_store_restore):
    """The ingested store plus a ZeroR run 'zeror' (luna2022, av-speech: actors 1-2 are folds 4
    and 0). Uses the ingested store's folder: a test takes this or ``ingested_store``."""
    from mmemo.store.store import Store

    return Store.open(_zeror_store_restore())


@pytest.fixture()
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run ``mmemo ARGS...`` in-process; return :class:`CliResult` (code, out, err)."""
    from mmemo.cli import common
    from mmemo.cli.main import main

    monkeypatch.setenv("COLUMNS", "200")  # wide tables; stderr errors must not rely on it
    for console in (common.console, common.err_console):
        # a rich console keeps the COLUMNS it saw when it was made (the first import of
        # mmemo.cli: in a pytest-xdist worker, 80); without it, it reads COLUMNS as it prints
        monkeypatch.setattr(console, "_width", None)
    monkeypatch.setenv("MMEMO_LOCK_TIMEOUT", "1")
    monkeypatch.delenv("MMEMO_DEBUG", raising=False)

    def run(*args: Any) -> CliResult:
        capsys.readouterr()
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture()
def store_cli(cli):
    """``store_cli(store, *args)``: ``mmemo --store STORE ARGS...`` in-process (see ``cli``);
    ``store`` is a Store or its folder (a ``Path``'s own ``root`` is ``/``: not that)."""
    from mmemo.store.store import Store

    def run(store: Any, *args: Any) -> CliResult:
        return cli("--store", store.root if isinstance(store, Store) else store, *args)

    return run


@pytest.fixture()
def predicts_its_posteriors(store_cli) -> Callable[..., None]:
    """``predicts_its_posteriors(store, run, clips=None, atol=0)``: ``mmemo predict RUN``
    (on ``--clips`` when given) scores the run's test clips as its stored test posteriors."""
    import json

    import numpy as np

    def check(store: Any, run: str, clips: str | None = None, atol: float = 0.0) -> None:
        selection = ["--clips", clips] if clips is not None else []
        result = store_cli(store, "predict", run, *selection, "--format", "json")
        assert result.code == 0, result.err
        predicted = {r["clip_id"]: r["scores"] for r in json.loads(result.out)}
        with store.session() as s:
            query = "SELECT clip_id, scores FROM posteriors WHERE run = ? AND split = 'test'"
            stored = dict(s.fetch(query, [run]))
        assert predicted.keys() == stored.keys()
        for clip, scores in stored.items():
            np.testing.assert_allclose(predicted[clip], scores, rtol=0, atol=atol)

    return check


@pytest.fixture()
def run_row() -> Callable[..., Any]:
    """``run_row(store, name)``: the registry row of a run (detached from its session)."""

    def get(store: Any, name: str):
        import sqlalchemy as sa

        from mmemo.store.schema import Run

        with store.session() as s, s.orm() as orm:
            run = orm.scalars(sa.select(Run).where(Run.name == name)).one()
            orm.expunge(run)
            return run

    return get


def _store_state(store) -> dict[str, Any]:
    """Everything a failed command must leave as it was: the newest lake snapshot, the lake's
    row counts and the registry rows of ingests, runs, feature sets and fold assignments."""
    from mmemo.store.inventory import REGISTRY_TABLES

    with store.session(check_schema=False) as s:
        # one transaction: DuckLake reads its catalog once, not once per statement
        s.con.execute("BEGIN TRANSACTION")
        try:
            state: dict[str, Any] = {"snapshot": s.current_snapshot()}
            for table in s.lake_tables():
                count = s.con.execute(f"SELECT count(*) FROM lake.{table}").fetchone()
                state[f"lake.{table}"] = count
            for table in REGISTRY_TABLES:
                rows = s.con.execute(f"SELECT * FROM {table}").fetchall()
                state[table] = sorted(rows, key=repr)
        finally:
            s.con.execute("ROLLBACK")
    return state


@pytest.fixture(scope="session")
def store_state() -> Callable[[Any], dict[str, Any]]:
    """``store_state(store)``: snapshot id, lake row counts and registry rows, for equality."""
    return _store_state


@pytest.fixture()
def lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers wait at most 1 s for a busy store."""
    monkeypatch.setenv("MMEMO_LOCK_TIMEOUT", "1")


@pytest.fixture()
def small_corpus(synth_corpus, tmp_path: Path) -> Iterator[Path]:
    """A folder with copies of a few files of the synthetic corpus (2 WAV, 1 MP4)."""
    folder = tmp_path / "small" / "Actor_01"
    folder.mkdir(parents=True)
    wanted = ["03-01-01-01-01-01-01.wav", "03-01-05-02-01-01-01.wav", "01-01-03-01-02-01-01.mp4"]
    for name in wanted:
        shutil.copy(synth_corpus.root / "Actor_01" / name, folder / name)
    yield folder.parent


@pytest.fixture(scope="session")
def _slurm_cluster():
    """A real single-node Slurm (munged, slurmctld, slurmd) for the session; skips where the
    binaries or root are missing (``apt-get install slurm-wlm munge``)."""
    from mmemo.testing.slurm import missing, slurm_cluster

    reason = missing()
    if reason:
        pytest.skip(f"no Slurm here: {reason}")
    with slurm_cluster() as cluster:  # in /tmp: munged runs as its own user and must reach it
        yield cluster


@pytest.fixture()
def slurm(_slurm_cluster, cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The session's Slurm cluster, with this test's environment pointing at it (the tasks get
    it too: sbatch exports the submitting environment) and a temporary working folder (where
    the tasks' slurm-*.out logs go). Jobs left over are cancelled after the test."""
    import subprocess

    monkeypatch.chdir(tmp_path)
    for key, value in _slurm_cluster.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MMEMO_LOCK_TIMEOUT", "120")  # tasks of a local store take turns
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield _slurm_cluster
    subprocess.run(["scancel", "--user", "root"], check=False, capture_output=True)
    _slurm_cluster.wait_idle()
