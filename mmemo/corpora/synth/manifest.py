"""A synthetic corpus described by a manifest (``mmemo ingest manifest``'s input): short WAV
files under ``OUT/audio/SPEAKER/`` and ``OUT/manifest.{csv,jsonl,parquet}`` with a row each.

Each file speaks its label with the synthetic RAVDESS voice of that emotion
(:func:`mmemo.corpora.synth.audio.synth_voice`, a label RAVDESS does not have sounds
neutral); ``voices=False`` writes a seeded noise burst instead, a thousand times faster, for
benchmarks of the ingest itself. Columns: ``file`` (relative path), ``emotion``, ``speaker``,
``sex`` (``F``/``M``) and ``key`` (``SPEAKER/NNNN``), so that the column options are tested
with names other than the defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmemo.corpora.ravdess import EMOTIONS as RAVDESS_EMOTIONS
from mmemo.corpora.synth.audio import SAMPLE_RATE, synth_voice
from mmemo.corpora.synth.recordings import Recording, actor_traits
from mmemo.errors import InputError

FORMATS = ("csv", "jsonl", "parquet")


@dataclass
class SynthManifest:
    """What :func:`create_manifest` wrote."""

    root: Path
    manifest: Path
    rows: list[dict[str, str]]


def create_manifest(
    out: Path,
    *,
    speakers: int = 4,
    per_speaker: int = 8,
    labels: Sequence[str] = ("neutral", "happy", "sad", "angry"),
    fmt: str = "csv",
    seed: int = 2020,
    seconds: float = 0.4,
    voices: bool = True,
) -> SynthManifest:
    """Write ``speakers`` x ``per_speaker`` WAV files (labels in turn) and their manifest.

    Raises:
        InputError: an unknown format, or a count below 1.
    """
    if fmt not in FORMATS:
        raise InputError(f"manifest format {fmt!r}; expected {', '.join(FORMATS)}")
    if speakers < 1 or per_speaker < 1 or not labels:
        raise InputError("a manifest needs a speaker, a file per speaker and a label")
    import soundfile as sf

    out = Path(out)
    rng = np.random.default_rng([seed, 9])
    rows = []
    for s in range(speakers):
        speaker = f"spk{s + 1:03d}"
        folder = out / "audio" / speaker
        folder.mkdir(parents=True, exist_ok=True)
        traits = actor_traits(s + 1, seed)
        for i in range(per_speaker):
            label = labels[i % len(labels)]
            name = f"{speaker}_{i:04d}.wav"
            if voices:
                length = round(seconds * (1 + 0.02 * (i % 10)), 3)  # no two takes alike
                audio, _ = synth_voice(_recording(label, s + 1, i), traits, seed, length)
            else:
                audio = rng.normal(0.0, 0.1, int(SAMPLE_RATE * seconds)).clip(-1, 1)
            pcm = np.round(audio * 32767).astype(np.int16)
            sf.write(folder / name, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
            rows.append(
                {
                    "file": f"audio/{speaker}/{name}",
                    "emotion": label,
                    "speaker": speaker,
                    "sex": "F" if s % 2 else "M",
                    "key": f"{speaker}/{i:04d}",
                }
            )
    return SynthManifest(out, write_rows(out / f"manifest.{fmt}", rows), rows)


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write manifest rows as CSV, JSON lines or parquet, by the path's suffix."""
    import pyarrow as pa

    table = pa.Table.from_pylist(rows)
    if path.suffix == ".csv":
        from pyarrow import csv

        csv.write_csv(table, path)
    elif path.suffix == ".jsonl":
        import json

        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    else:
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    return path


def _recording(label: str, actor: int, take: int) -> Recording:
    emotion = RAVDESS_EMOTIONS.index(label) + 1 if label in RAVDESS_EMOTIONS else 1
    return Recording(
        clip_id=f"{actor}-{take}",
        modality=3,
        vocal_channel=1,
        emotion=emotion,
        intensity=1,
        statement=1 + take % 2,
        repetition=1 + take % 2,
        actor=actor,
    )
