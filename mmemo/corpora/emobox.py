"""A corpus from EmoBox's manifests (Ma et al., 2024): ``mmemo ingest emobox data/CORPUS``.

EmoBox publishes, for each of its 32 corpora, a folder ``data/CORPUS/`` holding
``CORPUS.jsonl`` (a row per utterance: ``key``, ``wav`` (a path), ``emo`` (a code), ``length``
...), ``label_map.json`` (code → label) and its speaker-independent folds
``fold_N/CORPUS_{train,test}_fold_N.jsonl``. The audio is the corpus's own, downloaded apart:
``--root`` is the folder the ``wav`` paths start in.

The rows name no speakers, so a clip's speaker is the EmoBox fold that tests it (``fold3``;
``train`` for clips no fold tests, as in a corpus with one train/test split): EmoBox made its
folds speaker-independent, so grouping by them keeps every mmemo scheme so, and
``--scheme emobox`` gives EmoBox's folds back (fold 0 = EmoBox's ``fold_1``; clips no fold
tests are trained on only). The labels are EmoBox's, in lower case and spelt as elsewhere in
mmemo (``Fear`` → ``fearful``), in the label map's order; clip ids are ``CORPUS:KEY``.
"""

from __future__ import annotations

import json
from pathlib import Path

from mmemo.corpora.adapters import register_corpus
from mmemo.corpora.classes import ALIASES
from mmemo.corpora.folds import EMOBOX_FOLD, EMOBOX_TRAIN_ONLY
from mmemo.corpora.manifest import ManifestAdapter, ManifestOptions, read_manifest
from mmemo.errors import InputError


def canonical_label(label: str) -> str:
    """EmoBox's label in mmemo's spelling: lower case, common other spellings mapped
    (``Fear`` → ``fearful``, ``Surprise`` → ``surprised``)."""
    key = label.strip().lower()
    return ALIASES.get(key, key)


@register_corpus
class EmoBoxAdapter(ManifestAdapter):
    """A corpus EmoBox describes (see the module docstring)."""

    name = "emobox"
    title = "EmoBox"

    def __init__(self, folder: Path | None = None, root: Path | None = None):
        if folder is None:
            super().__init__()
            return
        folder = Path(folder).expanduser().absolute()
        corpus = folder.name
        if corpus == "ravdess":
            raise InputError(
                f"{folder}: EmoBox's RAVDESS is RAVDESS: ingest it with `mmemo ingest ravdess` "
                "(--scheme emobox gives EmoBox's folds of it)"
            )
        manifest = folder / f"{corpus}.jsonl"
        codes = _label_map(folder / "label_map.json")
        rows = read_manifest(manifest)
        for column in ("key", "wav", "emo"):
            if column not in rows.column_names:
                raise InputError(f"{manifest}: no column {column}; not an EmoBox manifest")
        keys = [str(k) for k in rows.column("key").to_pylist()]
        groups = _fold_groups(folder, corpus)
        labels = []
        for key, emo in zip(keys, rows.column("emo").to_pylist(), strict=True):
            if str(emo) not in codes:
                raise InputError(
                    f"{manifest}: utterance {key}: emotion {emo!r} is not in its label_map.json"
                )
            labels.append(codes[str(emo)])
        import pyarrow as pa

        table = pa.table(
            {
                "wav": rows.column("wav"),
                "label": labels,
                "speaker": [groups.get(k, EMOBOX_TRAIN_ONLY) for k in keys],
                "key": keys,
            }
        )
        order = tuple(dict.fromkeys(x for x in codes.values() if x in set(labels)))
        options = ManifestOptions(
            dataset=corpus,
            path_column="wav",
            label_column="label",
            speaker_column="speaker",
            key_column="key",
            root=root or folder,
            labels=order,
        )
        super().__init__(manifest, options, table=table)
        self.title = f"EmoBox {corpus}"


def _label_map(path: Path) -> dict[str, str]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read EmoBox's label map ({exc})") from None
    if not isinstance(found, dict) or not found:
        raise InputError(f"{path}: not a label map (an object of code: label)")
    return {str(code): canonical_label(str(label)) for code, label in found.items()}


def _fold_groups(folder: Path, corpus: str) -> dict[str, str]:
    """Each tested utterance's group, ``foldN`` after the EmoBox fold that tests it.

    Raises:
        InputError: an utterance two folds test, or a fold file that cannot be read.
    """
    groups: dict[str, str] = {}
    for fold in sorted(folder.glob("fold_*"), key=lambda p: p.name):
        number = fold.name.removeprefix("fold_")
        test = fold / f"{corpus}_test_fold_{number}.jsonl"
        if not number.isdigit() or not test.is_file():
            continue
        for key in read_manifest(test).column("key").to_pylist():
            if str(key) in groups:
                raise InputError(f"{test}: utterance {key} is tested by two folds")
            groups[str(key)] = f"{EMOBOX_FOLD}{int(number)}"
    return groups
