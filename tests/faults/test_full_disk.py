"""A full disk (issue 21): a job that runs out of space says so in one line naming the store,
removes the partial lake files it was writing and leaves the store as it was; ``mmemo gc``
removes lake files that no snapshot references, and works while the disk is still full (it
only deletes); once space is back, a re-run gives what an uninterrupted run gives.

The disks are tmpfs mounts (root only; CI runs as root) filled with a filler file to leave a
few kilobytes or megabytes, so that a job's lake write runs out of space part-way. The oracles
are outside the code under test: the exit status and stderr of a ``python -m mmemo`` process,
the store's state, the parquet files on disk against the files DuckLake lists for each table
(``ducklake_list_files``), ``mmemo doctor``, and the rows of the same job run on a roomy disk.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mmemo.store.store import Store

#: A full disk is a local store's (team stores keep their lake files on S3).
LOCAL = pytest.mark.parametrize("backend", ["local"], indirect=True)
TEAM = pytest.mark.parametrize("backend", ["team"], indirect=True)
#: Why a job on a disk with (almost) no byte free still fails in more than one line or leaves
#: its entry behind: the first write of every write session is the store's holder note.

#: The full-AV speech videos' OpenFace CSVs: 120 files, a 4.8 MB au_frames file with --keep-all.
AV_SPEECH_CSVS = "01-01-*.csv"
#: 60 clips of actor 1 (full-AV speech): a 0.6 MB frame_vectors file with --frames.
EMBED_CLIPS = "modality = 1 AND vocal_channel = 1 AND actor = 1"


# -- disks -----------------------------------------------------------------------------------


@pytest.fixture()
def small_disk() -> Iterator[Callable[[Path, str], Path]]:
    """``small_disk(folder, size)``: mount a tmpfs of ``size`` (``64m``) on ``folder``; it is
    unmounted after the test. Skips where mounting is not permitted."""
    mounted: list[Path] = []

    def mount(folder: Path, size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("a full disk is a tmpfs mount, which needs root (CI runs as root)")
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", str(folder)], check=True)


def _fill(disk: Path, leave: int) -> Path:
    """Take all but ``leave`` bytes of ``disk`` with a filler file (not a parquet file, outside
    the lake's tables); return it (delete it to free the space)."""
    filler = disk / "filler"
    stat = os.statvfs(disk)
    size = stat.f_bavail * stat.f_frsize - leave
    with open(filler, "ab") as out:
        os.posix_fallocate(out.fileno(), out.tell(), size)
    return filler


def _free_bytes(disk: Path) -> int:
    stat = os.statvfs(disk)
    return stat.f_bavail * stat.f_frsize


def _copy(source: Store, folder: Path) -> Store:
    """A copy of ``source``'s folder at ``folder`` (a local catalog is opened with its data
    folder overridden, so a copied folder is a working store)."""
    shutil.copytree(source.root, folder)
    return Store.open(folder)


def _lake_on_disk(store: Store, disk: Callable[[Path, str], Path], size: str) -> Path:
    """Put ``store``'s lake data folder (only) on a tmpfs of ``size``, with its files: the
    registry and the catalog keep their room, so the job fails in its lake write."""
    saved = store.root.parent / "lake-before-mount"
    shutil.copytree(store.paths.data, saved)
    disk(store.paths.data, size)
    shutil.copytree(saved, store.paths.data, dirs_exist_ok=True)
    shutil.rmtree(saved)
    return store.paths.data


# -- oracles ---------------------------------------------------------------------------------


def _mmemo(store: Store, *args: object) -> subprocess.CompletedProcess[str]:
    """``python -m mmemo --store STORE ARGS...`` in a process of its own: what a user sees."""
    env = {**os.environ, "MMEMO_LOCK_TIMEOUT": "1", "OMP_NUM_THREADS": "1"}
    env.pop("MMEMO_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "mmemo", "--store", str(store.root), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def _says_disk_full(
    done: subprocess.CompletedProcess[str], store: Store, progress: str | None = None
) -> str:
    """Exit status 2 and one line on stderr naming the store and saying the disk is full;
    return that line. Before it come the command's progress lines if a task took long enough
    to print one (a second or more: it depends on the machine's load), each starting with
    ``progress``, the command's label."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    *before, line = done.stderr.strip().splitlines()
    assert all(progress and b.startswith(progress) for b in before), done.stderr
    assert line.startswith("error: "), line
    assert f"store {store.root}:" in line, line
    assert "no space left on device" in line, line
    assert "free space and run it again" in line, line
    return line


def _parquet_files(store: Store) -> set[str]:
    return {str(p) for p in store.paths.data.rglob("*.parquet")}


def _unreferenced(store: Store) -> set[str]:
    """Parquet files in the lake's data folder that no table of the current snapshot lists (the
    lake is append-only and never compacted here, so the current snapshot lists every file
    any snapshot references)."""
    with store.session() as s:
        listed: set[str] = set()
        for table in s.lake_tables():
            rows = s.con.execute(
                "SELECT data_file, delete_file FROM ducklake_list_files('lake', ?)", [table]
            ).fetchall()
            listed |= {path for row in rows for path in row if path}
    return _parquet_files(store) - listed


def _doctor_ok(store_cli, store: Store) -> None:
    doctor = store_cli(store, "doctor")
    assert doctor.code == 0, doctor.out + doctor.err


def _rows(store: Store, query: str) -> list[tuple]:
    with store.session() as s:
        return s.fetch(query)


# -- jobs that run out of space --------------------------------------------------------------


@LOCAL
@pytest.mark.slow
def test_ingest_openface_keep_all_on_a_full_disk_is_one_line_and_leaves_the_store_as_it_was(
    ingested_store, synth_corpus, small_disk, tmp_path, store_cli, store_state
):
    disk = small_disk(tmp_path / "disk", "64m")
    store = _copy(ingested_store, disk / "store")
    filler = _fill(disk, leave=2 * 1024 * 1024)  # the AU rows need 4.8 MB
    before, files = store_state(store), _parquet_files(store)
    csvs = synth_corpus.openface_dir / AV_SPEECH_CSVS

    failed = _mmemo(store, "ingest", "openface", csvs, "--name", "aus", "--keep-all")

    line = _says_disk_full(failed, store, progress="ingest openface:")
    assert "writing to the lake (feature set 1 'aus' v1" in line  # what it was doing
    assert store_state(store) == before
    assert _parquet_files(store) == files  # the partial au_frames file went on the way out
    assert _free_bytes(disk) >= 2 * 1024 * 1024 - 64 * 1024
    _doctor_ok(store_cli, store)

    filler.unlink()  # space is back: the re-run is an uninterrupted run's equal
    again = store_cli(store, "ingest", "openface", csvs, "--name", "aus", "--keep-all")
    assert again.code == 0, again.err
    whole = store_cli(ingested_store, "ingest", "openface", csvs, "--name", "aus", "--keep-all")
    assert whole.code == 0, whole.err
    query = "SELECT * FROM au_frames ORDER BY clip_id, frame"
    got, want = _rows(store, query), _rows(ingested_store, query)
    assert len(got) == 1448 and got == want
    assert _unreferenced(store) == set()
    _doctor_ok(store_cli, store)


@LOCAL
@pytest.mark.slow
def test_embed_frames_on_a_full_disk_is_one_line_and_resumes_to_an_uninterrupted_set(
    ingested_store, small_disk, tmp_path, store_cli, tiny_w2v2, one_torch_thread
):
    store = _copy(ingested_store, tmp_path / "store")
    lake = _lake_on_disk(store, small_disk, "2m")
    filler = _fill(lake, leave=256 * 1024)  # the frame vectors need 0.6 MB
    files = _parquet_files(store)
    visible = "SELECT count(*) FROM clip_vectors UNION ALL SELECT count(*) FROM frame_vectors"
    shown = _rows(store, visible)
    tiny = tiny_w2v2[True]

    failed = _mmemo(store, "embed", tiny, "--name", "e", "--frames", "--clips", EMBED_CLIPS)

    _says_disk_full(failed, store, progress="embed:")
    # embed keeps an unfinished set for the next call to resume (its committed chunks are
    # hidden until it completes); nothing of it shows and no partial file stays
    assert _rows(store, visible) == shown
    assert _parquet_files(store) == files
    _doctor_ok(store_cli, store)

    filler.unlink()
    args = ("embed", tiny, "--name", "e", "--frames", "--clips", EMBED_CLIPS)
    again = store_cli(store, *args)
    assert again.code == 0, again.err
    whole = store_cli(ingested_store, *args)
    assert whole.code == 0, whole.err
    for query in (
        "SELECT clip_id, ordinal, vector FROM clip_vectors ORDER BY clip_id",
        "SELECT clip_id, frame, vector FROM frame_vectors ORDER BY clip_id, frame",
    ):
        got, want = _rows(store, query), _rows(ingested_store, query)
        assert got and got == want, query
    assert _unreferenced(store) == set()
    _doctor_ok(store_cli, store)


@LOCAL
@pytest.mark.slow
def test_ingest_ravdess_with_a_full_lake_folder_is_one_line_and_leaves_the_store_as_it_was(
    store, ingested_store, synth_corpus, small_disk, store_cli, store_state
):
    lake = _lake_on_disk(store, small_disk, "1m")
    filler = _fill(lake, leave=16 * 1024)  # the clip rows need 58 kB
    before, files = store_state(store), _parquet_files(store)
    actors = sorted(synth_corpus.root.glob("Actor_*"))

    failed = _mmemo(store, "ingest", "ravdess", *actors)

    _says_disk_full(failed, store, progress="ingest ravdess:")
    assert store_state(store) == before
    assert _parquet_files(store) == files
    _doctor_ok(store_cli, store)

    filler.unlink()
    again = store_cli(store, "ingest", "ravdess", *actors)
    assert again.code == 0, again.err
    query = "SELECT * EXCLUDE (ingest_id) FROM clips ORDER BY clip_id"
    got, want = _rows(store, query), _rows(ingested_store, query)
    assert len(got) == 624 and got == want
    assert _unreferenced(store) == set()


@LOCAL
@pytest.mark.slow
def test_ingest_ravdess_with_the_whole_store_on_a_nearly_full_disk_is_one_line_at_any_room(
    store, synth_corpus, small_disk, tmp_path, store_state
):
    """Where the registry and the catalog are short of room too, the job fails wherever the
    room ends (registering, writing the lake, completing, cleaning up): each time in one line,
    with the store as it was (the lake write fails from 8 kB to 800 kB, the registry at
    4 kB; the writer note, mmemo.store.writer_note, at 0)."""
    disk = small_disk(tmp_path / "disk", "64m")
    actors = sorted(synth_corpus.root.glob("Actor_*"))
    for leave in (800, 512, 64, 4):  # kB
        copy = _copy(store, disk / f"store-{leave}")
        before, files = store_state(copy), _parquet_files(copy)
        filler = _fill(disk, leave=leave * 1024)

        failed = _mmemo(copy, "ingest", "ravdess", *actors)

        _says_disk_full(failed, copy, progress="ingest ravdess:")
        assert store_state(copy) == before, leave
        assert _parquet_files(copy) == files, leave
        assert not copy.paths.holder.exists(), leave
        filler.unlink()
        shutil.rmtree(copy.root)


@LOCAL
@pytest.mark.slow
def test_a_model_file_on_a_full_disk_is_one_line_and_the_run_is_not_kept(
    ingested_store, small_disk, tmp_path, store_cli, store_state
):
    """A job's own files (here the model files ``train`` saves) meet the full disk outside the
    store's writers: the command line's store is named all the same."""
    store = _copy(ingested_store, tmp_path / "store")
    filler = _fill(small_disk(store.paths.models, "64k"), leave=0)
    before = store_state(store)
    args = ("train", "static", "--model", "zeror", "--clips", "av-speech", "--name", "z")

    failed = _mmemo(store, *args)

    _says_disk_full(failed, store, progress="train static:")
    assert store_state(store) == before
    assert sorted(p.name for p in store.paths.models.iterdir()) == ["filler"]

    filler.unlink()
    again = store_cli(store, *args)
    assert again.code == 0, again.err
    whole = store_cli(ingested_store, *args)
    assert whole.code == 0, whole.err
    query = "SELECT * EXCLUDE (run_id) FROM lake.posteriors ORDER BY ALL"
    got, want = _rows(store, query), _rows(ingested_store, query)
    assert got and got == want


@pytest.mark.slow
def test_publishing_model_files_to_a_full_data_folder_is_one_line_and_leaves_no_copy(
    synth_corpus, small_disk, tmp_path, cli, store_state
):
    """A store whose data lives in a shared folder publishes each run's model files there
    (mmemo.store.backends.Artefacts): that folder's disk being full is the store's one line."""
    data, root = tmp_path / "shared", tmp_path / "store"
    assert cli("--store", root, "init", "--data", data).code == 0  # (a Path's .root is "/")
    actors = sorted(synth_corpus.root.glob("Actor_*"))
    assert cli("--store", root, "ingest", "ravdess", *actors).code == 0
    store = Store.open(root)
    saved = tmp_path / "shared-before-mount"
    shutil.copytree(data, saved)
    small_disk(data, "1m")
    shutil.copytree(saved, data, dirs_exist_ok=True)
    _fill(data, leave=0)
    before = store_state(store)

    failed = _mmemo(
        store, "train", "static", "--model", "zeror", "--clips", "av-speech", "--name", "z"
    )

    line = _says_disk_full(failed, store, progress="train static:")
    assert f"while publishing run-1 to {data}" in line
    assert store_state(store) == before
    assert list((data / "models").iterdir()) == []
    assert not store.paths.models.joinpath("run-1").exists()


# -- gc --------------------------------------------------------------------------------------

#: A writer killed part-way through its lake write: its ingest is registered (``running``) and
#: the file it was writing is on disk, named as DuckLake names data files, referenced by nothing.
KILLED_WRITER = textwrap.dedent(
    """
    import os, shutil, signal, sys
    from mmemo.store.lifecycle import staged
    from mmemo.store.store import Store

    store = Store.open(sys.argv[1])
    fields = dict(dataset="ravdess", sources=[], n_files=0, n_added=0)
    with staged(store, "ingests", **fields):
        shutil.copyfile(sys.argv[2], sys.argv[3])
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _killed_writer(store: Store) -> str:
    """Leave what a writer killed part-way leaves; return the path of its partial file."""
    table = store.paths.data / "main" / "clips"
    source = next(table.glob("*.parquet"))
    partial = table / "ducklake-01a24bf0-0000-7000-8000-000000000000.parquet"
    job = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(store.root), str(source), str(partial)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert job.returncode == -signal.SIGKILL, job.stderr
    assert partial.exists()
    return str(partial)


@LOCAL
@pytest.mark.slow
def test_gc_removes_a_killed_writers_partial_file_while_the_disk_is_full(
    ingested_store, small_disk, tmp_path, store_cli, store_state
):
    disk = small_disk(tmp_path / "disk", "64m")
    store = _copy(ingested_store, disk / "store")
    before, files = store_state(store), _parquet_files(store)
    partial = _killed_writer(store)
    assert _unreferenced(store) == {partial}
    # the page the writer's last write could not fill: as full as a failed write leaves it
    _fill(disk, leave=4096)

    gc = _mmemo(store, "gc")

    assert gc.returncode == 0, gc.stderr
    assert "removed 1 unfinished ingests" in gc.stdout
    assert "1 unreferenced lake file(s)" in gc.stdout
    assert _parquet_files(store) == files
    assert store_state(store) == before
    _doctor_ok(store_cli, store)
    again = store_cli(store, "gc")
    assert again.code == 0 and "nothing to clean" in again.out_text


@LOCAL
@pytest.mark.slow
def test_gc_works_with_not_one_byte_free(ingested_store, small_disk, tmp_path, store_state):
    disk = small_disk(tmp_path / "disk", "64m")
    store = _copy(ingested_store, disk / "store")
    before, files = store_state(store), _parquet_files(store)
    _killed_writer(store)
    _fill(disk, leave=0)

    gc = _mmemo(store, "gc")

    assert gc.returncode == 0, gc.stderr
    assert _parquet_files(store) == files
    assert store_state(store) == before
    assert not (store.root / ".writer.json").exists()


#: A writer with a lake transaction open whose data file is written but not yet committed.
IN_FLIGHT_WRITER = textwrap.dedent(
    """
    import sys
    from mmemo.store.store import Store

    with Store.open(sys.argv[1]).session(write=True) as s:
        s.con.execute("CREATE TABLE lake.scratch (i BIGINT)")
        s.con.execute("BEGIN TRANSACTION")
        s.con.execute("INSERT INTO lake.scratch SELECT range FROM range(20000)")
        print("written", flush=True)
        sys.stdin.readline()
        s.con.execute("COMMIT")
    """
)


@LOCAL
@pytest.mark.slow
def test_gc_leaves_the_files_of_a_writer_that_holds_the_store_alone(ingested_store, store_cli):
    """A local store has one writer at a time: gc waits for it (and gives up after the lock
    timeout) rather than take the files of its open transaction for orphans."""
    writer = subprocess.Popen(
        [sys.executable, "-c", IN_FLIGHT_WRITER, str(ingested_store.root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "written"
        in_flight = _parquet_files(ingested_store)
        gc = store_cli(ingested_store, "gc")
        assert gc.code == 2 and "is busy" in gc.err_text
        assert _parquet_files(ingested_store) == in_flight
    finally:
        writer.communicate("commit\n", timeout=120)
    assert writer.returncode == 0
    assert _rows(ingested_store, "SELECT count(*) FROM lake.scratch") == [(20000,)]
    assert _unreferenced(ingested_store) == set()


@TEAM
@pytest.mark.slow
def test_gc_on_a_shared_catalog_leaves_unreferenced_files_alone_until_they_are_old(
    ingested_store, team_backends
):
    """On a team store other writers work while gc runs: an open transaction's file is not
    yet referenced, so gc takes only files older than the lake's ``delete_older_than``."""
    from mmemo.store.gc import collect_garbage

    client, bucket = team_backends.s3.client(), team_backends.bucket
    prefix = ingested_store.config.data.removeprefix(f"s3://{bucket}/")
    orphan = f"{prefix}/lake/main/clips/ducklake-01a24bf0-0000-7000-8000-000000000000.parquet"
    client.put_object(Bucket=bucket, Key=orphan, Body=b"PAR1 partial")

    def keys() -> set[str]:
        listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/lake/")
        return {o["Key"] for o in listed.get("Contents", [])}

    with ingested_store.session(write=True) as writer:
        writer.con.execute("CREATE TABLE lake.scratch (i BIGINT)")
        writer.con.execute("BEGIN TRANSACTION")
        before = keys()
        writer.con.execute("INSERT INTO lake.scratch SELECT range FROM range(20000)")
        in_flight = keys()
        assert len(in_flight - before) == 1  # the open transaction's file, unreferenced yet
        assert collect_garbage(ingested_store).lake_files == []
        assert keys() == in_flight
        writer.con.execute("COMMIT")
    assert _rows(ingested_store, "SELECT count(*) FROM lake.scratch") == [(20000,)]

    with ingested_store.session(write=True) as s:
        s.con.execute("CALL lake.set_option('delete_older_than', '1 second')")
    time.sleep(2)
    removed = collect_garbage(ingested_store)
    assert removed.lake_files == [f"s3://{bucket}/{orphan}"]
    assert "1 unreferenced lake file(s)" in removed.describe()
    assert keys() == in_flight - {orphan}
    assert _rows(ingested_store, "SELECT count(*) FROM lake.scratch") == [(20000,)]
    assert _rows(ingested_store, "SELECT count(*) FROM clips") == [(624,)]
