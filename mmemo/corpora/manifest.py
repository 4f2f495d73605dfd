"""Any corpus as a manifest: a CSV, JSONL or parquet table with a row per media file.

``mmemo ingest manifest FILE --dataset NAME`` reads the table's path, label and speaker
columns (named by options; gender and a clip key optional), resolves each path against
``--root`` (default: the manifest's folder) and ingests the files as the corpus ``NAME``:

* the dataset's classes are the manifest's labels, in the order ``--labels`` gives or sorted;
  a row whose label is not among ``--labels`` is listed as invalid, not ingested;
* a clip's id is ``NAME:KEY`` (the key column, or the path relative to the root), so that it
  is unique beside every other corpus in the store;
* a speaker keeps the number (``actor``, what folds group by) the store gave it at its first
  ingest; new speakers are numbered after the store's highest (10,001 at the least), in name
  order, so that no two corpora share a speaker number;
* audio files (``.wav``, ``.flac``, ``.mp3`` ...) are audio-only clips, video files full-AV.

The table is read with pyarrow, so a manifest of a quarter of a million rows takes about a
second; what takes time is reading and hashing every media file (:mod:`mmemo.corpora.media`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmemo.corpora.adapters import (
    Clip,
    CorpusAdapter,
    CorpusTables,
    InvalidNameError,
    register_corpus,
)
from mmemo.corpora.sources import Enumeration, SourceFile
from mmemo.errors import InputError
from mmemo.store.vocabulary import Vocabulary

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac"})
VIDEO_SUFFIXES = frozenset({".mp4", ".flv", ".avi", ".mkv", ".mov", ".webm"})
_GENDERS = {"m": "male", "male": "male", "man": "male", "f": "female", "female": "female"}
_GENDERS |= {"woman": "female"}
#: A dataset name: what ``clips.dataset`` holds and clip ids start with.
_DATASET_NAME = "up to 64 lower-case letters, digits, '-' and '_', starting with a letter"


@dataclass(frozen=True)
class ManifestOptions:
    """How to read a manifest: the dataset's name, the columns, the root of relative paths
    and the label order."""

    dataset: str
    path_column: str = "path"
    label_column: str = "label"
    speaker_column: str = "speaker"
    gender_column: str | None = None
    key_column: str | None = None
    root: Path | None = None
    labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        name = self.dataset
        shaped = name[:1].isalpha() and all(c.isalnum() or c in "-_" for c in name)
        if not shaped or name != name.lower() or len(name) > 64:
            raise InputError(f"--dataset {name!r}: a dataset name is {_DATASET_NAME}")
        if name in ("ravdess", "crema-d"):
            raise InputError(
                f"--dataset {name!r} is a built-in corpus: ingest it with `mmemo ingest {name}`"
            )


@dataclass(frozen=True)
class _Entry:
    line: int
    label: str
    speaker: str
    gender: str | None
    key: str


@register_corpus
class ManifestAdapter(CorpusAdapter):
    """A corpus described by a manifest table (see the module docstring)."""

    name = "manifest"
    title = "manifest"
    vocabulary = Vocabulary((), ())
    media_suffixes = AUDIO_SUFFIXES | VIDEO_SUFFIXES

    def __init__(
        self,
        manifest: Path | None = None,
        options: ManifestOptions | None = None,
        *,
        table: Any = None,
    ):
        """``table``: the manifest's rows when the caller read them (an Arrow table), else
        they are read from ``manifest``."""
        self.manifest = manifest
        self.options = options
        self._entries: dict[str, _Entry] = {}
        if manifest is None or options is None:
            return  # the registry's instance: a name to list, not a corpus to ingest
        self.name = options.dataset
        self.title = f"{options.dataset} manifest"
        self._root = (options.root or Path(manifest).parent).expanduser().absolute()
        table = table if table is not None else read_manifest(Path(manifest))
        self._entries, labels = self._read(table)
        order = options.labels or tuple(sorted(labels))
        self.vocabulary = Vocabulary(tuple(range(1, len(order) + 1)), order)

    def _read(self, table: Any) -> tuple[dict[str, _Entry], set[str]]:
        opts = self.options
        assert opts is not None and self.manifest is not None
        wanted = [opts.path_column, opts.label_column, opts.speaker_column]
        wanted += [c for c in (opts.gender_column, opts.key_column) if c is not None]
        missing = [c for c in wanted if c not in table.column_names]
        if missing:
            raise InputError(
                f"{self.manifest}: no column {', '.join(missing)}; it has "
                f"{', '.join(table.column_names)} (name the columns with --path-column, "
                "--label-column, --speaker-column)"
            )
        columns = {c: table.column(c).to_pylist() for c in wanted}
        entries: dict[str, _Entry] = {}
        labels: set[str] = set()
        # strings and os.path, not pathlib: a quarter of a million rows (measured)
        root = str(self._root)
        header = 2 if str(self.manifest).endswith((".csv", ".tsv")) else 1
        for i, raw in enumerate(columns[opts.path_column]):
            line = i + header
            if raw is None or not str(raw).strip():
                raise InputError(f"{self.manifest}:{line}: no path")
            text = os.path.expanduser(str(raw).strip())
            path = os.path.normpath(text if os.path.isabs(text) else os.path.join(root, text))
            label = columns[opts.label_column][i]
            speaker = columns[opts.speaker_column][i]
            gender = columns[opts.gender_column][i] if opts.gender_column else None
            key = columns[opts.key_column][i] if opts.key_column else None
            if key is None:
                inside = path.startswith(root + os.sep)
                key = (path[len(root) + 1 :] if inside else path.lstrip(os.sep)).replace(
                    os.sep, "/"
                )
            entry = _Entry(
                line,
                "" if label is None else str(label).strip(),
                "" if speaker is None else str(speaker).strip(),
                _GENDERS.get(str(gender).strip().lower()) if gender is not None else None,
                str(key),
            )
            entries[path] = entry
            if entry.label:
                labels.add(entry.label)
        if opts.labels is not None:
            unknown = sorted(set(opts.labels) - labels)
            if len(set(opts.labels)) != len(opts.labels):
                raise InputError(f"--labels names a label twice: {', '.join(opts.labels)}")
            if unknown:
                raise InputError(f"--labels: no row of {self.manifest} has {', '.join(unknown)}")
        return entries, labels

    def enumerate(self, sources: list[Path]) -> Enumeration:
        """A file per manifest row (``sources`` are the manifest, read already).

        Raises:
            InputError: the adapter was made without a manifest (the registry's instance).
        """
        if self.manifest is None:
            raise InputError(
                "a manifest is ingested with `mmemo ingest manifest FILE --dataset NAME`"
            )
        found = Enumeration(media=self.media_suffixes)
        for path in self._entries:
            name = os.path.basename(path)
            found.files.append(SourceFile(os.path.splitext(name)[0], Path(path)))
        return found

    def looks_like(self, item: SourceFile) -> bool:
        return str(item.path) in self._entries

    def clip(self, item: SourceFile, tables: CorpusTables) -> Clip:
        entry = self._entries[str(item.path)]
        where = f"line {entry.line}"
        if not entry.label:
            raise InvalidNameError(f"{where}: no label")
        if entry.label not in self.vocabulary.labels:
            raise InvalidNameError(
                f"{where}: label {entry.label!r} is not one of --labels "
                f"({', '.join(self.vocabulary.labels)})"
            )
        if not entry.speaker:
            raise InvalidNameError(f"{where}: no speaker")
        path = str(item.path)
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in self.media_suffixes:
            raise InvalidNameError(f"{where}: {suffix or 'no suffix'} is no media file kind")
        if not os.path.isfile(path):
            raise InvalidNameError(f"{where}: no such file")
        code = self.vocabulary.codes[self.vocabulary.labels.index(entry.label)]
        return Clip(
            clip_id=f"{self.name}:{entry.key}",
            modality=3 if suffix in AUDIO_SUFFIXES else 1,
            emotion=code,
            label=entry.label,
            actor=None,
            speaker=entry.speaker,
            gender=entry.gender,
        )


def read_manifest(path: Path) -> Any:
    """A manifest as an Arrow table: CSV (``.csv``, ``.tsv``), JSON lines (``.jsonl``,
    ``.json``) or parquet, by suffix.

    Raises:
        InputError: a missing file, another suffix, or a table that does not parse.
    """
    import pyarrow as pa

    if not path.is_file():
        raise InputError(f"{path}: no such manifest")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv"):
            from pyarrow import csv

            delimiter = "\t" if suffix == ".tsv" else ","
            strings = csv.ConvertOptions(strings_can_be_null=True)
            return csv.read_csv(
                path, parse_options=csv.ParseOptions(delimiter=delimiter), convert_options=strings
            )
        if suffix in (".jsonl", ".json"):
            from pyarrow import json

            return json.read_json(path)
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not a readable manifest ({first})") from None
    raise InputError(f"{path}: a manifest is .csv, .tsv, .jsonl, .json or .parquet")
