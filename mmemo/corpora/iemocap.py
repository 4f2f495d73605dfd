"""IEMOCAP (Busso et al., 2008): five sessions of dyadic dialogues by ten actors, one WAV per
utterance and the evaluators' consensus per utterance.

The release's layout::

    Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav
    Session1/dialog/EmoEvaluation/Ses01F_impro01.txt

An utterance's name says its session (``Ses01``), who led the dialogue (``F``), the dialogue
(``impro01``, ``script01_1``) and who speaks (``F000``: the session's woman). Its label is the
consensus line of ``dialog/EmoEvaluation/DIALOGUE.txt`` (``[6.29 - 8.24]  Ses01F_impro01_F000
neu  [2.5, 2.5, 2.5]``): one of eleven codes, ``xxx`` where the evaluators did not agree. The
speaker is the session and the speaker's letter (``Ses01F``), numbered 2011 (session 1's woman)
to 2052; ``--scheme sessions`` leaves one session out. The usual four classes are the label
map ``common4`` (happy takes excited).
"""

from __future__ import annotations

import re
from pathlib import Path

from mmemo.corpora.adapters import (
    Clip,
    CorpusAdapter,
    CorpusTables,
    InvalidNameError,
    register_corpus,
)
from mmemo.corpora.sources import SourceFile
from mmemo.errors import InputError
from mmemo.store.vocabulary import Vocabulary

#: The evaluation codes and mmemo's labels for them, in IEMOCAP's order.
CODES: dict[str, str] = {
    "ang": "angry",
    "hap": "happy",
    "exc": "excited",
    "sad": "sad",
    "fru": "frustrated",
    "fea": "fearful",
    "sur": "surprised",
    "neu": "neutral",
    "dis": "disgust",
    "oth": "other",
    "xxx": "undecided",
}
VOCABULARY = Vocabulary(tuple(range(1, len(CODES) + 1)), tuple(CODES.values()))
SESSIONS = range(1, 6)
EVALUATIONS = "EmoEvaluation"

_NAME = re.compile(r"^Ses(\d{2})([FM])_(\w+)_([FM])(\d{3})$")
_CONSENSUS = re.compile(
    r"^\[(?P<start>[\d.]+) - (?P<end>[\d.]+)\]\t(?P<utterance>\S+)\t(?P<code>\w+)\t"
)


def speaker_number(session: int, letter: str) -> int:
    """The store's number of a session's actor: 2000 + 10 x session + 1 (F) or 2 (M)."""
    return 2000 + 10 * session + (1 if letter == "F" else 2)


@register_corpus
class IemocapAdapter(CorpusAdapter):
    """IEMOCAP's utterance WAVs, labelled by ``dialog/EmoEvaluation/*.txt``."""

    name = "iemocap"
    title = "IEMOCAP"
    vocabulary = VOCABULARY
    media_suffixes = frozenset({".wav"})

    def looks_like(self, item: SourceFile) -> bool:
        return bool(_NAME.match(item.stem))

    def clip(self, item: SourceFile, tables: CorpusTables) -> Clip:
        session, _, _, letter, _ = _NAME.match(item.stem).groups()  # type: ignore[union-attr]
        if int(session) not in SESSIONS:
            raise InvalidNameError(f"'{item.stem}': session {session} is out of range")
        code = tables.labels.get(item.stem)
        if code is None:
            raise InvalidNameError(f"'{item.stem}': no label in dialog/{EVALUATIONS}/")
        return Clip(
            clip_id=f"{self.name}:{item.stem}",
            modality=3,
            emotion=list(CODES).index(code) + 1,
            label=CODES[code],
            actor=speaker_number(int(session), letter),
            speaker=f"Ses{session}{letter}",
            gender="female" if letter == "F" else "male",
            performance=item.stem,
        )

    def read_tables(self, sources: list[Path]) -> CorpusTables:
        tables = CorpusTables()
        for source in sources:
            if not source.is_dir():
                continue
            for path in sorted(source.rglob(f"{EVALUATIONS}/*.txt")):
                tables.labels.update(read_evaluation(path))
                tables.files.append(path)
        return tables


def read_evaluation(path: Path) -> dict[str, str]:
    """Each utterance's consensus code in one ``EmoEvaluation`` file.

    Raises:
        InputError: unreadable, or a consensus line with a code IEMOCAP does not have.
    """
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    found = {}
    for number, line in enumerate(lines, start=1):
        match = _CONSENSUS.match(line)
        if match is None:
            continue
        if match["code"] not in CODES:
            raise InputError(f"{path}:{number}: emotion {match['code']!r} is not IEMOCAP's")
        found[match["utterance"]] = match["code"]
    return found
