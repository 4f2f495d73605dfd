"""Fixed fold schemes as data: the test actors of each fold, with where they come from.

:mod:`mmemo.corpora.folds` registers each table here as a scheme by name. A table lists the
test actors of fold 0, 1, ... (mmemo numbers folds from 0; the sources may number from 1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SchemeTable:
    """A fold scheme given as a table of test actors per fold.

    Attributes:
        name: the scheme's name in mmemo (``emobox``).
        about: one line for ``mmemo folds show --help``.
        source: where the table comes from (a paper, a repository and its files).
        test_actors: the test actors of fold 0, 1, ...
    """

    name: str
    about: str
    source: str
    test_actors: tuple[tuple[int, ...], ...]

    @property
    def folds(self) -> dict[int, int]:
        """``{actor: fold}`` of every actor in the table."""
        return {a: f for f, actors in enumerate(self.test_actors) for a in actors}


#: Test actors of each fold in Luna-Jiménez et al. (2022).
LUNA2022 = SchemeTable(
    name="luna2022",
    about="the paper's five actor folds",
    source=(
        "Luna-Jiménez, C. et al. (2022), 'A proposal for multimodal emotion recognition using "
        "aural transformers and action units on RAVDESS dataset', Applied Sciences 12(1), 327"
    ),
    test_actors=(
        (2, 5, 14, 15, 16),
        (3, 6, 7, 13, 18),
        (10, 11, 12, 19, 20),
        (8, 17, 21, 23, 24),
        (1, 4, 9, 22),
    ),
)

#: EmoBox's RAVDESS protocol: six speaker-independent folds of four actors. Read from the
#: actor folders (``Actor_NN``) of every line of EmoBox's published test split files
#: ``data/ravdess/fold_N/ravdess_test_fold_N.jsonl`` (N = 1..6; mmemo's fold N - 1) in
#: https://github.com/emo-box/EmoBox (commits bb22000b and fdc57b07); each file lists the 240
#: audio-only speech files of its four actors. Folds 1-5 were read whole; fold 6 holds the
#: four remaining actors (its file ends with actor 6's files). Its folds are not balanced by
#: gender: mmemo fold 1 tests four women, fold 3 three men and one woman.
#: Ma, Z. et al. (2024), 'EmoBox: Multilingual multi-corpus speech emotion recognition toolkit
#: and benchmark', Interspeech 2024.
EMOBOX = SchemeTable(
    name="emobox",
    about="EmoBox's RAVDESS protocol: six speaker-independent folds of four actors",
    source=(
        "Ma, Z. et al. (2024), 'EmoBox: Multilingual multi-corpus speech emotion recognition "
        "toolkit and benchmark', Interspeech; split files data/ravdess/fold_N/"
        "ravdess_test_fold_N.jsonl of github.com/emo-box/EmoBox"
    ),
    test_actors=(
        (1, 11, 20, 21),
        (4, 10, 12, 14),
        (8, 9, 19, 23),
        (3, 5, 7, 24),
        (2, 15, 16, 18),
        (6, 13, 17, 22),
    ),
)

#: Six folds of four consecutive actors: RAVDESS numbers its actors so that odd actors are
#: male and even actors female (Livingstone & Russo, 2018), so actors 4f+1 .. 4f+4 are two men
#: and two women, and every fold tests as many men as women. Deterministic by construction.
#: Livingstone, S. R. and Russo, F. A. (2018), 'The Ryerson Audio-Visual Database of Emotional
#: Speech and Song (RAVDESS)', PLoS ONE 13(5): e0196391.
GENDER_BALANCED = SchemeTable(
    name="gender6",
    about="six folds of two men and two women (actors 4f+1 .. 4f+4 in fold f)",
    source=(
        "built from RAVDESS's actor coding, odd = male, even = female (Livingstone & Russo "
        "2018, PLoS ONE 13(5): e0196391)"
    ),
    test_actors=tuple(tuple(range(4 * f + 1, 4 * f + 5)) for f in range(6)),
)

#: Every fixed table, in the order ``mmemo folds show --help`` lists them.
TABLES: tuple[SchemeTable, ...] = (LUNA2022, EMOBOX, GENDER_BALANCED)
