"""A corpus in EmoBox's layout (``mmemo ingest emobox``'s input), made with the synthetic
voices: ``OUT/data/CORPUS/`` with ``CORPUS.jsonl``, ``label_map.json`` and speaker-independent
``fold_N/CORPUS_{train,test}_fold_N.jsonl``, and the audio under ``OUT/downloads/CORPUS/``
(the ``wav`` paths start in ``OUT``, as EmoBox's start in its checkout).

Speakers go to the folds in turn (speaker ``s`` is tested by fold ``s % folds + 1``); with
``train_only`` speakers more, those are in no test file (a corpus EmoBox splits once). Labels
are EmoBox-style codes (``a``, ``h``, ``n``, ``s``) with a label map naming them as EmoBox
does (``Angry``, ``Happy``...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mmemo.corpora.synth.manifest import create_manifest
from mmemo.errors import InputError

#: EmoBox-style codes and the names its label maps give them.
LABEL_MAP = {"n": "Neutral", "h": "Happy", "s": "Sad", "a": "Angry", "f": "Fear"}


@dataclass
class SynthEmoBox:
    """What :func:`create_emobox` wrote: the checkout-like root, the corpus's data folder
    and each utterance's key by its EmoBox fold (0: tested by none)."""

    root: Path
    folder: Path
    folds: dict[str, int]


def create_emobox(
    out: Path,
    *,
    corpus: str = "toybox",
    speakers: int = 4,
    per_speaker: int = 5,
    folds: int = 2,
    train_only: int = 0,
    seed: int = 2020,
    seconds: float = 0.3,
) -> SynthEmoBox:
    """Write a synthetic corpus in EmoBox's layout.

    Raises:
        InputError: fewer speakers than folds.
    """
    if speakers < folds or folds < 1:
        raise InputError(f"{folds} fold(s) need at least as many speakers; got {speakers}")
    out = Path(out)
    audio = out / "downloads" / corpus
    made = create_manifest(
        audio,
        speakers=speakers + train_only,
        per_speaker=per_speaker,
        labels=[LABEL_MAP[c].lower().replace("fear", "fearful") for c in LABEL_MAP],
        seed=seed,
        seconds=seconds,
    )
    codes = {name.lower().replace("fear", "fearful"): code for code, name in LABEL_MAP.items()}
    folder = out / "data" / corpus
    folder.mkdir(parents=True, exist_ok=True)
    rows, fold_of = [], {}
    for row in made.rows:
        number = int(row["speaker"].removeprefix("spk")) - 1
        key = f"{corpus}-{row['key'].replace('/', '-')}"
        fold_of[key] = number % folds + 1 if number < speakers else 0
        rows.append(
            {
                "key": key,
                "dataset": corpus,
                "wav": f"downloads/{corpus}/{row['file']}",
                "type": "raw",
                "sample_rate": 48000,
                "task": "category",
                "length": seconds,
                "emo": codes[row["emotion"]],
                "channel": 1,
            }
        )
    _jsonl(folder / f"{corpus}.jsonl", rows)
    (folder / "label_map.json").write_text(json.dumps(LABEL_MAP, indent=4), encoding="utf-8")
    for fold in range(1, folds + 1):
        tested = [r for r in rows if fold_of[r["key"]] == fold]
        trained = [r for r in rows if fold_of[r["key"]] != fold]
        _jsonl(folder / f"fold_{fold}" / f"{corpus}_test_fold_{fold}.jsonl", tested)
        _jsonl(folder / f"fold_{fold}" / f"{corpus}_train_fold_{fold}.jsonl", trained)
    return SynthEmoBox(out, folder, fold_of)


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
