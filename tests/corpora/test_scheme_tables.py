"""Fixed fold schemes as data: EmoBox's RAVDESS protocol and the gender-balanced split."""

from __future__ import annotations

from collections import Counter

import pytest

from mmemo.corpora.folds import FoldScheme, parse_scheme, scheme_help
from mmemo.corpora.schemes_data import EMOBOX, GENDER_BALANCED, LUNA2022, TABLES
from mmemo.errors import InputError

#: Test actors of EmoBox's published split files data/ravdess/fold_N/ravdess_test_fold_N.jsonl
#: (N = 1..6), as read from the Actor_NN folders of their lines.
EMOBOX_FILES = {
    1: {11, 1, 20, 21},
    2: {14, 4, 12, 10},
    3: {8, 19, 23, 9},
    4: {7, 3, 5, 24},
    5: {18, 16, 15, 2},
    6: {6, 13, 17, 22},
}


def counts(actors=range(1, 25)) -> dict[int, Counter]:
    return {a: Counter({1: 4, **{e: 8 for e in range(2, 9)}}) for a in actors}


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_table_tests_each_of_the_24_actors_in_exactly_one_fold(table):
    tested = [a for actors in table.test_actors for a in actors]
    assert sorted(tested) == list(range(1, 25))
    assignment = parse_scheme(table.name).assign(counts())
    assert assignment == table.folds
    assert table.source and table.about


def test_emobox_is_the_published_split_with_folds_numbered_from_0():
    assignment = FoldScheme("emobox").assign(counts())
    by_fold = {f: {a for a, g in assignment.items() if g == f} for f in range(6)}
    assert by_fold == {n - 1: actors for n, actors in EMOBOX_FILES.items()}
    assert all(len(actors) == 4 for actors in by_fold.values())


def test_emobox_is_not_gender_balanced_but_gender6_is():
    def men_and_women(table):
        return [(sum(a % 2 for a in f), sum(1 - a % 2 for a in f)) for f in table.test_actors]

    assert (0, 4) in men_and_women(EMOBOX)  # EmoBox's fold 2 tests four women
    assert men_and_women(GENDER_BALANCED) == [(2, 2)] * 6


def test_gender6_is_deterministic_and_keeps_subsets_in_their_folds():
    scheme = FoldScheme("gender6")
    assert scheme.assign(counts()) == scheme.assign(counts())
    assert scheme.assign(counts([1, 2, 5, 24])) == {1: 0, 2: 0, 5: 1, 24: 5}


def test_a_table_refuses_an_actor_it_does_not_cover():
    with pytest.raises(InputError, match=r"'emobox' has no fold for actor\(s\) \[25\]; .* 1-24"):
        FoldScheme("emobox").assign(counts([1, 25]))


def test_luna2022_is_data_too():
    from mmemo.corpora.folds import LUNA2022_TEST_ACTORS

    assert LUNA2022.test_actors == LUNA2022_TEST_ACTORS


def test_scheme_help_cites_the_sources():
    about = dict(scheme_help())
    assert list(about) == [
        "luna2022",
        "loao",
        "kfold:K:SEED",
        "emobox",
        "gender6",
        "corpora",
        "cross:FROM:TO",
        "sessions",
    ]
    assert "github.com/emo-box/EmoBox" in about["emobox"]
    assert "Luna-Jiménez" in about["luna2022"]
    assert "Livingstone & Russo" in about["gender6"]


def test_folds_show_help_lists_every_scheme_with_its_source(cli):
    result = cli("folds", "show", "--help")
    assert result.code == 0
    text = result.out_text
    for usage, _ in scheme_help():
        assert f"{usage}:" in text
    assert "github.com/emo-box/EmoBox" in text
