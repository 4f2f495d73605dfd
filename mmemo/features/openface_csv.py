"""Reading OpenFace 2.0 CSVs into one Arrow table of AU frames.

The bulk path parses the files with ``pyarrow.csv`` (only the kept columns converted, typed
up front; the files of a chunk joined into one parse on pyarrow's threads), no Python loop
over rows. A file that does not parse that way is read again with DuckDB's CSV reader, whose
reject tables report values that are not numbers with file, line and column.

Columns are named by position, not by header text: OpenFace writes names that differ only by
case (2-D landmarks ``x_0`` and 3-D landmarks ``X_0``), which SQL identifiers do not tell
apart (DuckDB would rename the second ``X_0_1``). So the reader gets its own names (the
required columns under theirs, every other column ``_c{position}``) and ``--keep-all`` maps each
header name, bound as a value, to the column at its position.
"""

from __future__ import annotations

import csv
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from mmemo.corpora.openface_columns import AU_COLUMNS, FRAME_COLUMNS
from mmemo.hashing import sha256_bytes
from mmemo.progress import NullProgress, Progress
from mmemo.sqltext import ident

#: The columns every file must have: frame bookkeeping and the 35 AU columns.
REQUIRED = FRAME_COLUMNS + AU_COLUMNS
#: Files per read: progress moves per chunk; the files of a chunk are read in parallel.
READ_CHUNK = 64


def header_names(header: str) -> list[str]:
    """The column names of a CSV header line, parsed as CSV and stripped of spaces."""
    return [c.strip() for c in next(csv.reader([header], skipinitialspace=True), [])]


def reader_names(names: list[str]) -> list[str]:
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


def read_all(
    layouts: dict[str, list[Path]],
    *,
    keep_all: bool,
    progress: Progress | None = None,
    hashes: dict[Path, str] | None = None,
) -> tuple[pa.Table, list[tuple[str, int, str, str]]]:
    """Read each header layout's files in chunks of up to :data:`READ_CHUNK` files (so that
    progress moves per chunk); return rows and rejected values.

    Files are parsed by ``pyarrow.csv`` (only the kept columns converted, typed up front),
    several at a time on a thread pool; a file that does not parse that way (a value that is not
    a number, a short row) is read again by DuckDB's reader, whose reject tables name the file,
    line and column. With ``hashes``, each file it lacks is hashed from the same bytes the
    parser reads (each file is read once) and added to it.
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
            table, failed = read_chunk_arrow(pool, header, paths, keep_all, hashes)
            if table is not None:
                parts.append(table)
            if failed:
                con = con or duckdb.connect()
                parts.append(read_chunk_duckdb(con, header, failed, keep_all, rejected))
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


def extra_columns(names: list[str], columns: list[str]) -> list[tuple[str, str]]:
    """(header name, reader name) of the columns ``--keep-all`` keeps (all but the required
    ones and ``face_id``)."""
    return [
        (name, column)
        for name, column in zip(names, columns, strict=True)
        if column not in REQUIRED and name != "face_id"
    ]


def read_chunk_arrow(
    pool: ThreadPoolExecutor,
    header: str,
    paths: list[Path],
    keep_all: bool,
    hashes: dict[Path, str] | None = None,
) -> tuple[pa.Table | None, list[Path]]:
    """Files sharing ``header`` read by ``pyarrow.csv``, as one table with the columns of
    the DuckDB read; and the files that did not parse (for :func:`read_chunk_duckdb`).

    The files are read (and, with ``hashes``, the ones it lacks hashed from the same bytes) on
    ``pool``, then parsed as one CSV (:func:`_parse_joined`); when that fails, file by file
    on ``pool``, so that only the files that do not parse are left to DuckDB."""
    names = header_names(header)
    columns = reader_names(names)
    extra = extra_columns(names, columns) if keep_all else []
    include = list(REQUIRED) + [c for _, c in extra]
    types = _ARROW_TYPES | {c: pa.float64() for _, c in extra}
    convert = pacsv.ConvertOptions(include_columns=include, column_types=types)

    def load(path: Path) -> tuple[bytes | None, str | None]:
        try:
            data = path.read_bytes()
        except OSError:
            return None, None
        fresh = hashes is not None and path not in hashes
        return data, sha256_bytes(data) if fresh else None

    files: list[str] = []
    datas: list[bytes] = []
    failed: list[Path] = []
    for path, (data, digest) in zip(paths, pool.map(load, paths), strict=True):
        if digest is not None and hashes is not None:
            hashes[path] = digest
        if data is None:
            failed.append(path)
        else:
            files.append(str(path))
            datas.append(data)
    joined = _parse_joined(datas, columns, convert)
    if joined is not None:
        read_all, rows = joined
    else:  # some file does not parse (or has blank lines): file by file, to find which
        read_options = pacsv.ReadOptions(column_names=columns, skip_rows=1, use_threads=False)

        def parse(data: bytes) -> pa.Table | None:
            try:
                return pacsv.read_csv(
                    pa.BufferReader(data), read_options=read_options, convert_options=convert
                )
            except pa.ArrowInvalid:
                return None

        tables: list[pa.Table] = []
        kept: list[str] = []
        for file, table in zip(files, pool.map(parse, datas), strict=True):
            if table is None:
                failed.append(Path(file))
            else:
                tables.append(table)
                kept.append(file)
        if not tables:
            return None, failed
        files = kept
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
        "extra": extra_map(read_all, extra) if extra else pa.nulls(n, EXTRA_TYPE),
    }
    return pa.table(out), failed


def _parse_joined(
    datas: list[bytes], columns: list[str], convert: pacsv.ConvertOptions
) -> tuple[pa.Table, np.ndarray] | None:
    """The rows of files sharing one header, parsed as ONE CSV (headers cut, bodies joined;
    pyarrow parses it on its own threads) and each file's row count; None when the join does
    not parse or a file's line count is not its row count (blank lines), so that the caller
    reads file by file. Per call, the parser sets up all of OpenFace's 714 columns: once per
    chunk instead of once per file."""
    if not datas:
        return None
    bodies: list[memoryview | bytes] = []
    rows = np.zeros(len(datas), np.int64)
    for i, data in enumerate(datas):
        start = data.find(b"\n") + 1
        if start == 0:  # a header without a newline: no rows
            continue
        bodies.append(memoryview(data)[start:])
        rows[i] = data.count(b"\n", start)
        if not data.endswith(b"\n") and len(data) > start:
            bodies.append(b"\n")
            rows[i] += 1
    read_options = pacsv.ReadOptions(column_names=columns, use_threads=True)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(b"".join(bodies)), read_options=read_options, convert_options=convert
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows != int(rows.sum()):
        return None
    return table, rows


def extra_map(table: pa.Table, extra: list[tuple[str, str]]) -> pa.Array:
    """Each row's ``--keep-all`` values as a map from header name to value (nulls kept)."""
    n, k = table.num_rows, len(extra)
    values = pa.concat_arrays(
        [table[c].combine_chunks() for _, c in extra]
    )  # column after column: value (row r, column j) sits at j * n + r
    order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()
    keys = pa.array([name for name, _ in extra] * n, pa.string())
    offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
    return pa.MapArray.from_arrays(offsets, keys, values.take(pa.array(order)))


def read_chunk_duckdb(
    con: duckdb.DuckDBPyConnection,
    header: str,
    paths: list[Path],
    keep_all: bool,
    rejected: list[tuple[str, int, str, str]],
) -> pa.Table:
    """One DuckDB read of files sharing ``header`` (those pyarrow could not parse); their
    rejected values go to ``rejected`` with file, line and column."""
    names = header_names(header)
    columns = reader_names(names)
    extra = extra_columns(names, columns)
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
