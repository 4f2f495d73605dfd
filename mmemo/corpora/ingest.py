"""``mmemo ingest CORPUS``: a corpus's files into the lake's ``clips`` table, as versions.

What a file is (its clip id, speaker, label ...) is its corpus adapter's to say
(:mod:`mmemo.corpora.adapters`); this module lists, probes, versions and commits for every
corpus alike.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa

from mmemo.corpora.adapters import Clip, CorpusAdapter, InvalidNameError, get_corpus
from mmemo.corpora.media import BadMediaError, MediaInfo, probe
from mmemo.corpora.sources import SourceFile
from mmemo.errors import InputError
from mmemo.progress import NullProgress, Progress
from mmemo.resources import read_sql
from mmemo.store.lifecycle import staged
from mmemo.store.store import Store
from mmemo.store.vocabulary import record_dataset

#: The first speaker number the store gives (above RAVDESS's 1-24 and CREMA-D's 1001-1091,
#: which their names fix).
FIRST_NUMBERED = 10_001
#: Files per chunk of the probing threads (at most).
_CHUNK = 256
_COLUMNS = [
    "ingest_id",
    "dataset",
    "clip_id",
    "version",
    "modality",
    "vocal_channel",
    "emotion",
    "label",
    "intensity",
    "statement",
    "repetition",
    "actor",
    "gender",
    "has_audio",
    "has_video",
    "path",
    "member",
    "container",
    "size_bytes",
    "duration",
    "sample_rate",
    "channels",
    "content_hash",
    "speaker",
    "performance",
    "age",
]
_RATING_COLUMNS = [
    "ingest_id",
    "dataset",
    "performance",
    "modality",
    "emotion",
    "label",
    "votes",
    "responses",
    "agreement",
]
#: Arrow types of the columns a corpus may leave empty throughout (a table of None alone
#: would have no type).
_TYPES = {
    "vocal_channel": pa.int8(),
    "intensity": pa.int8(),
    "statement": pa.int8(),
    "repetition": pa.int8(),
    "gender": pa.string(),
    "performance": pa.string(),
    "age": pa.int16(),
    "emotion": pa.int8(),
    "label": pa.string(),
    "responses": pa.int32(),
    "agreement": pa.float64(),
    "path": pa.string(),
    "member": pa.string(),
    "container": pa.string(),
    "size_bytes": pa.int64(),
    "duration": pa.float64(),
    "sample_rate": pa.int32(),
    "channels": pa.int32(),
    "content_hash": pa.string(),
}


@dataclass
class IngestReport:
    """What an ingestion found and did."""

    ingest_id: int | None = None
    snapshot_id: int | None = None
    files: int = 0
    added: int = 0
    unchanged: int = 0
    not_corpus: int = 0  # media files not named as the corpus names its files
    not_media: int = 0
    duplicates: int = 0
    skipped: list[str] = field(default_factory=list)  # where each file not of the corpus is
    #: Files of a known kind that belongs beside the corpus, by kind: counted, not named.
    siblings: dict[str, int] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)
    bad_media: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    summary: list[tuple[str, str, str, int]] = field(default_factory=list)
    ratings: int = 0  # perceived-label rows written (a corpus's raters' votes)


def ingest_ravdess(
    store: Store,
    sources: list[Path],
    *,
    strict: bool = False,
    workers: int = 4,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest RAVDESS files: :func:`ingest_corpus` through the ``ravdess`` adapter."""
    return ingest_corpus(
        store, "ravdess", sources, strict=strict, workers=workers, progress=progress
    )


def ingest_corpus(
    store: Store,
    corpus: str | CorpusAdapter,
    sources: list[Path],
    *,
    strict: bool = False,
    workers: int = 4,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest a corpus's files (directories, zip archives, lists of names) into ``store``
    through its adapter (a registered name, or an adapter).

    Clips already in the store with the same content and location are left alone; a changed
    file becomes a new version of its clip. Nothing is written when nothing changed. The
    corpus's perceived labels (raters' votes, where its adapter reads them) are written once,
    with the first ingest that finds them.

    Raises:
        InputError: an unknown corpus, a missing/unreadable source or corrupt archive, a
            corpus table that cannot be read; under ``strict``, also any skipped, invalid,
            refused or bad file. The store is unchanged.
    """
    adapter = get_corpus(corpus) if isinstance(corpus, str) else corpus
    progress = progress or NullProgress()
    listing = adapter.enumerate(sources)
    tables = adapter.read_tables([Path(p).expanduser().absolute() for p in sources])
    report = IngestReport(not_media=listing.not_media, refused=list(listing.refused))
    read = {str(path) for path in tables.files}
    for other in listing.skipped:
        kind = "corpus table" if str(other.path) in read else adapter.sibling_kind(other)
        if kind is None:
            report.skipped.append(other.where)
        else:
            report.siblings[kind] = report.siblings.get(kind, 0) + 1
    items = _clips(adapter, listing.files, tables, report)
    infos = _probe_all({key: item for key, (item, _) in items.items()}, workers, progress, report)
    if strict:
        _refuse_under_strict(report, adapter)

    with store.session() as s:
        current = {
            row[0]: row[1:]
            for row in s.fetch(
                "SELECT clip_id, version, content_hash, path, member FROM clips WHERE dataset = ?",
                [adapter.name],
            )
        }
        query = "SELECT count(*) FROM clip_ratings WHERE dataset = ?"
        rated = bool(tables.ratings) and s.fetch(query, [adapter.name])[0][0] > 0
        query = "SELECT DISTINCT speaker, actor FROM clips WHERE dataset = ?"
        numbered = dict(s.fetch(query, [adapter.name]))
        highest = s.fetch("SELECT max(actor) FROM clips")[0][0] or 0
    items = _number_speakers(items, numbered, max(highest, FIRST_NUMBERED - 1))
    rows = []
    for clip_id, (item, clip) in sorted(items.items()):
        info = infos.get(clip_id)
        if item.path is not None and info is None:
            continue  # bad media, listed in the report
        old = current.get(clip_id)
        if old is not None and not _changed(old, item, info):
            report.unchanged += 1
            continue
        rows.append(_row(adapter.name, clip, item, info, version=(old[0] + 1) if old else 1))
    report.added = len(rows)
    ratings = [] if rated else tables.ratings
    if rows or ratings:
        _commit(store, adapter, sources, rows, report, ratings)
    with store.session() as s:
        counts = read_sql("analysis/clip_counts.sql").rstrip().rstrip(";")
        report.summary = [
            tuple(r)
            for r in s.fetch(
                f"SELECT modality, channel, emotion, clips FROM ({counts}) WHERE dataset = ?",
                [adapter.name],
            )
        ]
    return report


def _clips(
    adapter: CorpusAdapter, files: list[SourceFile], tables, report: IngestReport
) -> dict[str, tuple[SourceFile, Clip]]:
    """The corpus's clips among ``files``, by clip id; the rest counted in ``report``."""
    items: dict[str, tuple[SourceFile, Clip]] = {}
    for item in files:
        if not adapter.looks_like(item):
            report.not_corpus += 1
            report.skipped.append(item.where)
            continue
        try:
            clip = adapter.clip(item, tables)
        except InvalidNameError as exc:
            report.invalid.append(f"{item.where}: {exc}")
            continue
        if clip.clip_id in items:
            report.duplicates += 1
            continue
        items[clip.clip_id] = (item, clip)
    report.files = len(items)
    return items


def _number_speakers(
    items: dict[str, tuple[SourceFile, Clip]], numbered: dict[str, int], highest: int
) -> dict[str, tuple[SourceFile, Clip]]:
    """Give clips whose adapter left ``actor`` empty their speaker's number: the one the
    store gave the speaker before, else the next after ``highest`` (the store's highest), in
    name order. Numbers never change under clips that have them, and no two corpora share
    one."""
    new = sorted({clip.speaker for _, clip in items.values() if clip.actor is None} - set(numbered))
    start = highest + 1
    numbers = {**numbered, **{speaker: start + i for i, speaker in enumerate(new)}}
    return {
        key: (item, clip if clip.actor is not None else replace(clip, actor=numbers[clip.speaker]))
        for key, (item, clip) in items.items()
    }


def _probe_all(
    items: dict[str, SourceFile], workers: int, progress: Progress, report: IngestReport
) -> dict[str, MediaInfo]:
    """Each media file's header facts, by clip id (bad files are listed in the report).

    The files go to the threads in chunks: a future per file costs as much as probing a
    short WAV (measured on 20,000 of them)."""
    media = [(key, item) for key, item in items.items() if item.path is not None]
    infos: dict[str, MediaInfo] = {}

    def chunk(pairs: list[tuple[str, SourceFile]]) -> list[tuple[str, MediaInfo | str]]:
        done: list[tuple[str, MediaInfo | str]] = []
        for key, item in pairs:
            try:
                done.append((key, probe(item)))
            except BadMediaError as exc:
                done.append((key, str(exc)))
        return done

    size = max(1, min(_CHUNK, len(media) // (4 * max(workers, 1)) or 1))
    chunks = [media[i : i + size] for i in range(0, len(media), size)]
    with progress.task("probing media", len(media)) as task, ThreadPoolExecutor(workers) as pool:
        for results in pool.map(chunk, chunks):
            for key, result in results:
                if isinstance(result, MediaInfo):
                    infos[key] = result
                else:
                    report.bad_media.append(result)
            task.advance(len(results))
    return infos


def _refuse_under_strict(report: IngestReport, adapter: CorpusAdapter) -> None:
    problems = (
        [f"not a {adapter.title} name: {report.not_corpus} file(s)"] * bool(report.not_corpus)
        + report.invalid
        + report.bad_media
        + [f"{r}: member path escapes the archive" for r in report.refused]
    )
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(f"--strict: {problems[0]}{more}; nothing was ingested")


def _changed(old: tuple, item: SourceFile, info: MediaInfo | None) -> bool:
    _, old_hash, old_path, old_member = old
    if info is None:  # a bare name adds nothing to a clip the store already has
        return False
    return (old_hash, old_path, old_member) != (info.content_hash, str(item.path), item.member)


def _row(
    dataset: str, clip: Clip, item: SourceFile, info: MediaInfo | None, *, version: int
) -> dict:
    return {
        **clip.as_row(),
        "dataset": dataset,
        "version": version,
        "path": str(item.path) if item.path is not None else None,
        "member": item.member,
        "container": info.container if info else None,
        "size_bytes": info.size_bytes if info else None,
        "duration": info.duration if info else None,
        "sample_rate": info.sample_rate if info else None,
        "channels": info.channels if info else None,
        "content_hash": info.content_hash if info else None,
    }


def _commit(
    store: Store,
    adapter: CorpusAdapter,
    sources: list[Path],
    rows: list[dict],
    report: IngestReport,
    ratings: list[dict] | None = None,
) -> None:
    """Record the dataset's vocabulary, then append the clip rows (and the corpus's perceived
    labels, when given) as one ingest entry.

    The vocabulary goes first: a record without clips (an ingest that failed after it) is
    harmless, clips whose labels no record names would not be.
    """
    with store.session(write=True) as s:
        record_dataset(s, adapter.name, adapter.vocabulary)
    fields = {
        "dataset": adapter.name,
        "sources": [str(p) for p in sources],
        "n_files": report.files,
        "n_added": len(rows),
    }
    with staged(store, "ingests", **fields) as entry:
        report.ingest_id = entry.id
        tables = {}
        if rows:
            tables["clips"] = _table(rows, _COLUMNS, dataset=adapter.name, ingest_id=entry.id)
        if ratings:
            tables["clip_ratings"] = _table(
                ratings, _RATING_COLUMNS, dataset=adapter.name, ingest_id=entry.id
            )
        rated = f" and {len(ratings)} rating(s)" if ratings else ""
        report.snapshot_id = entry.finish(
            f"ingest {entry.id}: {len(rows)} {adapter.name} clip version(s){rated}", tables
        )
        report.ratings = len(ratings or [])


def _table(rows: list[dict], columns: list[str], **constant: object) -> pa.Table:
    """The rows as an Arrow table of ``columns``, with the ``constant`` columns filled in."""
    full = [{**row, **constant} for row in rows]
    return pa.table(
        {name: pa.array([row.get(name) for row in full], type=_TYPES.get(name)) for name in columns}
    )
