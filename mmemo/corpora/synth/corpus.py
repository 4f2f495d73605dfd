"""Writing a whole synthetic corpus: every file of the selected actors, in the real layout."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mmemo.corpora.synth.audio import synth_voice, write_wav
from mmemo.corpora.synth.openface import openface_csv
from mmemo.corpora.synth.recordings import (
    actor_recordings,
    actor_traits,
    recording_duration,
    select_actors,
)
from mmemo.corpora.synth.video import synth_pictures, write_mp4
from mmemo.errors import InputError, MissingDependencyError


@dataclass
class SynthCorpus:
    """What :func:`create_ravdess` wrote.

    Attributes:
        root: The corpus directory (holds ``Actor_NN/`` folders and ``openface/``).
        files: Every WAV and MP4 file, sorted by path.
        openface_dir: The folder of OpenFace CSVs, or None when they were not written.
        openface_files: One CSV per video file (modalities 01 and 02), sorted.
        actors: The actor numbers generated.
        seed: The seed the corpus was drawn from.
        seconds: The nominal clip duration.
        durations: Each recording's duration in seconds, by stem.
    """

    root: Path
    files: list[Path]
    openface_dir: Path | None
    openface_files: list[Path] = field(default_factory=list)
    actors: tuple[int, ...] = ()
    seed: int = 2020
    seconds: float = 1.0
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def stems(self) -> list[str]:
        """File stems of every WAV and MP4 file, in the order of :attr:`files`."""
        return [path.stem for path in self.files]

    @property
    def n_audio(self) -> int:
        """Number of audio-only WAV files (modality 03)."""
        return sum(path.suffix == ".wav" for path in self.files)

    @property
    def n_video(self) -> int:
        """Number of MP4 files (modalities 01 and 02)."""
        return sum(path.suffix == ".mp4" for path in self.files)

    @property
    def n_full_av(self) -> int:
        """Number of full-AV MP4 files (modality 01)."""
        return sum(path.name.startswith("01-") for path in self.files)

    @property
    def n_video_only(self) -> int:
        """Number of video-only MP4 files (modality 02)."""
        return sum(path.name.startswith("02-") for path in self.files)


def create_ravdess(
    out: Path,
    *,
    actors: int | Sequence[int] = 4,
    seed: int = 2020,
    seconds: float = 1.0,
    openface: bool = True,
    workers: int = 1,
) -> SynthCorpus:
    """Write a RAVDESS-shaped synthetic corpus.

    Args:
        out: Directory to write into (created if missing); existing files are overwritten.
        actors: ``N`` for actors 1..N, or a sequence of actor numbers (1-24).
        seed: Non-negative seed; the same arguments give byte-identical files.
        seconds: Nominal clip duration; each recording varies by up to ±25 % (at least 50 ms).
        openface: Also write one OpenFace 2.0 CSV per video file under ``out/openface``.
        workers: Processes to spread the actors over (1: in this process).

    Returns:
        The written corpus.

    Raises:
        InputError: An actor is out of range, the seed is negative, ``seconds`` is not
            positive or ``workers`` is below 1.
        MissingDependencyError: ``av`` or ``soundfile`` is not installed.
    """
    selected = select_actors(actors)
    if seed < 0:
        raise InputError(f"seed must be non-negative, got {seed}")
    if not seconds > 0:
        raise InputError(f"seconds must be positive, got {seconds}")
    if workers < 1:
        raise InputError(f"workers must be at least 1, got {workers}")
    _require("av", "media")
    _require("soundfile", "media")

    out = Path(out)
    of_dir = out / "openface" if openface else None
    if of_dir is not None:
        of_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(out, actor, seed, float(seconds), openface) for actor in selected]
    if workers == 1 or len(jobs) == 1:
        results = [_write_actor(*job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            results = list(pool.map(_write_actor, *zip(*jobs, strict=True)))

    files: list[Path] = []
    csvs: list[Path] = []
    durations: dict[str, float] = {}
    for media, of_files, durs in results:
        files += media
        csvs += of_files
        durations.update(durs)
    return SynthCorpus(
        root=out,
        files=sorted(files),
        openface_dir=of_dir,
        openface_files=sorted(csvs),
        actors=tuple(selected),
        seed=seed,
        seconds=float(seconds),
        durations=durations,
    )


def _require(module: str, extra: str) -> None:
    try:
        __import__(module)
    except ImportError as exc:  # pragma: no cover - both are project dependencies
        raise MissingDependencyError(module, extra) from exc


def _write_actor(
    out: Path, actor: int, seed: int, seconds: float, openface: bool
) -> tuple[list[Path], list[Path], dict[str, float]]:
    traits = actor_traits(actor, seed)
    folder = out / f"Actor_{actor:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    of_dir = out / "openface"
    media: list[Path] = []
    csvs: list[Path] = []
    durations: dict[str, float] = {}
    for rec, stems in actor_recordings(actor):
        duration = recording_duration(rec, seed, seconds)
        audio, envelope = synth_voice(rec, traits, seed, duration)
        frames = synth_pictures(rec, traits, seed, duration, envelope)
        csv_text = openface_csv(rec, traits, seed, duration) if openface else ""
        video_only: Path | None = None
        first_csv: Path | None = None
        # Video-only first, so that the full-AV file can copy its H.264 stream.
        for stem in sorted(stems, key=lambda s: {"02": 0, "01": 1}.get(s[:2], 2)):
            durations[stem] = duration
            modality = int(stem[:2])
            if modality == 3:
                path = folder / f"{stem}.wav"
                write_wav(path, audio)
            else:
                path = folder / f"{stem}.mp4"
                write_mp4(path, frames, audio if modality == 1 else None, video_only)
                if modality == 2:
                    video_only = path
                if openface:
                    target = of_dir / f"{stem}.csv"
                    if first_csv is None:
                        target.write_text(csv_text, encoding="ascii", newline="\n")
                        first_csv = target
                    else:
                        shutil.copyfile(first_csv, target)
                    csvs.append(target)
            media.append(path)
    return media, csvs, durations
