"""``mmemo ingest openface``: OpenFace 2.0 CSVs (one per video) into a versioned AU frame set.

The bulk path parses the files with ``pyarrow.csv`` (only the kept columns converted, typed
up front; several files at a time on threads), no Python loop over rows. A file that does not
parse that way is read again with DuckDB's CSV reader, whose reject tables report values that
are not numbers with file, line and column.

Columns are named by position, not by header text: OpenFace writes names that differ only by
case (2-D landmarks ``x_0`` and 3-D landmarks ``X_0``), which SQL identifiers do not tell
apart (DuckDB would rename the second ``X_0_1``). So the reader gets its own names (the
required columns under theirs, every other column ``_c{position}``) and ``--keep-all`` maps each
header name, bound as a value, to the column at its position.
"""

from __future__ import annotations

import csv
import glob
import os
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from mmemo.corpora.openface_columns import AU_COLUMNS, FRAME_COLUMNS
from mmemo.corpora.sources import member_escapes
from mmemo.errors import InputError
from mmemo.features.sets import (
    Shard,
    begin_feature_set,
    commit_rows,
    find_complete,
    finish_shard,
    write_feature_set,
)
from mmemo.hashing import sha256_file
from mmemo.progress import NullProgress, Progress
from mmemo.sqltext import ident
from mmemo.store.store import Store

REQUIRED = FRAME_COLUMNS + AU_COLUMNS
#: Files per read: progress moves per chunk; the files of a chunk are read in parallel.
READ_CHUNK = 256


@dataclass
class OpenFaceReport:
    name: str = ""
    version: int = 0
    existing: bool = False
    files: int = 0
    clips: int = 0
    frames: int = 0
    dropped_frames: int = 0
    bad: list[str] = field(default_factory=list)
    snapshot_id: int | None = None


def clip_id_of(path: Path | str) -> str:
    """The clip id a CSV stands for: its file name without (repeated) ``.csv``."""
    name = PurePosixPath(str(path)).name
    while name.lower().endswith(".csv"):
        name = name[:-4]
    return name


def ingest_openface(
    store: Store,
    sources: list[str],
    *,
    name: str,
    min_confidence: float | None = None,
    success_only: bool = False,
    keep_all: bool = False,
    skip_bad: bool = False,
    shard: Shard | None = None,
    progress: Progress | None = None,
) -> OpenFaceReport:
    """Read OpenFace CSVs (directories, zips or globs) into the AU frame set ``name``.

    With ``shard``, only that slice of the files (in clip id order) is read; every shard
    names all the files, and the set is complete when each shard has committed its slice.

    Raises:
        InputError: a missing source; or any bad file (missing AU columns, non-numeric
            values, clip unknown to the store) unless ``skip_bad``; the store is unchanged.
    """
    progress = progress or NullProgress()
    report = OpenFaceReport(name=name)
    params = {
        "min_confidence": min_confidence,
        "success_only": success_only,
        "keep_all": keep_all,
        "columns": list(REQUIRED),
    }
    if shard is not None and skip_bad:
        raise InputError(
            "--shard cannot be combined with --skip-bad: every shard must agree on the files"
        )
    with tempfile.TemporaryDirectory(prefix="mmemo-openface-") as tmp:
        files = _collect(sources, Path(tmp))
        every_key = None
        if shard is not None:
            files = sorted(files, key=lambda p: (clip_id_of(p), str(p)))
            every_key = [(clip_id_of(p), sha256_file(p)) for p in files]
            files = shard.take(files)
        report.files = len(files)
        with store.session() as s:
            known = {r[0] for r in s.fetch("SELECT clip_id FROM clips WHERE has_video")}
        by_clip: dict[str, Path] = {}
        layouts: dict[str, list[Path]] = {}
        hashes: dict[Path, str] = {}
        with progress.task("checking CSV headers", len(files)) as task:
            for path in files:
                problem, header = _check_file(path, known, by_clip)
                task.advance()
                if problem:
                    report.bad.append(f"{path}: {problem}")
                    continue
                by_clip[clip_id_of(path)] = path
                layouts.setdefault(header, []).append(path)
        if not layouts and (skip_bad or not report.bad):
            _nothing_usable(sources, report.bad)
        if skip_bad or not report.bad:  # nothing to do? The fingerprint says, before parsing
            if every_key is None:
                hashes = _hash_files(sorted(by_clip.items()), progress)
            keys = every_key or [(c, hashes[p]) for c, p in sorted(by_clip.items())]
            done = find_complete(
                store,
                name=name,
                kind="au_frames",
                clip_keys=keys,
                accept=lambda fs: fs.params == params,
            )
            if done is not None:
                report.version, report.existing = done.version, True
                report.clips = len(keys)
                return report
        table, rejected = _read_all(layouts, keep_all=keep_all, progress=progress)
        for file, line, column, message in rejected:
            report.bad.append(f"{file}: line {line}, column {column}: {message}")
        if report.bad and not skip_bad:
            more = f" (and {len(report.bad) - 1} more bad file(s))" if len(report.bad) > 1 else ""
            raise InputError(f"{report.bad[0]}{more}; nothing was ingested (--skip-bad skips them)")
        bad_files = {str(f) for f, *_ in rejected}
        table = _filter(table, bad_files, min_confidence, success_only, report)
        clip_keys = every_key or [
            (clip_id_of(p), hashes.get(p) or sha256_file(p))
            for c, p in sorted(by_clip.items())
            if str(p) not in bad_files
        ]
    if not clip_keys:
        _nothing_usable(sources, report.bad)
    job = begin_feature_set(
        store,
        name=name,
        kind="au_frames",
        params=params,
        inputs={"sources": [str(s) for s in sources], "files": len(clip_keys)},
        clip_keys=clip_keys,
        shard=shard,
    )
    report.version, report.existing = job.version, job.existing
    report.clips = len(clip_keys)
    if job.existing:
        return report
    if shard is not None:
        mine = sorted(by_clip)
        if not set(mine) & job.done:  # one commit per shard: a re-run after it adds nothing
            commit_rows(store, job, {"au_frames": table}, f"shard {shard}: {len(mine)} clip(s)")
        report.snapshot_id = finish_shard(
            store, job, shard, dim=len(AU_COLUMNS), n_clips=len(clip_keys)
        )
        return report
    report.snapshot_id = write_feature_set(
        store,
        job,
        {"au_frames": table},
        f"{len(clip_keys)} clip(s) of OpenFace AUs",
        dim=len(AU_COLUMNS),
        n_clips=len(clip_keys),
    )
    return report


def _nothing_usable(sources: list[str], bad: list[str]) -> None:
    """Every file was bad (or there was none): one line that says so and names the first."""
    where = ", ".join(map(str, sources))
    if not bad:
        raise InputError(f"no OpenFace CSV files in {where}")
    more = f" (and {len(bad) - 1} more problem(s))" if len(bad) > 1 else ""
    raise InputError(f"no usable OpenFace CSV files in {where}: every file is bad; {bad[0]}{more}")


def _hash_files(items: list[tuple[str, Path]], progress: Progress) -> dict[Path, str]:
    """Content hash of each file (the fingerprint's clip keys)."""
    hashes: dict[Path, str] = {}
    with progress.task("hashing CSV files", len(items)) as task:
        for _, path in items:
            hashes[path] = sha256_file(path)
            task.advance()
    return hashes


def _collect(sources: list[str], tmp: Path) -> list[Path]:
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if any(ch in source for ch in "*?["):
            matched = sorted(Path(p) for p in glob.glob(source, recursive=True))
            if not matched:
                raise InputError(f"{source}: the pattern matches no file")
            files += [p for p in matched if p.is_file()]
        elif path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and ".csv" in p.name.lower())
        elif path.suffix.lower() == ".zip":
            files += _extract_zip(path, tmp / f"zip{len(files)}")
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{source}: no such file or directory")
    return files


def _extract_zip(archive: Path, target: Path) -> list[Path]:
    out = []
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir() or ".csv" not in info.filename.lower():
                    continue
                if member_escapes(info.filename):
                    raise InputError(
                        f"{archive}: member {info.filename!r} would escape the target folder"
                    )
                dest = target / info.filename
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(info))
                out.append(dest)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{archive}: not a readable zip archive ({exc})") from None
    return sorted(out)


def _check_file(path: Path, known: set[str], seen: dict[str, Path]) -> tuple[str | None, str]:
    clip = clip_id_of(path)
    if clip not in known:
        return f"clip id '{clip}' is not a video clip in the store", ""
    if clip in seen:
        return f"second file for clip '{clip}' (first: {seen[clip]})", ""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
    except OSError as exc:
        return f"cannot read ({exc.strerror})", ""
    names = set(_header_names(header))
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        return f"missing column(s) {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}", ""
    return None, header.strip()


def _header_names(header: str) -> list[str]:
    """The column names of a CSV header line, parsed as CSV and stripped of spaces."""
    return [c.strip() for c in next(csv.reader([header], skipinitialspace=True), [])]


def _reader_names(names: list[str]) -> list[str]:
    """Names the CSV reader gives the columns: a required column (first occurrence) keeps its
    name, every other column is ``_c{position}``, so that no two differ only by case."""
    seen: set[str] = set()
    out = []
    for i, name in enumerate(names):
        if name in REQUIRED and name not in seen:
            seen.add(name)
            out.append(name)
        else:
            out.append(f"_c{i}")
    return out


def _read_all(
    layouts: dict[str, list[Path]], *, keep_all: bool, progress: Progress | None = None
) -> tuple[pa.Table, list[tuple[str, int, str, str]]]:
    """Read each header layout's files in chunks of up to :data:`READ_CHUNK` files (so that
    progress moves per chunk); return rows and rejected values.

    Files are parsed by ``pyarrow.csv`` (only the kept columns converted, typed up front),
    several at a time on a thread pool; a file that does not parse that way (a value that is not
    a number, a short row) is read again by DuckDB's reader, whose reject tables name the file,
    line and column.
    """
    progress = progress or NullProgress()
    con: duckdb.DuckDBPyConnection | None = None
    parts: list[pa.Table] = []
    rejected: list[tuple[str, int, str, str]] = []
    chunks = [
        (header, paths[i : i + READ_CHUNK])
        for header, paths in layouts.items()
        for i in range(0, len(paths), READ_CHUNK)
    ]
    total = sum(len(paths) for paths in layouts.values())
    with (
        progress.task("reading CSV files", total) as task,
        ThreadPoolExecutor(max_workers=READ_THREADS) as pool,
    ):
        for header, paths in chunks:
            table, failed = _read_chunk_arrow(pool, header, paths, keep_all)
            if table is not None:
                parts.append(table)
            if failed:
                con = con or duckdb.connect()
                parts.append(_read_chunk(con, header, failed, keep_all, rejected))
            task.advance(len(paths))
    if con is not None:
        con.close()
    if not parts:
        return pa.table({}), rejected
    return pa.concat_tables(parts, promote_options="permissive"), rejected


#: Threads that parse CSV files side by side (pyarrow releases the GIL while it parses).
READ_THREADS = max(1, min(8, os.cpu_count() or 1))
#: Arrow types of the kept columns (what DuckDB's reader is told: ``frame`` INTEGER, the rest
#: DOUBLE).
_ARROW_TYPES: dict[str, pa.DataType] = {c: pa.float64() for c in REQUIRED} | {"frame": pa.int32()}
#: The ``extra`` column: ``--keep-all``'s columns by header name.
EXTRA_TYPE = pa.map_(pa.string(), pa.float64())


def _extra_columns(names: list[str], columns: list[str]) -> list[tuple[str, str]]:
    """(header name, reader name) of the columns ``--keep-all`` keeps (all but the required
    ones and ``face_id``)."""
    return [
        (name, column)
        for name, column in zip(names, columns, strict=True)
        if column not in REQUIRED and name != "face_id"
    ]


def _read_chunk_arrow(
    pool: ThreadPoolExecutor, header: str, paths: list[Path], keep_all: bool
) -> tuple[pa.Table | None, list[Path]]:
    """Files sharing ``header`` read by ``pyarrow.csv`` on ``pool``, as one table with the
    columns of the DuckDB read; and the files that did not parse (for :func:`_read_chunk`)."""
    names = _header_names(header)
    columns = _reader_names(names)
    extra = _extra_columns(names, columns) if keep_all else []
    include = list(REQUIRED) + [c for _, c in extra]
    types = _ARROW_TYPES | {c: pa.float64() for _, c in extra}
    read_options = pacsv.ReadOptions(column_names=columns, skip_rows=1, use_threads=False)
    convert = pacsv.ConvertOptions(include_columns=include, column_types=types)

    def read(path: Path) -> pa.Table | None:
        try:
            return pacsv.read_csv(path, read_options=read_options, convert_options=convert)
        except (pa.ArrowInvalid, OSError):
            return None

    tables: list[pa.Table] = []
    files: list[str] = []
    failed: list[Path] = []
    for path, table in zip(paths, pool.map(read, paths), strict=True):
        if table is None:
            failed.append(path)
        else:
            tables.append(table)
            files.append(str(path))
    if not tables:
        return None, failed
    read_all = pa.concat_tables(tables)
    rows = np.array([t.num_rows for t in tables])
    filename = pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(np.arange(len(files), dtype=np.int32), rows)), pa.array(files)
    ).cast(pa.string())
    n = read_all.num_rows
    out = {
        "filename": filename,
        "frame": read_all["frame"],
        "timestamp": read_all["timestamp"],
        "confidence": read_all["confidence"],
        "success": pc.not_equal(read_all["success"], 0.0),
        **{c: read_all[c] for c in AU_COLUMNS},
        "extra": _extra_map(read_all, extra) if extra else pa.nulls(n, EXTRA_TYPE),
    }
    return pa.table(out), failed


def _extra_map(table: pa.Table, extra: list[tuple[str, str]]) -> pa.Array:
    """Each row's ``--keep-all`` values as a map from header name to value (nulls kept)."""
    n, k = table.num_rows, len(extra)
    values = pa.concat_arrays(
        [table[c].combine_chunks() for _, c in extra]
    )  # column after column: value (row r, column j) sits at j * n + r
    order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()
    keys = pa.array([name for name, _ in extra] * n, pa.string())
    offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
    return pa.MapArray.from_arrays(offsets, keys, values.take(pa.array(order)))


def _read_chunk(
    con: duckdb.DuckDBPyConnection,
    header: str,
    paths: list[Path],
    keep_all: bool,
    rejected: list[tuple[str, int, str, str]],
) -> pa.Table:
    """One DuckDB read of files sharing ``header`` (those pyarrow could not parse); their
    rejected values go to ``rejected`` with file, line and column."""
    names = _header_names(header)
    columns = _reader_names(names)
    extra = _extra_columns(names, columns)
    types = {c: "DOUBLE" for c in REQUIRED} | {"frame": "INTEGER"}
    select = ", ".join(
        ["filename", "frame", "timestamp", "confidence", "success <> 0 AS success"]
        + [ident(c) for c in AU_COLUMNS]
    )
    extra_sql = ", NULL::MAP(VARCHAR, DOUBLE) AS extra"
    params: list = []
    if keep_all and extra:
        values = ", ".join(f"TRY_CAST({ident(c)} AS DOUBLE)" for _, c in extra)
        extra_sql = f", map(?::VARCHAR[], [{values}]) AS extra"
        params.append([name for name, _ in extra])
    files = [str(p) for p in paths]
    query = (
        f"SELECT {select}{extra_sql} FROM read_csv(?, header = true, filename = true, "
        f"names = ?, types = {types!r}, store_rejects = true, ignore_errors = true)"
    )
    table = con.execute(query, [*params, files, columns]).to_arrow_table()
    by_column = dict(zip(columns, names, strict=True))
    rejected += [
        (file, line, by_column.get(column, column), message)
        for file, line, column, message in con.execute(
            "SELECT s.file_path, e.line, e.column_name, e.error_message "
            "FROM reject_errors AS e JOIN reject_scans AS s USING (scan_id, file_id) "
            "ORDER BY s.file_path, e.line"
        ).fetchall()
    ]
    # the reject tables keep every scan of the connection: empty them for the next one
    con.execute("DELETE FROM reject_errors")
    con.execute("DELETE FROM reject_scans")
    return table


def _filter(
    table: pa.Table,
    bad_files: set[str],
    min_confidence: float | None,
    success_only: bool,
    report: OpenFaceReport,
) -> pa.Table:
    con = duckdb.connect()
    con.register("frames", table)
    conditions = ["NOT list_contains(?, filename)"]
    params: list = [sorted(bad_files)]
    if min_confidence is not None:
        conditions.append("confidence >= ?")
        params.append(min_confidence)
    if success_only:
        conditions.append("success")
    total = table.num_rows
    kept = con.execute(
        "SELECT regexp_replace(parse_filename(filename), '(?i)(\\.csv)+$', '') AS clip_id, "
        f"* EXCLUDE (filename) FROM frames WHERE {' AND '.join(conditions)} "
        "ORDER BY clip_id, frame",
        params,
    ).to_arrow_table()
    con.close()
    report.frames = kept.num_rows
    report.dropped_frames = total - kept.num_rows
    return kept
