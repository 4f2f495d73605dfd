"""``mmemo ingest openface``: OpenFace 2.0 CSVs (one per video) into a versioned AU frame set.

Files are found (folders, globs, zips), checked (header, known clip), hashed for the set's
fingerprint (a re-run with the same files does nothing, before any CSV is parsed), read by
:mod:`mmemo.features.openface_csv`, filtered (confidence, tracking success) and committed in
chunks through the feature-set lifecycle.

Bad data is refused, not stored: a header that lacks an AU column or names a column twice, a
value that is not a number, an AU value that is not finite (NaN, inf, missing), a file without
frames. Each bad file is one line (file, then line and column where known); any bad file fails
the ingest before the store is touched, unless ``skip_bad`` leaves those files out (or
``drop_nonfinite`` leaves out the frames with a non-finite AU value), and says how many.
"""

from __future__ import annotations

import functools
import glob
import re
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmemo.corpora.openface_columns import AU_COLUMNS
from mmemo.corpora.sources import member_escapes
from mmemo.errors import InputError, listing
from mmemo.features.openface_csv import READ_THREADS, read_all
from mmemo.features.openface_header import REQUIRED, header_names
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
from mmemo.specs import JobSpec
from mmemo.store.store import Store


@dataclass
class OpenFaceReport:
    name: str = ""
    version: int = 0
    existing: bool = False
    files: int = 0
    clips: int = 0
    frames: int = 0
    dropped_frames: int = 0
    #: frames dropped for a NaN/inf/missing AU value (``drop_nonfinite``)
    nonfinite_frames: int = 0
    #: one line per bad file: ``FILE: PROBLEM``
    bad: list[str] = field(default_factory=list)
    snapshot_id: int | None = None


def clip_id_of(path: Path | str) -> str:
    """The clip id a CSV stands for: its file name without (repeated) ``.csv``."""
    name = PurePosixPath(str(path)).name
    while name.lower().endswith(".csv"):
        name = name[:-4]
    return name


@dataclass(frozen=True, kw_only=True)
class AuIngestSpec(JobSpec):
    """``mmemo ingest openface``: OpenFace CSVs (``sources``: directories, zips or globs) into
    the AU frame set ``name``; frames below ``min_confidence`` or (``success_only``) not
    tracked are left out; ``keep_all`` keeps gaze, pose and landmarks too; ``skip_bad`` leaves
    bad files out, ``drop_nonfinite`` only the frames with a NaN/inf/missing AU value."""

    job: ClassVar[str] = "ingest openface"
    unit: ClassVar[str] = "shard"

    sources: list[str]
    min_confidence: float | None = None
    success_only: bool = False
    keep_all: bool = False
    skip_bad: bool = False
    drop_nonfinite: bool = False

    def run(
        self, store: Store, *, part: Shard | None = None, progress: Progress | None = None
    ) -> list[OpenFaceReport]:
        return [ingest_openface(store, self, shard=part, progress=progress)]


def ingest_openface(
    store: Store,
    spec: AuIngestSpec,
    *,
    shard: Shard | None = None,
    progress: Progress | None = None,
) -> OpenFaceReport:
    """Read the OpenFace CSVs of ``spec.sources`` into the AU frame set ``spec.name``.

    With ``shard``, only that slice of the files (in clip id order) is read; every shard
    names all the files, and the set is complete when each shard has committed its slice.
    With ``spec.drop_nonfinite``, a frame with a NaN/inf/missing AU value is dropped (counted
    in the report's ``nonfinite_frames``) instead of making its file bad.

    Raises:
        InputError: a missing source; or any bad file (missing or repeated columns, values
            that are not numbers, non-finite AU values, no frames, clip unknown to the store)
            unless ``skip_bad``; the message names the first and counts the others (files, not
            values); the store is unchanged.
    """
    progress = progress or NullProgress()
    name, sources, skip_bad = spec.name, list(spec.sources), spec.skip_bad
    min_confidence, success_only, keep_all = spec.min_confidence, spec.success_only, spec.keep_all
    drop_nonfinite = spec.drop_nonfinite
    report = OpenFaceReport(name=name)
    params = {
        "min_confidence": min_confidence,
        "success_only": success_only,
        "keep_all": keep_all,
        "columns": list(REQUIRED),
    }
    if drop_nonfinite:  # only when set: the sets made before the option keep their fingerprint
        params["drop_nonfinite"] = True
    if shard is not None and skip_bad:
        raise InputError(
            "--shard cannot be combined with --skip-bad: every shard must agree on the files"
        )
    with tempfile.TemporaryDirectory(prefix="mmemo-openface-") as tmp:
        files = _collect(sources, Path(tmp))
        known = _video_clips(store)
        videos = set(known.values())

        def clip_of(path: Path) -> str:
            stem = clip_id_of(path)
            return known.get(stem, stem)

        every_key = None
        hashes: dict[Path, str] = {}  # files hashed so far (the fingerprint's clip keys)
        if shard is not None:
            files = sorted(files, key=lambda p: (clip_of(p), str(p)))
            hashes = _hash_files(files, progress)
            every_key = [(clip_of(p), hashes[p]) for p in files]
            files = shard.take(files)
        report.files = len(files)
        by_clip: dict[str, Path] = {}
        layouts: dict[str, list[Path]] = {}
        with progress.task("checking CSV headers", len(files)) as task:
            for path in files:
                problem, header = _check_file(path, clip_of(path), videos, by_clip)
                task.advance()
                if problem:
                    report.bad.append(f"{path}: {problem}")
                    continue
                by_clip[clip_of(path)] = path
                layouts.setdefault(header, []).append(path)
        if not layouts and (skip_bad or not report.bad):
            _nothing_usable(sources, report.bad)
        if skip_bad or not report.bad:  # nothing to do? The fingerprint says, before parsing

            def keys() -> list[tuple[str, str]]:  # only when a complete set of this name exists
                if every_key is not None:
                    return every_key
                hashes.update(_hash_files([p for _, p in sorted(by_clip.items())], progress))
                return [(c, hashes[p]) for c, p in sorted(by_clip.items())]

            done = find_complete(
                store,
                name=name,
                kind="au_frames",
                clip_keys=keys,
                accept=lambda fs: fs.params == params,
            )
            if done is not None:
                report.version, report.existing = done.version, True
                report.clips = len(by_clip) if every_key is None else len(every_key)
                return report
        # files not hashed yet are hashed from the bytes the parser reads (one read each)
        read = read_all(
            layouts,
            keep_all=keep_all,
            drop_nonfinite=drop_nonfinite,
            progress=progress,
            hashes=hashes,
        )
        report.bad += [f"{file}: {problem}" for file, problem in read.bad.items()]
        report.nonfinite_frames = read.nonfinite
        if report.bad and not skip_bad:  # one line per bad file: the count is of files
            more = f" (and {len(report.bad) - 1} more bad file(s))" if len(report.bad) > 1 else ""
            raise InputError(f"{report.bad[0]}{more}; nothing was ingested (--skip-bad skips them)")
        bad_files = set(read.bad)
        table = _filter(read.table, bad_files, min_confidence, success_only, report, known)
        if bad_files:  # the frames of a skipped file were not dropped by a filter
            skipped = pc.is_in(read.table["filename"], pa.array(sorted(bad_files), pa.string()))
            report.dropped_frames -= pc.sum(skipped).as_py() or 0
        clip_keys = every_key or [
            (clip_of(p), hashes.get(p) or sha256_file(p))
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


def _hash_files(paths: list[Path], progress: Progress) -> dict[Path, str]:
    """Content hash of each file (the fingerprint's clip keys), on threads (hashing releases
    the GIL)."""
    hashes: dict[Path, str] = {}
    with (
        progress.task("hashing CSV files", len(paths)) as task,
        ThreadPoolExecutor(max_workers=READ_THREADS) as pool,
    ):
        for path, digest in zip(paths, pool.map(sha256_file, paths), strict=True):
            hashes[path] = digest
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


def _video_clips(store: Store) -> dict[str, str]:
    """The store's video clips by the names their OpenFace CSVs have: a clip id that is its
    file's stem (RAVDESS) stands for itself; a clip of another corpus (``crema-d:1001_DFA_
    ANG_XX.flv``) by its file's stem (``1001_DFA_ANG_XX``), where no other video clip's file
    has that stem."""
    with store.session() as s:
        rows = s.fetch("SELECT clip_id, coalesce(member, path) FROM clips WHERE has_video")
    found = {clip: clip for clip, _ in rows}
    stems: dict[str, list[str]] = {}
    for clip, where in rows:
        if where is not None:
            stem = PurePosixPath(str(where).replace("\\", "/")).stem
            if stem != clip:
                stems.setdefault(stem, []).append(clip)
    found |= {stem: clips[0] for stem, clips in stems.items() if len(clips) == 1}
    return found


def _check_file(
    path: Path, clip: str, videos: set[str], seen: dict[str, Path]
) -> tuple[str | None, str]:
    if clip not in videos:
        return f"clip id '{clip}' is not a video clip in the store", ""
    if clip in seen:
        return f"second file for clip '{clip}' (first: {seen[clip]})", ""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
    except OSError as exc:
        return f"cannot read ({exc.strerror})", ""
    problem = _header_problem(header)
    if problem:
        return problem, ""
    return None, header.strip()


@functools.lru_cache(maxsize=64)
def _header_problem(header: str) -> str | None:
    """What is wrong with a header line: required columns it lacks, or a column it names
    twice (parsed once per distinct header: a corpus' files share one, and parsing a 714-column
    header costs more than reading it).

    A repeated name is refused whichever column it is: the reader would take one of the two
    by position (issue 21: a shifted ``AU01_r`` taken for the real one put 9.99 in ``au_means``
    where the true mean was 0.398), and
    ``--keep-all``'s map cannot hold two values under one name."""
    names = header_names(header)
    present = set(names)
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        return f"missing column(s) {listing(missing, 6)}"
    first: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in first:
            return f"duplicate column '{name}' in the header (columns {first[name]} and {position})"
        first[name] = position
    return None


def _filter(
    table: pa.Table,
    bad_files: set[str],
    min_confidence: float | None,
    success_only: bool,
    report: OpenFaceReport,
    known: dict[str, str] | None = None,
) -> pa.Table:
    """The kept frames: rows of bad files and (on request) low-confidence or untracked frames
    dropped, ``filename`` replaced by ``clip_id`` (first), ordered by clip and frame."""
    total = table.num_rows
    files = table["filename"].combine_chunks().dictionary_encode()
    names = files.dictionary.to_pylist()
    clip_ids = [(known or {}).get(c, c) for c in (_clip_id_of_filename(f) for f in names)]
    # each file's rank in clip id order (string order, as SQL's): rows sort on two integers
    rank = {c: i for i, c in enumerate(sorted(set(clip_ids)))}
    keep = pa.array([f not in bad_files for f in names], pa.bool_()).take(files.indices)
    if min_confidence is not None:  # a null confidence is not >= anything: dropped (as SQL)
        keep = pc.and_(keep, pc.greater_equal(table["confidence"], min_confidence))
    if success_only:
        keep = pc.and_(keep, table["success"])
    columns = {"clip_id": pa.array(clip_ids, pa.string()).take(files.indices)} | {
        c: table[c] for c in table.column_names if c != "filename"
    }
    columns["_rank"] = pa.array([rank[c] for c in clip_ids], pa.int32()).take(files.indices)
    kept = pa.table(columns)
    if not pc.all(pc.fill_null(keep, False)).as_py():  # filtering copies every column
        kept = kept.filter(keep)  # a null mask value drops the row (SQL WHERE)
    # nulls last (Arrow's default, DuckDB's for ORDER BY ... ASC)
    order = pc.sort_indices(
        kept.select(["_rank", "frame"]), sort_keys=[("_rank", "ascending"), ("frame", "ascending")]
    )
    kept = kept.drop_columns(["_rank"])
    if not np.array_equal(order.to_numpy(), np.arange(len(order))):  # files come in order
        kept = kept.take(order)
    report.frames = kept.num_rows
    report.dropped_frames = total - kept.num_rows
    return kept


#: A path's file name, with either separator (as DuckDB's ``parse_filename``).
_BASENAME = re.compile(r"[^/\\]*$")
#: Trailing (repeated) ``.csv`` of a file name, in any case.
_CSV_SUFFIX = re.compile(r"(\.csv)+$", re.IGNORECASE)


def _clip_id_of_filename(path: str) -> str:
    """The clip id of a file a frame was read from: its name without (repeated) ``.csv``."""
    name = _BASENAME.search(path)
    return _CSV_SUFFIX.sub("", name.group(0) if name else path, count=1)
