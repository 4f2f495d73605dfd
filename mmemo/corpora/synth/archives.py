"""Zip archives of a synthetic corpus, named and laid out like the RAVDESS distribution."""

from __future__ import annotations

import zipfile
from pathlib import Path

from mmemo.corpora.ravdess import looks_like_ravdess, parse_name
from mmemo.errors import NotFoundError


def write_archives(corpus: Path, out: Path) -> list[Path]:
    """Pack a corpus into zip archives named like the real RAVDESS distribution.

    WAV files go to ``Audio_Speech_Actors_01-24.zip`` and ``Audio_Song_Actors_01-24.zip``;
    MP4 files (full-AV and video-only) to ``Video_Speech_Actor_NN.zip`` and
    ``Video_Song_Actor_NN.zip`` per actor. Members are named ``Actor_NN/<stem>.<ext>``,
    stored uncompressed, in sorted order and with a fixed timestamp, so the archives are
    byte-identical for identical inputs. OpenFace CSVs are not packed.

    Args:
        corpus: A directory with ``Actor_NN/`` folders, as written by :func:`create_ravdess`.
        out: Directory to write the archives into (created if missing).

    Returns:
        The archives written, audio first, then video by actor; only archives with members.

    Raises:
        NotFoundError: ``corpus`` is not a directory.
    """
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise NotFoundError(f"corpus directory '{corpus}' does not exist")
    groups: dict[str, list[Path]] = {}
    for path in sorted(corpus.glob("Actor_[0-9][0-9]/*")):
        if path.suffix not in (".wav", ".mp4") or not looks_like_ravdess(path.stem):
            continue
        name = parse_name(path.stem)
        channel = "Speech" if name.vocal_channel == 1 else "Song"
        if path.suffix == ".wav" and name.modality == 3:
            archive = f"Audio_{channel}_Actors_01-24.zip"
        elif path.suffix == ".mp4" and name.modality in (1, 2):
            archive = f"Video_{channel}_Actor_{name.actor:02d}.zip"
        else:
            continue
        groups.setdefault(archive, []).append(path)

    def order(archive: str) -> tuple[bool, str, bool]:
        # Audio first, then video by actor; speech before song.
        return (archive.startswith("Video_"), archive[-6:], "_Song_" in archive)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for archive in sorted(groups, key=order):
        target = out / archive
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as zf:
            for path in sorted(groups[archive], key=lambda p: (p.parent.name, p.name)):
                info = zipfile.ZipInfo(f"{path.parent.name}/{path.name}", (1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                zf.writestr(info, path.read_bytes())
        written.append(target)
    return written
