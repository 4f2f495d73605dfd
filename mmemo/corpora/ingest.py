"""``mmemo ingest ravdess``: corpus files into the lake's ``clips`` table, as versions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from mmemo.corpora.media import BadMediaError, MediaInfo, probe
from mmemo.corpora.ravdess import VOCABULARY, InvalidNameError, looks_like_ravdess, parse_name
from mmemo.corpora.sources import SourceFile, enumerate_sources
from mmemo.errors import InputError
from mmemo.progress import NullProgress, Progress
from mmemo.resources import read_sql
from mmemo.store.lifecycle import staged
from mmemo.store.store import Store
from mmemo.store.vocabulary import record_dataset

DATASET = "ravdess"
#: OpenFace's outputs for a video, named after it: the AU table (``NAME.csv``), HOG features,
#: the run's details and the aligned face images (``NAME_aligned/``). They often sit beside the
#: corpus (``mmemo synth`` writes ``openface/`` into it) and ``mmemo ingest openface`` takes
#: them, so ``ingest ravdess`` counts them instead of naming each as "not a RAVDESS file".
OPENFACE_SUFFIXES = (".csv", ".hog")
OPENFACE_DETAILS = "_of_details"
OPENFACE_ALIGNED = "_aligned"
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
]


@dataclass
class IngestReport:
    """What an ingestion found and did."""

    ingest_id: int | None = None
    snapshot_id: int | None = None
    files: int = 0
    added: int = 0
    unchanged: int = 0
    not_ravdess: int = 0
    not_media: int = 0
    duplicates: int = 0
    skipped: list[str] = field(default_factory=list)  # where each non-RAVDESS file is
    #: Files of a known kind that belongs beside the corpus, by kind: counted, not named.
    siblings: dict[str, int] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)
    bad_media: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    summary: list[tuple[str, str, str, int]] = field(default_factory=list)


def ingest_ravdess(
    store: Store,
    sources: list[Path],
    *,
    strict: bool = False,
    workers: int = 4,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest RAVDESS files (directories, zip archives, lists of names) into ``store``.

    Clips already in the store with the same content and location are left alone; a changed
    file becomes a new version of its clip. Nothing is written when nothing changed.

    Raises:
        InputError: a missing/unreadable source or corrupt archive; under ``strict``, also
            any skipped, invalid, refused or bad file. The store is unchanged.
    """
    progress = progress or NullProgress()
    listing = enumerate_sources(sources)
    report = IngestReport(not_media=listing.not_media, refused=list(listing.refused))
    for other in listing.skipped:
        kind = sibling_kind(other)
        if kind is None:
            report.skipped.append(other.where)
        else:
            report.siblings[kind] = report.siblings.get(kind, 0) + 1
    items: dict[str, SourceFile] = {}
    for item in listing.files:
        if not looks_like_ravdess(item.stem):
            report.not_ravdess += 1
            report.skipped.append(item.where)
            continue
        try:
            parse_name(item.stem)
        except InvalidNameError as exc:
            report.invalid.append(f"{item.where}: {exc}")
            continue
        if item.stem in items:
            report.duplicates += 1
            continue
        items[item.stem] = item
    report.files = len(items)

    infos = _probe_all(list(items.values()), workers, progress, report)
    if strict:
        _refuse_under_strict(report)

    with store.session() as s:
        current = {
            row[0]: row[1:]
            for row in s.fetch(
                "SELECT clip_id, version, content_hash, path, member FROM clips WHERE dataset = ?",
                [DATASET],
            )
        }
    rows = []
    for stem, item in sorted(items.items()):
        info = infos.get(stem)
        if item.path is not None and info is None:
            continue  # bad media, listed in the report
        old = current.get(stem)
        if old is not None and not _changed(old, item, info):
            report.unchanged += 1
            continue
        rows.append(_row(stem, item, info, version=(old[0] + 1) if old else 1))
    report.added = len(rows)
    if rows:
        _commit(store, sources, rows, report)
    with store.session() as s:
        counts = read_sql("analysis/clip_counts.sql").rstrip().rstrip(";")
        report.summary = [
            tuple(r)
            for r in s.fetch(
                f"SELECT modality, channel, emotion, clips FROM ({counts}) WHERE dataset = ?",
                [DATASET],
            )
        ]
    return report


def sibling_kind(item: SourceFile) -> str | None:
    """The kind of a non-media file that belongs beside a RAVDESS corpus (``"OpenFace
    output"``: see :data:`OPENFACE_SUFFIXES`), or None for a file of no known kind."""
    if item.suffix in OPENFACE_SUFFIXES and looks_like_ravdess(item.stem):
        return "OpenFace output"
    if item.stem.endswith(OPENFACE_DETAILS) and looks_like_ravdess(
        item.stem.removesuffix(OPENFACE_DETAILS)
    ):
        return "OpenFace output"
    if item.folder.endswith(OPENFACE_ALIGNED) and looks_like_ravdess(
        item.folder.removesuffix(OPENFACE_ALIGNED)
    ):
        return "OpenFace output"
    return None


def _probe_all(
    items: list[SourceFile], workers: int, progress: Progress, report: IngestReport
) -> dict[str, MediaInfo]:
    media = [item for item in items if item.path is not None]
    infos: dict[str, MediaInfo] = {}

    def one(item: SourceFile) -> tuple[str, MediaInfo | str]:
        try:
            return item.stem, probe(item)
        except BadMediaError as exc:
            return item.stem, str(exc)

    with progress.task("probing media", len(media)) as task, ThreadPoolExecutor(workers) as pool:
        for stem, result in pool.map(one, media):
            if isinstance(result, MediaInfo):
                infos[stem] = result
            else:
                report.bad_media.append(result)
            task.advance()
    return infos


def _refuse_under_strict(report: IngestReport) -> None:
    problems = (
        [f"not a RAVDESS name: {report.not_ravdess} file(s)"] * bool(report.not_ravdess)
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


def _row(stem: str, item: SourceFile, info: MediaInfo | None, *, version: int) -> dict:
    name = parse_name(stem)
    return {
        **name.as_row(),
        "dataset": DATASET,
        "version": version,
        "has_audio": name.has_audio,
        "has_video": name.has_video,
        "path": str(item.path) if item.path is not None else None,
        "member": item.member,
        "container": info.container if info else None,
        "size_bytes": info.size_bytes if info else None,
        "duration": info.duration if info else None,
        "sample_rate": info.sample_rate if info else None,
        "channels": info.channels if info else None,
        "content_hash": info.content_hash if info else None,
    }


def _commit(store: Store, sources: list[Path], rows: list[dict], report: IngestReport) -> None:
    """Record the dataset's vocabulary, then append the clip rows as one ingest entry.

    The vocabulary goes first: a record without clips (an ingest that failed after it) is
    harmless, clips whose labels no record names would not be.
    """
    with store.session(write=True) as s:
        record_dataset(s, DATASET, VOCABULARY)
    fields = {
        "dataset": DATASET,
        "sources": [str(p) for p in sources],
        "n_files": report.files,
        "n_added": len(rows),
    }
    with staged(store, "ingests", **fields) as entry:
        report.ingest_id = entry.id
        table = pa.Table.from_pylist([{**row, "ingest_id": entry.id} for row in rows])
        table = table.select(_COLUMNS)
        report.snapshot_id = entry.finish(
            f"ingest {entry.id}: {len(rows)} ravdess clip version(s)",
            {"clips": table},
        )
