"""The voice of a synthetic recording: a harmonic tone shaped by emotion, intensity and actor.

The pitch, spectral tilt, loudness, syllable rate and vibrato follow the emotion (female
actors, even numbers, speak higher); the WAV files are 48 kHz, 16-bit PCM, mono.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmemo.corpora.synth.recordings import AUDIO_STREAM, Actor, Recording

SAMPLE_RATE = 48_000
_SYNTH_RATE = 16_000


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


def _scaled(rec: Recording) -> _Voice:
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


def synth_voice(
    rec: Recording, actor: Actor, seed: int, duration: float
) -> tuple[np.ndarray, np.ndarray]:
    """Mono float audio in [-1, 1] at 48 kHz and its amplitude envelope (0-1) at 48 kHz.

    The tone is drawn at 16 kHz (harmonics below 7 kHz) and resampled with soxr, which is
    three times cheaper than drawing it at 48 kHz; the noise floor is added at 48 kHz.
    """
    import soxr

    rng = np.random.default_rng(rec.seed_words(seed, AUDIO_STREAM))
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
    if rec.vocal_channel == 2:
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


def write_wav(path: Path, audio: np.ndarray) -> None:
    """Write mono float audio in [-1, 1] as a 48 kHz, 16-bit PCM WAV file."""
    import soundfile as sf

    pcm = np.round(audio * 32767.0).astype(np.int16)
    sf.write(path, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
