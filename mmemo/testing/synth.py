"""A deterministic, RAVDESS-shaped synthetic corpus for tests and demos.

:func:`create_ravdess` writes, for each selected actor, exactly the files the real corpus has
for that actor (:func:`mmemo.corpora.ravdess.corpus_names`) in the real layout::

    OUT/Actor_NN/03-VV-EE-II-SS-RR-NN.wav      audio-only: 48 kHz, 16-bit PCM, mono
    OUT/Actor_NN/01-VV-EE-II-SS-RR-NN.mp4      full-AV: H.264 64x48 15 fps + AAC 48 kHz stereo
    OUT/Actor_NN/02-VV-EE-II-SS-RR-NN.mp4      video-only: the same H.264 stream, no audio
    OUT/openface/0M-VV-EE-II-SS-RR-NN.csv      OpenFace 2.0 FeatureExtraction output (714 columns)

As in the real corpus, the three modalities of one recording (same fields but the modality)
share their content: the WAV is the sound of the full-AV MP4, the video-only MP4 shows the same
pictures, and the two OpenFace CSVs of a recording are identical.

The signal depends on the emotion, its intensity and the actor, so that models learn something:
the voice is a harmonic tone whose pitch, spectral tilt, loudness, syllable rate and vibrato
follow the emotion (female actors, even numbers, speak higher), the pictures are coloured by
the emotion with a mouth that opens with the voice, and the OpenFace action units follow a
FACS-like prototype per emotion (happy: AU06 + AU12, sad: AU01 + AU04 + AU15, ...).

Everything is seeded from ``seed`` and the file's fields, never from Python's ``hash``: the
same arguments give byte-identical WAV, CSV and MP4 files.
"""

from __future__ import annotations

import contextlib
import shutil
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from mmemo.corpora.openface_columns import AU_INTENSITY_COLUMNS, AU_PRESENCE_COLUMNS
from mmemo.corpora.ravdess import ACTORS, EMOTIONS, corpus_names, looks_like_ravdess, parse_name
from mmemo.errors import InputError, MissingDependencyError, NotFoundError

__all__ = [
    "AU_INTENSITY_COLUMNS",
    "AU_PRESENCE_COLUMNS",
    "AU_PROTOTYPES",
    "OPENFACE_COLUMNS",
    "SynthCorpus",
    "create_ravdess",
    "write_archives",
]

SAMPLE_RATE = 48_000
_SYNTH_RATE = 16_000
VIDEO_FPS = 15
VIDEO_SIZE = (64, 48)  # width, height
OPENFACE_FPS = 30
AAC_BIT_RATE = 48_000

# --------------------------------------------------------------------------------------------
# OpenFace 2.0 columns
# --------------------------------------------------------------------------------------------

_AU_R = tuple(int(c[2:4]) for c in AU_INTENSITY_COLUMNS)
_AU_C = tuple(int(c[2:4]) for c in AU_PRESENCE_COLUMNS)


def _openface_layout() -> list[tuple[str, str]]:
    """Column names of OpenFace 2.0 ``FeatureExtraction`` with their printf formats.

    The precisions follow OpenFace's ``RecorderCSV``: timestamp 3 decimals, confidence 2,
    gaze vectors 6, gaze angles 3, landmarks 1, head translation 1 and rotation 3, model
    parameters 3, AU intensities 2 and AU presences 1.
    """
    cols: list[tuple[str, str]] = [
        ("frame", "%d"),
        ("face_id", "%d"),
        ("timestamp", "%.3f"),
        ("confidence", "%.2f"),
        ("success", "%d"),
    ]
    cols += [(f"gaze_{eye}_{axis}", "%.6f") for eye in (0, 1) for axis in "xyz"]
    cols += [("gaze_angle_x", "%.3f"), ("gaze_angle_y", "%.3f")]
    cols += [(f"eye_lmk_{axis}_{i}", "%.1f") for axis in "xyXYZ" for i in range(56)]
    cols += [(f"pose_T{axis}", "%.1f") for axis in "xyz"]
    cols += [(f"pose_R{axis}", "%.3f") for axis in "xyz"]
    cols += [(f"{axis}_{i}", "%.1f") for axis in "xyXYZ" for i in range(68)]
    cols += [(name, "%.3f") for name in ("p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty")]
    cols += [(f"p_{i}", "%.3f") for i in range(34)]
    cols += [(name, "%.2f") for name in AU_INTENSITY_COLUMNS]
    cols += [(name, "%.1f") for name in AU_PRESENCE_COLUMNS]
    return cols


_LAYOUT = _openface_layout()
#: The 714 column names of an OpenFace 2.0 ``FeatureExtraction`` CSV, in file order (stripped:
#: the file itself separates them by ", ", so a naive reader sees a leading space).
OPENFACE_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _LAYOUT)
if len(OPENFACE_COLUMNS) != 714:  # pragma: no cover - guards the table above
    raise RuntimeError(f"OpenFace layout has {len(OPENFACE_COLUMNS)} columns, expected 714")
_COL = {name: i for i, name in enumerate(OPENFACE_COLUMNS)}
_HEADER = ", ".join(OPENFACE_COLUMNS) + "\n"
_ROW_FORMAT = ", ".join(fmt for _, fmt in _LAYOUT)

#: FACS-like action-unit prototype per emotion at normal intensity (0-5 scale); strong
#: intensity scales it by 1.5. Units not named stay near a small baseline.
AU_PROTOTYPES: dict[str, dict[str, float]] = {
    "neutral": {},
    "calm": {"AU12": 0.6},
    "happy": {"AU06": 2.4, "AU12": 3.0, "AU25": 1.4, "AU10": 0.6},
    "sad": {"AU01": 2.0, "AU04": 1.8, "AU15": 2.0, "AU17": 1.0},
    "angry": {"AU04": 2.8, "AU07": 2.2, "AU23": 2.0, "AU05": 0.8, "AU17": 0.8},
    "fearful": {"AU01": 2.2, "AU02": 1.8, "AU04": 1.6, "AU05": 1.8, "AU20": 2.2, "AU25": 1.2},
    "disgust": {"AU09": 2.6, "AU10": 2.2, "AU04": 1.0, "AU15": 0.8, "AU17": 0.8},
    "surprised": {"AU01": 2.6, "AU02": 2.4, "AU05": 2.2, "AU26": 2.6, "AU25": 1.8},
}

# --------------------------------------------------------------------------------------------
# Voice and picture parameters per emotion
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Voice:
    semitones: float  # pitch relative to the actor's neutral voice
    tilt: float  # harmonic amplitude falls as k ** -tilt
    level_db: float  # RMS of the voiced part, dBFS
    syllable_hz: float  # amplitude modulation rate
    vibrato: float  # vibrato depth in semitones
    noise_db: float  # white-noise floor, dBFS


_VOICES: dict[str, _Voice] = {
    "neutral": _Voice(0.0, 1.6, -22.0, 4.0, 0.15, -52.0),
    "calm": _Voice(-1.0, 2.0, -25.0, 3.2, 0.10, -54.0),
    "happy": _Voice(3.5, 1.2, -18.0, 5.0, 0.60, -48.0),
    "sad": _Voice(-2.0, 2.4, -27.0, 2.8, 0.30, -50.0),
    "angry": _Voice(3.0, 0.8, -14.0, 5.5, 0.40, -42.0),
    "fearful": _Voice(5.0, 1.4, -20.0, 6.0, 1.20, -44.0),
    "disgust": _Voice(-1.5, 1.3, -21.0, 3.5, 0.30, -45.0),
    "surprised": _Voice(6.0, 1.1, -17.0, 4.5, 0.80, -48.0),
}

#: Background colour (RGB) of the pictures per emotion.
_COLOURS: dict[str, tuple[int, int, int]] = {
    "neutral": (128, 128, 128),
    "calm": (90, 150, 200),
    "happy": (240, 200, 60),
    "sad": (40, 60, 140),
    "angry": (200, 40, 30),
    "fearful": (120, 60, 160),
    "disgust": (80, 140, 50),
    "surprised": (240, 120, 200),
}

_STRONG = 1.5  # how much further from neutral a strong rendition goes


@dataclass(frozen=True)
class _Recording:
    """One recording: the fields of a stem without the modality, and what it looks like."""

    key: str  # VV-EE-II-SS-RR-AA
    channel: int
    emotion: int
    intensity: int
    statement: int
    repetition: int
    actor: int

    @property
    def label(self) -> str:
        return EMOTIONS[self.emotion - 1]

    @property
    def strength(self) -> float:
        return _STRONG if self.intensity == 2 else 1.0

    def seed_words(self, seed: int, stream: int) -> list[int]:
        fields = (self.channel, self.emotion, self.intensity, self.statement, self.repetition)
        return [seed, stream, self.actor, *fields]


_AUDIO, _VIDEO, _FACE, _DURATION = 1, 2, 3, 4


@dataclass(frozen=True)
class _Actor:
    """Actor traits drawn once per actor from the seed."""

    number: int
    f0: float
    level_db: float
    skin: tuple[int, int, int]
    face_xy: tuple[float, float]
    face_scale: float
    expressiveness: float  # scales the AU prototypes
    au_offset: np.ndarray  # (17,) added to every AU intensity
    shape_params: np.ndarray  # (34,) OpenFace PDM parameters
    landmarks: np.ndarray  # (68, 2) normalised 2D template
    eye_landmarks: np.ndarray  # (56, 2) normalised 2D template


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


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
    selected = _select_actors(actors)
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


# --------------------------------------------------------------------------------------------
# Per actor
# --------------------------------------------------------------------------------------------


def _select_actors(actors: int | Sequence[int]) -> list[int]:
    if isinstance(actors, (int, np.integer)):
        if not 1 <= actors <= 24:
            raise InputError(f"actors must be between 1 and 24, got {actors}")
        return list(range(1, int(actors) + 1))
    chosen = sorted({int(a) for a in actors})
    bad = [a for a in chosen if a not in ACTORS]
    if bad or not chosen:
        raise InputError(f"unknown actor(s) {bad or '(none given)'}; expected numbers 1-24")
    return chosen


def _require(module: str, extra: str) -> None:
    try:
        __import__(module)
    except ImportError as exc:  # pragma: no cover - both are project dependencies
        raise MissingDependencyError(module, extra) from exc


def _recordings(actor: int) -> Iterator[tuple[_Recording, list[str]]]:
    """The recordings of one actor with the stems (modalities) each appears in."""
    by_key: dict[str, list[str]] = {}
    for stem in corpus_names():
        if stem.endswith(f"-{actor:02d}"):
            by_key.setdefault(stem[3:], []).append(stem)
    for key, stems in by_key.items():
        ch, em, it, st, rp, ac = (int(part) for part in key.split("-"))
        yield _Recording(key, ch, em, it, st, rp, ac), stems


def _write_actor(
    out: Path, actor: int, seed: int, seconds: float, openface: bool
) -> tuple[list[Path], list[Path], dict[str, float]]:
    import soundfile as sf

    traits = _actor_traits(actor, seed)
    folder = out / f"Actor_{actor:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    of_dir = out / "openface"
    media: list[Path] = []
    csvs: list[Path] = []
    durations: dict[str, float] = {}
    for rec, stems in _recordings(actor):
        duration = _duration(rec, seed, seconds)
        audio, envelope = _voice(rec, traits, seed, duration)
        frames = _pictures(rec, traits, seed, duration, envelope)
        csv_text = _openface_csv(rec, traits, seed, duration) if openface else ""
        video_only: Path | None = None
        first_csv: Path | None = None
        # Video-only first, so that the full-AV file can copy its H.264 stream.
        for stem in sorted(stems, key=lambda s: {"02": 0, "01": 1}.get(s[:2], 2)):
            durations[stem] = duration
            modality = int(stem[:2])
            if modality == 3:
                path = folder / f"{stem}.wav"
                pcm = np.round(audio * 32767.0).astype(np.int16)
                sf.write(path, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
            else:
                path = folder / f"{stem}.mp4"
                _write_mp4(path, frames, audio if modality == 1 else None, video_only)
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


def _duration(rec: _Recording, seed: int, seconds: float) -> float:
    rng = np.random.default_rng(rec.seed_words(seed, _DURATION))
    # Whole milliseconds, so that sample and frame counts are exact and reproducible; at least
    # 50 ms, so that every file has a few video frames and OpenFace rows.
    return max(0.05, round(seconds * float(rng.uniform(0.75, 1.25)), 3))


def _actor_traits(actor: int, seed: int) -> _Actor:
    rng = np.random.default_rng([seed, 0, actor])
    female = actor % 2 == 0
    f0 = (205.0 if female else 115.0) * 2 ** (rng.normal(0.0, 1.5) / 12)
    skin = tuple(int(v) for v in np.clip(rng.normal((200, 160, 130), 25), 40, 250))
    landmarks = _LANDMARK_TEMPLATE * (1 + rng.normal(0, 0.04, (1, 2))) + rng.normal(
        0, 0.01, (68, 2)
    )
    eyes = _EYE_TEMPLATE * (1 + rng.normal(0, 0.03, (1, 2))) + rng.normal(0, 0.004, (56, 2))
    return _Actor(
        number=actor,
        f0=float(f0),
        level_db=float(rng.normal(0.0, 1.5)),
        skin=(skin[0], skin[1], skin[2]),
        face_xy=(float(rng.normal(640, 40)), float(rng.normal(330, 25))),
        face_scale=float(rng.uniform(170, 230)),
        expressiveness=float(rng.uniform(0.5, 1.3)),
        au_offset=np.clip(rng.normal(0.2, 0.35, len(_AU_R)), -0.1, 1.2),
        shape_params=rng.normal(0.0, 8.0, 34) / np.arange(1, 35) ** 0.5,
        landmarks=landmarks,
        eye_landmarks=eyes,
    )


# --------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------


def _scaled(rec: _Recording) -> _Voice:
    """The voice of an emotion, pushed further from neutral when the intensity is strong."""
    v, n, k = _VOICES[rec.label], _VOICES["neutral"], rec.strength
    return _Voice(
        semitones=n.semitones + k * (v.semitones - n.semitones),
        tilt=max(0.5, n.tilt + k * (v.tilt - n.tilt)),
        level_db=n.level_db + k * (v.level_db - n.level_db) + (2.0 if rec.intensity == 2 else 0),
        syllable_hz=n.syllable_hz + k * (v.syllable_hz - n.syllable_hz),
        vibrato=v.vibrato * k,
        noise_db=v.noise_db,
    )


def _smooth_noise(rng: np.random.Generator, n: int, cols: int, width: int) -> np.ndarray:
    """Gaussian noise smoothed along time by a moving average of ``width`` steps, unit std."""
    width = max(1, min(width, n))
    raw = rng.standard_normal((n + width - 1, cols))
    csum = np.cumsum(raw, axis=0)
    csum = np.vstack([np.zeros((1, cols)), csum])
    return (csum[width:] - csum[:-width]) / np.sqrt(width)


def _voice(
    rec: _Recording, actor: _Actor, seed: int, duration: float
) -> tuple[np.ndarray, np.ndarray]:
    """Mono float audio in [-1, 1] at 48 kHz and its amplitude envelope (0-1) at 48 kHz.

    The tone is drawn at 16 kHz (harmonics below 7 kHz) and resampled with soxr, which is
    three times cheaper than drawing it at 48 kHz; the noise floor is added at 48 kHz.
    """
    import soxr

    rng = np.random.default_rng(rec.seed_words(seed, _AUDIO))
    voice = _scaled(rec)
    factor = SAMPLE_RATE // _SYNTH_RATE
    n = round(duration * _SYNTH_RATE)
    t = np.arange(n) / _SYNTH_RATE

    # Voiced region between some leading and trailing silence, like the real clips.
    start = duration * rng.uniform(0.10, 0.18)
    end = duration * (1 - rng.uniform(0.08, 0.14))
    ramp = 0.03
    gate = np.clip(np.minimum(t - start, end - t) / ramp, 0.0, 1.0)

    # Pitch contour in semitones: declination (sung: a few held notes), vibrato, drift.
    if rec.channel == 2:
        notes = rng.choice([0, 2, 4, 5, 7, 9], size=4) + 0.0
        step = (4 * (t - start) / max(end - start, 1e-3)).astype(int)
        contour = notes[np.clip(step, 0, 3)]
        syllables = 0.85 + 0.15 * np.cos(2 * np.pi * 1.5 * t)
    else:
        phase = rng.uniform(0, 2 * np.pi)
        slope = -2.0 if rec.statement == 1 else -1.0
        contour = slope * (t - start) / duration + 1.5 * np.sin(2 * np.pi * 0.8 * t + phase)
        syl = 0.5 - 0.5 * np.cos(2 * np.pi * voice.syllable_hz * (t - start))
        syllables = 0.25 + 0.75 * syl**0.7
    vibrato_hz = 5.5 + rng.normal(0, 0.3)
    contour = contour + voice.vibrato * np.sin(2 * np.pi * vibrato_hz * t)
    drift = np.interp(t, np.linspace(0, duration, 9), rng.normal(0, 0.3, 9))
    f0 = actor.f0 * 2 ** ((voice.semitones + contour + drift) / 12)

    phi = 2 * np.pi * np.cumsum(f0) / _SYNTH_RATE
    n_harm = int(max(1, min(16, 7000 // float(f0.max()))))
    # sin(k * phi) as the imaginary part of exp(i * phi) ** k: one complex product per
    # harmonic instead of one sine.
    unit = np.exp(1j * phi)
    power = unit.copy()
    tone = power.imag.copy()
    for k in range(2, n_harm + 1):
        power *= unit
        tone += k ** (-voice.tilt) * power.imag

    envelope = gate * syllables
    voiced = tone * envelope
    rms = np.sqrt(np.mean(voiced[gate > 0.5] ** 2)) if np.any(gate > 0.5) else 1.0
    target = 10 ** ((voice.level_db + actor.level_db) / 20)
    voiced = voiced * (target / max(rms, 1e-9))
    signal = soxr.resample(voiced, _SYNTH_RATE, SAMPLE_RATE)[: n * factor]
    signal = signal + rng.standard_normal(signal.shape[0]) * 10 ** (voice.noise_db / 20)
    return np.clip(signal, -1.0, 1.0), np.repeat(envelope, factor)[: signal.shape[0]]


# --------------------------------------------------------------------------------------------
# Video
# --------------------------------------------------------------------------------------------

_W, _H = VIDEO_SIZE
_YY, _XX = np.mgrid[0:_H, 0:_W]


def _pictures(
    rec: _Recording, actor: _Actor, seed: int, duration: float, envelope: np.ndarray
) -> np.ndarray:
    """RGB frames ``(n, H, W, 3)`` uint8: emotion-coloured background, a face, a moving mouth."""
    rng = np.random.default_rng(rec.seed_words(seed, _VIDEO))
    n = max(1, round(duration * VIDEO_FPS))
    idx = np.minimum((np.arange(n) / VIDEO_FPS * SAMPLE_RATE).astype(int), len(envelope) - 1)
    mouth = envelope[idx]  # (n,)
    sway = _smooth_noise(rng, n, 2, 5) * 0.8  # head motion in pixels

    base = np.array(_COLOURS[rec.label], float)
    if rec.intensity == 2:
        base = np.clip(128 + 1.3 * (base - 128), 0, 255)
    frames = np.empty((n, _H, _W, 3), np.float32)
    frames[:] = base
    cx = _W / 2 + (actor.face_xy[0] - 640) / 40 + sway[:, 0, None, None]
    cy = _H / 2 + (actor.face_xy[1] - 330) / 40 + sway[:, 1, None, None]
    rx, ry = 0.22 * _W * actor.face_scale / 200, 0.38 * _H * actor.face_scale / 200
    face = ((_XX - cx) / rx) ** 2 + ((_YY - cy) / ry) ** 2 <= 1.0
    frames[face] = actor.skin
    mouth_h = 1.0 + 5.0 * mouth[:, None, None]
    in_mouth = (np.abs(_XX - cx) <= rx * 0.45) & (np.abs(_YY - (cy + ry * 0.45)) <= mouth_h / 2)
    frames[in_mouth] = (60, 20, 20)
    frames += 2.0 * rng.standard_normal(frames.shape, dtype=np.float32)
    return np.clip(np.round(frames), 0, 255).astype(np.uint8)


def _write_mp4(
    path: Path, frames: np.ndarray, audio: np.ndarray | None, video_from: Path | None = None
) -> None:
    """Write an MP4 file: H.264 video, plus AAC 48 kHz stereo when ``audio`` is given.

    Args:
        path: File to write.
        frames: RGB frames ``(n, H, W, 3)`` to encode when ``video_from`` is None.
        audio: Mono samples at 48 kHz (written to both channels), or None for no sound.
        video_from: An MP4 file whose H.264 stream is copied instead of encoding ``frames``
            (the full-AV file of a recording carries the video-only file's pictures).
    """
    import av

    with contextlib.ExitStack() as stack:
        container = stack.enter_context(av.open(str(path), "w", format="mp4"))
        # The video stream comes first, as in the real files.
        if video_from is None:
            video = container.add_stream(
                "libx264", rate=VIDEO_FPS, options={"preset": "ultrafast", "crf": "28"}
            )
            video.width, video.height, video.pix_fmt = _W, _H, "yuv420p"
            video.codec_context.thread_count = 1
        else:
            source = stack.enter_context(av.open(str(video_from)))
            template = source.streams.video[0]
            video = container.add_stream_from_template(template)
        sound = None
        if audio is not None:
            sound = container.add_stream(
                "aac", rate=SAMPLE_RATE, layout="stereo", options={"aac_coder": "fast"}
            )
            sound.bit_rate = AAC_BIT_RATE
        if video_from is None:
            for i, image in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = i
                frame.time_base = Fraction(1, VIDEO_FPS)
                container.mux(video.encode(frame))
            container.mux(video.encode(None))
        else:
            for packet in source.demux(template):
                if packet.dts is None:
                    continue
                packet.stream = video
                container.mux(packet)
        if sound is not None and audio is not None:
            stereo = np.stack([audio, audio]).astype(np.float32)
            chunk = 1024 * 16
            for start in range(0, stereo.shape[1], chunk):
                piece = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(stereo[:, start : start + chunk]),
                    format="fltp",
                    layout="stereo",
                )
                piece.sample_rate = SAMPLE_RATE
                piece.pts = start
                piece.time_base = Fraction(1, SAMPLE_RATE)
                container.mux(sound.encode(piece))
            container.mux(sound.encode(None))


# --------------------------------------------------------------------------------------------
# OpenFace
# --------------------------------------------------------------------------------------------


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int, a0: float = 0.0) -> np.ndarray:
    a = a0 + 2 * np.pi * np.arange(n) / n
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)


def _landmark_template() -> np.ndarray:
    """A rough mean face in the iBUG 68-point order, in units of face width (y down)."""
    a = np.pi * np.arange(17) / 16
    jaw = np.stack([-0.5 * np.cos(a), 0.62 * np.sin(a) - 0.05], axis=1)
    bx = np.linspace(-0.42, -0.08, 5)
    brow_l = np.stack([bx, -0.27 - 0.05 * np.sin(np.linspace(0.3, 2.8, 5))], axis=1)
    brow_r = brow_l[::-1] * (-1, 1)
    bridge = np.stack([np.zeros(4), np.linspace(-0.15, 0.1, 4)], axis=1)
    nostrils = np.stack([np.linspace(-0.1, 0.1, 5), 0.17 + 0.02 * np.cos(np.linspace(-1, 1, 5))], 1)
    eye_l = _ellipse(-0.22, -0.12, 0.08, 0.03, 6, np.pi)
    eye_r = _ellipse(0.22, -0.12, 0.08, 0.03, 6, np.pi)
    outer = _ellipse(0.0, 0.36, 0.2, 0.07, 12, np.pi)
    inner = _ellipse(0.0, 0.36, 0.12, 0.025, 8, np.pi)
    return np.vstack([jaw, brow_l, brow_r, bridge, nostrils, eye_l, eye_r, outer, inner])


def _eye_template() -> np.ndarray:
    """OpenFace's 56 eye landmarks (28 per eye: 8 lid, 8 iris, 12 more lid/pupil points)."""
    eyes = []
    for cx in (-0.22, 0.22):
        lid = _ellipse(cx, -0.12, 0.085, 0.032, 20, np.pi)
        iris = _ellipse(cx, -0.12, 0.025, 0.025, 8)
        eyes += [lid, iris]
    return np.vstack(eyes)


_LANDMARK_TEMPLATE = _landmark_template()
_EYE_TEMPLATE = _eye_template()
_MOUTH_LOWER = np.array(
    [i for i in range(48, 68) if _LANDMARK_TEMPLATE[i, 1] > 0.36 + 1e-6], dtype=int
)
_AU_INDEX = {f"AU{au:02d}": i for i, au in enumerate(_AU_R)}
_BLINK = np.array([1.0, 2.5, 3.5, 2.5, 1.0])
_PROTOTYPE_ARRAYS = {
    label: np.array([units.get(f"AU{au:02d}", 0.0) for au in _AU_R])
    for label, units in AU_PROTOTYPES.items()
}
#: The emotion whose face a take sometimes borrows from.
_CONFUSED_WITH = {
    "neutral": "calm",
    "calm": "neutral",
    "happy": "surprised",
    "sad": "fearful",
    "angry": "disgust",
    "fearful": "surprised",
    "disgust": "angry",
    "surprised": "fearful",
}


def _au_intensities(rec: _Recording, actor: _Actor, rng: np.random.Generator, n: int) -> np.ndarray:
    """AU intensities ``(n, 17)``: the emotion prototype over an onset-apex-offset envelope."""
    # Some takes blend in the face of an easily confused emotion, as real actors' faces do.
    blend = rng.uniform(0.0, 0.7) if rng.random() < 0.4 else 0.0
    proto = (1 - blend) * _PROTOTYPE_ARRAYS[rec.label]
    proto = (proto + blend * _PROTOTYPE_ARRAYS[_CONFUSED_WITH[rec.label]]) * rec.strength
    t = np.linspace(0.0, 1.0, n)
    onset, offset = rng.uniform(0.1, 0.25), rng.uniform(0.75, 0.9)
    shape = np.clip(np.minimum(t / onset, (1 - t) / (1 - offset)), 0, 1)
    shape = shape * shape * (3 - 2 * shape)  # smoothstep
    talk = 0.6 + 0.4 * np.abs(np.sin(2 * np.pi * 2.0 * t * n / OPENFACE_FPS))
    # How strongly this take shows each unit varies from take to take and actor to actor.
    gain = actor.expressiveness * rng.lognormal(0.0, 0.45) * rng.lognormal(0.0, 0.6, len(_AU_R))
    values = 0.15 + actor.au_offset + shape[:, None] * (proto * gain)[None, :]
    values = values + 0.35 * _smooth_noise(rng, n, len(_AU_R), 7)
    values[:, _AU_INDEX["AU25"]] += 0.9 * shape * talk  # the mouth parts while speaking
    values[:, _AU_INDEX["AU26"]] += 0.5 * shape * talk
    blinks = (rng.random(n) < 0.4 / OPENFACE_FPS).astype(float)  # about 0.4 blinks a second
    values[:, _AU_INDEX["AU45"]] += np.convolve(blinks, _BLINK)[2 : 2 + n]
    return np.clip(values, 0.0, 5.0)


def _openface_frame_table(rec: _Recording, actor: _Actor, seed: int, duration: float) -> np.ndarray:
    """The numeric content ``(n, 714)`` of one OpenFace CSV."""
    rng = np.random.default_rng(rec.seed_words(seed, _FACE))
    n = max(1, round(duration * OPENFACE_FPS))
    table = np.zeros((n, len(OPENFACE_COLUMNS)))
    table[:, _COL["frame"]] = np.arange(1, n + 1)
    table[:, _COL["timestamp"]] = np.arange(n) / OPENFACE_FPS
    confidence = np.full(n, 0.98)
    dips = rng.random(n) < 0.04
    confidence[dips] = rng.uniform(0.05, 0.9, dips.sum())
    success = confidence >= 0.7
    table[:, _COL["confidence"]] = confidence
    table[:, _COL["success"]] = success

    # Head pose: slow wander around the actor's position.
    motion = _smooth_noise(rng, n, 6, 9)
    tx, ty, tz = 20.0 + 6 * motion[:, 0], -15.0 + 5 * motion[:, 1], 520.0 + 12 * motion[:, 2]
    rx, ry, rz = 0.08 + 0.04 * motion[:, 3], -0.03 + 0.05 * motion[:, 4], 0.02 * motion[:, 5]
    pose = np.stack([tx, ty, tz, rx, ry, rz], axis=1)
    table[:, _COL["pose_Tx"] : _COL["pose_Rz"] + 1] = pose

    # Gaze: two unit vectors pointing roughly at the camera.
    gaze_dir = np.stack(
        [0.05 + 0.08 * motion[:, 4], 0.12 + 0.06 * motion[:, 3], -np.ones(n)], axis=1
    )
    gaze = np.concatenate(
        [gaze_dir + (-0.03, 0, 0), gaze_dir + (0.03, 0, 0)], axis=1
    ) + 0.01 * rng.standard_normal((n, 6))
    gaze = gaze.reshape(n, 2, 3)
    gaze /= np.linalg.norm(gaze, axis=2, keepdims=True)
    table[:, _COL["gaze_0_x"] : _COL["gaze_1_z"] + 1] = gaze.reshape(n, 6)
    mean_gaze = gaze.mean(axis=1)
    table[:, _COL["gaze_angle_x"]] = np.arctan2(mean_gaze[:, 0], -mean_gaze[:, 2])
    table[:, _COL["gaze_angle_y"]] = np.arctan2(mean_gaze[:, 1], -mean_gaze[:, 2])

    # Action units.
    au_r = _au_intensities(rec, actor, rng, n).round(2)  # as printed, for consistent presences
    table[:, _COL["AU01_r"] : _COL["AU45_r"] + 1] = au_r
    au_c = np.zeros((n, len(_AU_C)))
    for j, au in enumerate(_AU_C):
        if au == 28:
            lip_suck = 0.6 if rec.label in ("sad", "fearful") else 0.0
            au_c[:, j] = (_smooth_noise(rng, n, 1, 9)[:, 0] + lip_suck) > 1.4
        else:
            au_c[:, j] = au_r[:, _AU_R.index(au)] >= 1.0
    table[:, _COL["AU01_c"] : _COL["AU45_c"] + 1] = au_c

    # 2D landmarks: template, scaled and moved with the head; mouth opens with AU25/AU26.
    scale = actor.face_scale * (520.0 / tz)
    shape2d = np.broadcast_to(actor.landmarks, (n, 68, 2)).copy()
    opening = 0.012 * (au_r[:, _AU_INDEX["AU25"]] + 1.5 * au_r[:, _AU_INDEX["AU26"]])
    shape2d[:, _MOUTH_LOWER, 1] += opening[:, None]
    smile = 0.01 * au_r[:, _AU_INDEX["AU12"]]
    shape2d[:, [48, 54], 0] += np.stack([-smile, smile], axis=1)
    shape2d[:, [48, 54], 1] -= smile[:, None]
    brow = 0.01 * (au_r[:, _AU_INDEX["AU01"]] + au_r[:, _AU_INDEX["AU02"]])
    shape2d[:, 17:27, 1] -= brow[:, None]
    shape2d += 0.003 * rng.standard_normal(shape2d.shape)
    centre_x = actor.face_xy[0] + 2.0 * (tx - 20.0)
    centre_y = actor.face_xy[1] + 2.0 * (ty + 15.0)
    x2d = centre_x[:, None] + scale[:, None] * shape2d[:, :, 0]
    y2d = centre_y[:, None] + scale[:, None] * shape2d[:, :, 1]
    table[:, _COL["x_0"] : _COL["x_67"] + 1] = x2d
    table[:, _COL["y_0"] : _COL["y_67"] + 1] = y2d
    # 3D landmarks in millimetres, camera coordinates.
    mm = 145.0
    depth = 40.0 * (1 - np.clip(np.abs(shape2d[:, :, 0]) * 2, 0, 1)) ** 2
    table[:, _COL["X_0"] : _COL["X_67"] + 1] = tx[:, None] + mm * shape2d[:, :, 0]
    table[:, _COL["Y_0"] : _COL["Y_67"] + 1] = ty[:, None] + mm * shape2d[:, :, 1]
    table[:, _COL["Z_0"] : _COL["Z_67"] + 1] = tz[:, None] - depth

    # Eye landmarks follow the face.
    eyes = actor.eye_landmarks
    eye_x = centre_x[:, None] + scale[:, None] * eyes[None, :, 0]
    eye_y = centre_y[:, None] + scale[:, None] * eyes[None, :, 1]
    eye_y = eye_y + 0.5 * rng.standard_normal(eye_y.shape)
    table[:, _COL["eye_lmk_x_0"] : _COL["eye_lmk_x_55"] + 1] = eye_x
    table[:, _COL["eye_lmk_y_0"] : _COL["eye_lmk_y_55"] + 1] = eye_y
    table[:, _COL["eye_lmk_X_0"] : _COL["eye_lmk_X_55"] + 1] = tx[:, None] + mm * eyes[None, :, 0]
    table[:, _COL["eye_lmk_Y_0"] : _COL["eye_lmk_Y_55"] + 1] = ty[:, None] + mm * eyes[None, :, 1]
    table[:, _COL["eye_lmk_Z_0"] : _COL["eye_lmk_Z_55"] + 1] = tz[:, None] - 25.0

    # Point-distribution-model parameters: rigid (scale, rotation, translation) then shape.
    table[:, _COL["p_scale"]] = scale / 200.0 * 0.9
    table[:, _COL["p_rx"] : _COL["p_rz"] + 1] = pose[:, 3:]
    table[:, _COL["p_tx"]] = centre_x
    table[:, _COL["p_ty"]] = centre_y
    expression = np.zeros((n, 34))
    expression[:, 0:17] = au_r @ _EXPRESSION_BASIS
    table[:, _COL["p_0"] : _COL["p_33"] + 1] = (
        actor.shape_params[None, :] + expression + 0.3 * rng.standard_normal((n, 34))
    )

    # Failed frames: OpenFace writes zeros for everything it could not track.
    table[~success, _COL["gaze_0_x"] :] = 0.0
    return table


_EXPRESSION_BASIS = np.random.default_rng([0, 99]).normal(0.0, 1.0, (17, 17))


def _openface_csv(rec: _Recording, actor: _Actor, seed: int, duration: float) -> str:
    """The text of one OpenFace 2.0 CSV: ``", "``-separated header and rows."""
    table = _openface_frame_table(rec, actor, seed, duration)
    fmt = _ROW_FORMAT + "\n"
    body = "".join(fmt % tuple(row) for row in table.tolist())
    return _HEADER + body
