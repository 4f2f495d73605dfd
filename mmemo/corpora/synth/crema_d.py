"""A CREMA-D-shaped synthetic corpus (``mmemo synth crema-d``): the real layout and names,
RAVDESS's synthetic voices and faces.

:func:`create_crema_d` writes, for each selected actor (1001, 1002, ...), the takes the real
corpus has of every selected sentence (IEO at three levels and unspecified, the others
unspecified; :func:`corpus_takes`), as::

    OUT/AudioWAV/AAAA_SSS_EEE_LL.wav              16 kHz, 16-bit PCM, mono
    OUT/VideoFlash/AAAA_SSS_EEE_LL.flv            FLV1 64x48 15 fps + MP3 48 kHz mono
    OUT/VideoDemographics.csv                     ActorID, Age, Sex, Race, Ethnicity
    OUT/processedResults/tabulatedVotes.csv       a synthetic crowd's votes (``votes=True``)

A take's voice and pictures are those of the synthetic RAVDESS recording of the same emotion,
drawn from the take's own seed (the level HI is RAVDESS's strong intensity); even-numbered
actors are women, as the voices' pitch says. The crowd recognises the acted emotion with a
probability that grows from the voice (0.45) to the face (0.55) to both (0.65), and is drawn
from the seed too (see :data:`RECOGNITION`): the same arguments give byte-identical files.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from mmemo.corpora.crema_d import ACTORS, EMOTIONS, LEVELS, SENTENCES
from mmemo.corpora.ravdess import EMOTIONS as RAVDESS_EMOTIONS
from mmemo.corpora.synth.audio import SAMPLE_RATE, synth_voice
from mmemo.corpora.synth.recordings import Recording, actor_traits
from mmemo.corpora.synth.video import VIDEO_FPS, VIDEO_SIZE, synth_pictures
from mmemo.errors import InputError

#: The WAV files' rate, as the real corpus's.
WAV_RATE = 16_000
#: How often the synthetic crowd picks the acted emotion, per presentation (vote row digit);
#: half of the other answers are "neutral" (or "sad", for a neutral take), as in the corpus,
#: where raters who miss an emotion mostly answer neutral.
RECOGNITION = {1: 0.45, 2: 0.55, 3: 0.65}
_VOTE_STREAM = 7


@dataclass
class SynthCremaD:
    """What :func:`create_crema_d` wrote: the root, the media files (sorted), the takes and
    the two tables (the votes None when not written)."""

    root: Path
    files: list[Path]
    takes: list[str]
    demographics: Path
    votes: Path | None


def corpus_takes(actor: int, sentences: Sequence[str] | None = None) -> list[str]:
    """The take names of one actor, in the corpus's order (SentenceFilenames.csv): for each
    sentence, IEO's neutral and then every other emotion at LO, MD and HI; every other
    sentence's six emotions unspecified (XX)."""
    chosen = list(SENTENCES) if sentences is None else list(sentences)
    order = ["NEU", "HAP", "SAD", "ANG", "FEA", "DIS"]
    takes = []
    for sentence in (s for s in SENTENCES if s in chosen):
        for emotion in order:
            levels = ["LO", "MD", "HI"] if sentence == "IEO" and emotion != "NEU" else ["XX"]
            takes += [f"{actor}_{sentence}_{emotion}_{level}" for level in levels]
    return takes


def create_crema_d(
    out: Path,
    *,
    actors: int | Sequence[int] = 4,
    sentences: Sequence[str] | None = None,
    seed: int = 2020,
    seconds: float = 1.0,
    video: bool = True,
    votes: bool = True,
) -> SynthCremaD:
    """Write a CREMA-D-shaped synthetic corpus.

    Args:
        out: Directory to write into (created if missing); existing files are overwritten.
        actors: ``N`` for actors 1001..1000+N, or a sequence of actor numbers (1001-1091).
        sentences: Sentence codes to record (default all twelve, as the corpus).
        seed: Non-negative seed; the same arguments give byte-identical files.
        seconds: Nominal take duration (each varies by up to ±25 %).
        video: Also write the FLV files.
        votes: Also write ``processedResults/tabulatedVotes.csv``.

    Raises:
        InputError: an actor, sentence, seed or duration out of range.
    """
    chosen = _actors(actors)
    unknown = sorted(set(sentences or ()) - set(SENTENCES))
    if unknown or (sentences is not None and not sentences):
        raise InputError(
            f"unknown sentence(s) {unknown or '(none given)'}; expected {', '.join(SENTENCES)}"
        )
    if seed < 0 or not seconds > 0:
        raise InputError(f"seed must be non-negative and seconds positive; got {seed}, {seconds}")
    out = Path(out)
    (out / "AudioWAV").mkdir(parents=True, exist_ok=True)
    if video:
        (out / "VideoFlash").mkdir(parents=True, exist_ok=True)
    files, takes = [], []
    for actor in chosen:
        traits = actor_traits(actor, seed)
        for take in corpus_takes(actor, sentences):
            rec = _recording(take)
            rng = np.random.default_rng([*rec.seed_words(seed, 4), _digits(take)])
            duration = max(0.05, round(seconds * float(rng.uniform(0.75, 1.25)), 3))
            audio, envelope = synth_voice(rec, traits, seed, duration)
            files.append(_write_wav(out / "AudioWAV" / f"{take}.wav", audio))
            if video:
                frames = synth_pictures(rec, traits, seed, duration, envelope)
                files.append(_write_flv(out / "VideoFlash" / f"{take}.flv", frames, audio))
            takes.append(take)
    demographics = _write_demographics(out / "VideoDemographics.csv", chosen, seed)
    voted = (
        _write_votes(out / "processedResults" / "tabulatedVotes.csv", takes, seed)
        if votes
        else None
    )
    return SynthCremaD(out, sorted(files), takes, demographics, voted)


def _actors(actors: int | Sequence[int]) -> list[int]:
    if isinstance(actors, (int, np.integer)):
        if not 1 <= actors <= len(ACTORS):
            raise InputError(f"actors must be between 1 and {len(ACTORS)}, got {actors}")
        return list(ACTORS)[: int(actors)]
    chosen = sorted({int(a) for a in actors})
    bad = [a for a in chosen if a not in ACTORS]
    if bad or not chosen:
        raise InputError(f"unknown actor(s) {bad or '(none given)'}; expected numbers 1001-1091")
    return chosen


def _recording(take: str) -> Recording:
    """The synthetic RAVDESS recording whose voice and face a take borrows."""
    actor, sentence, emotion, level = take.split("_")
    return Recording(
        clip_id=take,
        modality=3,
        vocal_channel=1,
        emotion=RAVDESS_EMOTIONS.index(EMOTIONS[emotion]) + 1,
        intensity=2 if LEVELS[level] == 3 else 1,
        statement=list(SENTENCES).index(sentence) + 1,
        repetition=1 + list(LEVELS).index(level),
        actor=int(actor),
    )


def _digits(take: str) -> int:
    """A number of the take's name for seeding (never Python's ``hash``)."""
    return int.from_bytes(take.encode("ascii"), "big") % (2**63)


def _write_wav(path: Path, audio: np.ndarray) -> Path:
    import soundfile as sf
    import soxr

    pcm = np.round(np.clip(soxr.resample(audio, SAMPLE_RATE, WAV_RATE), -1, 1) * 32767.0)
    sf.write(path, pcm.astype(np.int16), WAV_RATE, subtype="PCM_16", format="WAV")
    return path


def _write_flv(path: Path, frames: np.ndarray, audio: np.ndarray) -> Path:
    """An FLV file as the corpus's: Sorenson (FLV1) video, MP3 sound."""
    import av

    with contextlib.ExitStack() as stack:
        container = stack.enter_context(av.open(str(path), "w", format="flv"))
        picture = container.add_stream("flv", rate=VIDEO_FPS)
        picture.width, picture.height, picture.pix_fmt = *VIDEO_SIZE, "yuv420p"
        sound = container.add_stream("mp3", rate=SAMPLE_RATE, layout="mono")
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, VIDEO_FPS)
            container.mux(picture.encode(frame))
        container.mux(picture.encode(None))
        chunk = 1152 * 8
        for start in range(0, audio.shape[0], chunk):
            piece = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(audio[None, start : start + chunk], dtype=np.float32),
                format="flt",
                layout="mono",
            )
            piece.sample_rate, piece.pts = SAMPLE_RATE, start
            piece.time_base = Fraction(1, SAMPLE_RATE)
            container.mux(sound.encode(piece))
        container.mux(sound.encode(None))
    return path


def _write_demographics(path: Path, actors: list[int], seed: int) -> Path:
    rng = np.random.default_rng([seed, 8])
    ages = rng.integers(20, 75, size=len(ACTORS))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(["ActorID", "Age", "Sex", "Race", "Ethnicity"])
        for actor in actors:
            sex = "Female" if actor % 2 == 0 else "Male"
            age = int(ages[actor - ACTORS[0]])
            writer.writerow([actor, age, sex, "Unknown", "Not Hispanic"])
    return path


def _write_votes(path: Path, takes: list[str], seed: int) -> Path:
    """The crowd's votes on every take in each presentation: the columns mmemo reads of the
    real ``tabulatedVotes.csv`` (row number, vote counts per letter, name, responses,
    agreement, verdict)."""
    letters = [code[0] for code in EMOTIONS]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(["", *letters, "fileName", "numResponses", "agreement", "emoVote"])
        for mode, recognised in RECOGNITION.items():
            for number, take in enumerate(takes, start=1):
                rng = np.random.default_rng([seed, _VOTE_STREAM, mode, _digits(take)])
                acted = letters.index(take.split("_")[2][0])
                n = int(rng.integers(7, 13))
                fallback = letters.index("S" if letters[acted] == "N" else "N")
                odds = np.full(len(letters), (1 - recognised) / 2 / (len(letters) - 2))
                odds[fallback] = (1 - recognised) / 2
                odds[acted] = recognised
                counts = np.bincount(rng.choice(len(letters), n, p=odds), minlength=6)
                best = counts.max()
                verdict = ":".join(x for x, c in zip(letters, counts, strict=True) if c == best)
                writer.writerow(
                    [str(mode * 100_000 + number), *counts.tolist(), take, n, best / n, verdict]
                )
    return path
