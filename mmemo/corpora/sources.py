"""Where corpus files come from: directory trees, zip archives read in place, lists of names.

Every source yields :class:`SourceFile` items; only :func:`read_bytes` and :func:`open_media`
know how to get at the bytes of a member of an archive.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from mmemo.errors import InputError

MEDIA_SUFFIXES = frozenset({".wav", ".mp4"})
LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})


@dataclass(frozen=True)
class SourceFile:
    """One corpus file: on disk (``member`` None), in a zip (``member`` set), or a bare name."""

    stem: str
    path: Path | None
    member: str | None = None
    #: A bare name's own text (``clips.txt``'s line): its suffix may say the modality.
    name: str | None = None

    @property
    def suffix(self) -> str:
        name = self.member if self.member is not None else (self.path.name if self.path else "")
        return PurePosixPath(name or self.name or "").suffix.lower()

    @property
    def folder(self) -> str:
        """The name of the folder the file is in (inside the archive, for a member)."""
        if self.member is not None:
            return PurePosixPath(self.member).parent.name
        return self.path.parent.name if self.path is not None else ""

    @property
    def where(self) -> str:
        """Human-readable location for messages."""
        if self.path is None:
            return self.stem
        return f"{self.path}:{self.member}" if self.member else str(self.path)


@dataclass
class Enumeration:
    """What the sources hold: media files, plus what was skipped or refused and why."""

    files: list[SourceFile] = field(default_factory=list)
    media: frozenset[str] = MEDIA_SUFFIXES  # the suffixes taken as media
    not_media: int = 0
    skipped: list[SourceFile] = field(default_factory=list)  # each not-media file
    refused: list[str] = field(default_factory=list)


def enumerate_sources(sources: list[Path], media: frozenset[str] = MEDIA_SUFFIXES) -> Enumeration:
    """List the media files of every source: files whose suffix (lower case) is in ``media``.

    Raises:
        InputError: a missing or unreadable source, or a corrupt zip archive.
    """
    found = Enumeration(media=media)
    for source in sources:
        source = Path(source).expanduser().absolute()
        if not source.exists():
            raise InputError(f"{source}: no such file or directory")
        if source.is_dir():
            _walk_dir(source, found)
        elif source.suffix.lower() == ".zip":
            _walk_zip(source, found)
        elif source.suffix.lower() in media:
            found.files.append(SourceFile(source.stem, source))
        elif source.suffix.lower() in LIST_SUFFIXES:
            _read_list(source, found)
        else:
            kinds, lists = ", ".join(sorted(media)), ", ".join(sorted(LIST_SUFFIXES))
            raise InputError(
                f"{source}: not a directory, .zip archive, media file ({kinds}) "
                f"or list of names ({lists})"
            )
    return found


def _walk_dir(root: Path, found: Enumeration) -> None:
    try:
        paths = sorted(p for p in root.rglob("*") if p.is_file())
    except OSError as exc:
        raise InputError(f"{root}: cannot read directory ({exc.strerror})") from None
    for path in paths:
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.suffix.lower() in found.media:
            found.files.append(SourceFile(path.stem, path))
        else:
            found.not_media += 1
            found.skipped.append(SourceFile(path.stem, path))


def member_escapes(name: str) -> bool:
    """True when a member name is absolute or climbs out of the folder it would unpack into."""
    posix = PurePosixPath(name.replace("\\", "/"))
    return posix.is_absolute() or ".." in posix.parts or (len(name) > 1 and name[1] == ":")


def _walk_zip(archive: Path, found: Enumeration) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{archive}: not a readable zip archive ({exc})") from None
    for info in sorted(infos, key=lambda i: i.filename):
        if info.is_dir():
            continue
        if member_escapes(info.filename):
            found.refused.append(f"{archive}:{info.filename}")
            continue
        member = PurePosixPath(info.filename)
        if member.suffix.lower() in found.media:
            found.files.append(SourceFile(member.stem, archive, info.filename))
        else:
            found.not_media += 1
            found.skipped.append(SourceFile(member.stem, archive, info.filename))


def _read_list(listing: Path, found: Enumeration) -> None:
    try:
        lines = listing.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{listing}: cannot read list of names ({exc})") from None
    for raw in lines:
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        candidate = Path(entry)
        if not candidate.is_absolute() and not candidate.exists():
            candidate = listing.parent / entry
        if candidate.is_file() and candidate.suffix.lower() in found.media:
            found.files.append(SourceFile(candidate.stem, candidate.absolute()))
        else:
            found.files.append(SourceFile(PurePosixPath(entry).stem, None, name=entry))


def read_bytes(item: SourceFile) -> bytes:
    """All bytes of a file or archive member.

    Raises:
        InputError: unreadable file or corrupt member (CRC error), naming it.
    """
    if item.path is None:
        raise InputError(f"clip {item.stem} was ingested by name only; ingest its media file")
    try:
        if item.member is None:
            return item.path.read_bytes()
        with zipfile.ZipFile(item.path) as zf:
            return zf.read(item.member)
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"{item.where}: cannot read ({exc})") from None


def open_media(path: str | Path, member: str | None = None) -> BinaryIO | Path:
    """Something PyAV and soundfile can open: the path itself, or the member's bytes."""
    if member is None:
        return Path(path)
    return io.BytesIO(read_bytes(SourceFile(PurePosixPath(member).stem, Path(path), member)))
