"""Reading OpenFace 2.0 CSVs into one Arrow table of AU frames.

The bulk path parses the files with ``pyarrow.csv`` (only the kept columns converted, typed
up front; the files of a chunk joined into one parse on pyarrow's threads), no Python loop
over rows. A file that does not parse that way is read again with DuckDB's CSV reader, whose
reject tables report values that are not numbers with file, line and column.

What parses is not yet good data: the read table goes through the checks of
:mod:`mmemo.features.openface_checks` (finite AU values, a frame per file) once, on its Arrow
columns. Columns are named by position, not by header text
(:mod:`mmemo.features.openface_header` says why).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from mmemo.corpora.openface_columns import AU_COLUMNS
from mmemo.features.openface_checks import NO_FRAMES, Rejected, check_read
from mmemo.features.openface_header import REQUIRED, extra_columns, header_names, reader_names
from mmemo.hashing import sha256_bytes
from mmemo.progress import NullProgress, Progress
from mmemo.sqltext import ident

#: Files per read: progress moves per chunk; the files of a chunk are read in parallel.
READ_CHUNK = 64


@dataclass
class AuRead:
    """What :func:`read_all` read: the frames, and each bad file's one-line problem."""

    #: the frames of every file that parsed (a bad file's too: the caller drops them)
    table: pa.Table
    #: each bad file's first problem, ``line L, column C: ...`` where known, by file name in
    #: the order the files were given: one entry per file, however many problems it has
    bad: dict[str, str]
    #: frames dropped for a NaN/inf/missing AU value (``drop_nonfinite``)
    nonfinite: int = 0


def read_all(
    layouts: dict[str, list[Path]],
    *,
    keep_all: bool,
    drop_nonfinite: bool = False,
    progress: Progress | None = None,
    hashes: dict[Path, str] | None = None,
) -> AuRead:
    """Read each header layout's files in chunks of up to :data:`READ_CHUNK` files (so that
    progress moves per chunk); return their rows and their bad files.

    Files are read on a thread pool and parsed by ``pyarrow.csv`` (only the kept columns
    converted, typed up front), a chunk's files as one CSV; a file that does not parse that
    way (a value that is not a number, a short row) is read again by DuckDB's reader, whose
    reject tables name the file, line and column. With ``hashes``, each file it lacks is hashed
    from the same bytes the parser reads (each file is read once) and added to it.

    A file is bad when a value does not parse, when an AU value is not a finite number
    (NaN, inf, missing) or when it holds no frame. With ``drop_nonfinite``, the frames with a
    non-finite AU value are dropped (and counted) instead, and a file is bad only when no
    frame is left.
    """
    progress = progress or NullProgress()
    con: duckdb.DuckDBPyConnection | None = None
    parts: list[pa.Table] = []
    rejected: list[Rejected] = []
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
    headers = {str(p): header for header, paths in layouts.items() for p in paths}
    if not parts:
        return AuRead(pa.table({}), {f: NO_FRAMES for f in headers})
    table = pa.concat_tables(parts, promote_options="permissive")
    table, bad, nonfinite = check_read(table, headers, rejected, drop_nonfinite)
    return AuRead(table, bad, nonfinite)


#: Threads that read and hash CSV files side by side, and parse them one by one when a
#: chunk's joined parse fails (file I/O, hashlib and pyarrow release the GIL).
READ_THREADS = max(1, min(8, os.cpu_count() or 1))
#: Arrow types of the kept columns (what DuckDB's reader is told: ``frame`` INTEGER, the rest
#: DOUBLE).
_ARROW_TYPES: dict[str, pa.DataType] = {c: pa.float64() for c in REQUIRED} | {"frame": pa.int32()}
#: The ``extra`` column: ``--keep-all``'s columns by header name.
EXTRA_TYPE = pa.map_(pa.string(), pa.float64())


def read_chunk_arrow(
    pool: ThreadPoolExecutor,
    header: str,
    paths: list[Path],
    keep_all: bool,
    hashes: dict[Path, str] | None = None,
) -> tuple[pa.Table | None, list[Path]]:
    """Files sharing ``header`` read by ``pyarrow.csv``, as one table with the columns of
    the DuckDB read; and the files that did not parse (for :func:`read_chunk_duckdb`).

    The files are read into one buffer on ``pool`` (:func:`_load_chunk`; with ``hashes``, the
    ones it lacks hashed from the same bytes) and parsed as one CSV; when that fails, file by
    file on ``pool``, so that only the files that do not parse are left to DuckDB."""
    names = header_names(header)
    columns = reader_names(names)
    extra = extra_columns(names, columns) if keep_all else []
    include = list(REQUIRED) + [c for _, c in extra]
    types = _ARROW_TYPES | {c: pa.float64() for _, c in extra}
    convert = pacsv.ConvertOptions(include_columns=include, column_types=types)
    chunk, failed = _load_chunk(pool, paths, hashes)
    if not chunk.files:
        return None, failed
    files, rows = chunk.files, chunk.rows
    read_options = pacsv.ReadOptions(column_names=columns, use_threads=True, block_size=PARSE_BLOCK)
    try:
        parsed = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(chunk.buffer)),
            read_options=read_options,
            convert_options=convert,
        )
    except pa.ArrowInvalid:
        parsed = None
    if parsed is None or parsed.num_rows != int(rows.sum()):
        # some file does not parse, or a blank line hid a row from the count: file by file
        alone = pacsv.ReadOptions(column_names=columns, use_threads=False)

        def parse(body: np.ndarray) -> pa.Table | None:
            try:
                return pacsv.read_csv(
                    pa.BufferReader(pa.py_buffer(body)), read_options=alone, convert_options=convert
                )
            except pa.ArrowInvalid:
                return None

        tables: list[pa.Table] = []
        kept: list[str] = []
        for file, table in zip(files, pool.map(parse, chunk.bodies), strict=True):
            if table is None:
                failed.append(Path(file))
            else:
                tables.append(table)
                kept.append(file)
        if not tables:
            return None, failed
        files = kept
        parsed = pa.concat_tables(tables)
        rows = np.array([t.num_rows for t in tables])
    filename = pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(np.arange(len(files), dtype=np.int32), rows)), pa.array(files)
    ).cast(pa.string())
    n = parsed.num_rows
    out = {
        "filename": filename,
        "frame": parsed["frame"],
        "timestamp": parsed["timestamp"],
        "confidence": parsed["confidence"],
        "success": pc.not_equal(parsed["success"], 0.0),
        **{c: parsed[c] for c in AU_COLUMNS},
        "extra": extra_map(parsed, extra) if extra else pa.nulls(n, EXTRA_TYPE),
    }
    return pa.table(out), failed


@dataclass
class _Chunk:
    """Files read back to back into one buffer, ready to parse as ONE CSV: each file's header
    line overwritten by newlines and a newline after its last byte (pyarrow skips blank lines,
    so the buffer parses as the files' rows, in order; the parser sets up all of OpenFace's
    714 columns once per chunk instead of once per file)."""

    buffer: np.ndarray
    #: the files read, in order
    files: list[str]
    #: each file's rows as its line count (a last line without a newline counts): a file with
    #: a blank line parses to fewer rows, which is how the joined parse detects one
    rows: np.ndarray
    #: each file's body (after its header, with the newline after it), for a parse alone
    bodies: list[np.ndarray]


def _load_chunk(
    pool: ThreadPoolExecutor, paths: list[Path], hashes: dict[Path, str] | None
) -> tuple[_Chunk, list[Path]]:
    """``paths`` read on ``pool`` straight into one :class:`_Chunk` buffer (no copy after the
    read; hashing and line counts run on the threads too, both without the GIL); with
    ``hashes``, each file it lacks is hashed from the bytes read. Also returns the files that
    could not be read, or changed size while read (their slots are left blank)."""
    sizes: list[int] = []
    for path in paths:
        try:
            sizes.append(path.stat().st_size)
        except OSError:
            sizes.append(-1)
    starts = np.cumsum([0] + [size + 1 for size in sizes])
    buffer = np.empty(int(starts[-1]), np.uint8)

    def load(i: int) -> tuple[int, int, str | None] | None:
        """(body offset, rows, digest) of file ``i``, or None when it cannot be read."""
        slot = buffer[starts[i] : starts[i + 1]]
        size = sizes[i]
        data = slot[:size]  # the file's bytes; slot[size] is the newline after them
        if size < 0 or not _read_into(paths[i], memoryview(data)):
            slot[:] = NEWLINE
            return None
        fresh = hashes is not None and paths[i] not in hashes
        digest = sha256_bytes(memoryview(data)) if fresh else None
        ends = data == NEWLINE
        lines = int(np.count_nonzero(ends))
        head = int(ends.argmax()) + 1 if lines else size
        rows = max(lines - 1, 0) + int(size > head and slot[size - 1] != NEWLINE)
        slot[:head] = NEWLINE
        slot[size] = NEWLINE
        return head, rows, digest

    files: list[str] = []
    rows: list[int] = []
    bodies: list[np.ndarray] = []
    failed: list[Path] = []
    for i, loaded in enumerate(pool.map(load, range(len(paths)))):
        if loaded is None:
            failed.append(paths[i])
            continue
        head, count, digest = loaded
        if digest is not None and hashes is not None:
            hashes[paths[i]] = digest
        files.append(str(paths[i]))
        rows.append(count)
        bodies.append(buffer[starts[i] + head : starts[i + 1]])
    return _Chunk(buffer, files, np.array(rows, np.int64), bodies), failed


#: Bytes per block of the joined parse (pyarrow parses blocks on its threads). OpenFace rows
#: are about 5 kB wide: 2 MiB blocks parsed a chunk 5-10 % faster than the 1 MiB default (at
#: 4 and 8 MiB no faster) on 2 cores, and still leave a 64-file chunk ~15 blocks to share.
PARSE_BLOCK = 2 << 20
#: The byte that ends a line (and fills the parts of a chunk's buffer that hold no rows).
NEWLINE = ord("\n")


def _read_into(path: Path, view: memoryview) -> bool:
    """Fill ``view`` with the bytes of ``path``; False when it cannot be read or does not hold
    exactly ``len(view)`` bytes (it changed since its size was taken)."""
    try:
        with path.open("rb", buffering=0) as fh:
            got = 0
            while got < len(view):
                n = fh.readinto(view[got:])
                if not n:
                    return False
                got += n
            return not fh.read(1)
    except OSError:
        return False


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
    rejected: list[Rejected],
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
