"""An IEMOCAP-shaped synthetic corpus (``mmemo synth iemocap``): the release's folders and
names, an ``EmoEvaluation`` file per dialogue, and the synthetic voices.

For each session ``s`` it writes two dialogues (``Ses0sF_impro01`` and ``Ses0sM_script01_1``),
each of ``turns`` utterances by the session's woman and man in turn, as
``Session{s}/sentences/wav/DIALOGUE/UTTERANCE.wav`` (16 kHz mono) and the consensus lines of
``Session{s}/dialog/EmoEvaluation/DIALOGUE.txt``. The codes cycle through neutral, happy,
excited, sad, angry, frustrated and ``xxx`` (no agreement); each utterance sounds like the
synthetic RAVDESS voice of its emotion (excited as happy, frustrated as angry, ``xxx``
neutral).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmemo.corpora.iemocap import speaker_number
from mmemo.corpora.ravdess import EMOTIONS as RAVDESS_EMOTIONS
from mmemo.corpora.synth.audio import SAMPLE_RATE, synth_voice
from mmemo.corpora.synth.recordings import Recording, actor_traits
from mmemo.errors import InputError

CYCLE = ("neu", "hap", "exc", "sad", "ang", "fru", "xxx")
#: The synthetic RAVDESS voice each code borrows.
VOICE = {"neu": "neutral", "hap": "happy", "exc": "happy", "sad": "sad", "ang": "angry",
         "fru": "angry", "xxx": "neutral"}  # fmt: skip


@dataclass
class SynthIemocap:
    """What :func:`create_iemocap` wrote: the root and every utterance's code."""

    root: Path
    codes: dict[str, str]


def create_iemocap(
    out: Path, *, sessions: int = 5, turns: int = 7, seed: int = 2020, seconds: float = 0.3
) -> SynthIemocap:
    """Write the layout for sessions 1..``sessions``.

    Raises:
        InputError: sessions outside 1-5 or no turns.
    """
    if not 1 <= sessions <= 5 or turns < 1:
        raise InputError(f"sessions must be 1-5 and turns at least 1; got {sessions}, {turns}")
    import soundfile as sf
    import soxr

    out = Path(out)
    codes: dict[str, str] = {}
    for session in range(1, sessions + 1):
        base = out / f"Session{session}"
        evaluations = base / "dialog" / "EmoEvaluation"
        evaluations.mkdir(parents=True, exist_ok=True)
        for lead, dialogue in (("F", "impro01"), ("M", "script01_1")):
            name = f"Ses{session:02d}{lead}_{dialogue}"
            folder = base / "sentences" / "wav" / name
            folder.mkdir(parents=True, exist_ok=True)
            lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
            start = 0.0
            for turn in range(turns):
                letter = "FM"[turn % 2]
                utterance = f"{name}_{letter}{turn // 2:03d}"
                code = CYCLE[(turn + session) % len(CYCLE)]
                actor = speaker_number(session, letter)
                rec = Recording(
                    clip_id=utterance,
                    modality=3,
                    vocal_channel=1,
                    emotion=RAVDESS_EMOTIONS.index(VOICE[code]) + 1,
                    intensity=2 if code in ("exc", "fru") else 1,
                    statement=1 + turn % 2,
                    repetition=1 + (turn // 2) % 2,
                    actor=actor,
                )
                length = round(seconds * (1 + 0.05 * (turn % 5)), 3)
                audio, _ = synth_voice(rec, actor_traits(actor, seed), seed, length)
                pcm = np.clip(soxr.resample(audio, SAMPLE_RATE, 16_000), -1, 1) * 32767
                sf.write(folder / f"{utterance}.wav", np.round(pcm).astype(np.int16), 16_000)
                lines += [
                    f"[{start:.4f} - {start + length:.4f}]\t{utterance}\t{code}\t"
                    "[2.5000, 2.5000, 2.5000]",
                    f"C-E1:\t{code};\t()",
                    "",
                ]
                codes[utterance] = code
                start += length + 0.5
            (evaluations / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return SynthIemocap(out, codes)
