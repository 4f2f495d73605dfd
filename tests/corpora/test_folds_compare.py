"""``mmemo folds compare A B``: which actors and clips change test fold between schemes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mmemo.errors import InputError
from mmemo.reports.fold_compare import compare_schemes
from mmemo.store.schema import FoldAssignment
from mmemo.testing.text import table_cells


def _recorded(store) -> list[tuple]:
    with store.session() as s, s.orm() as orm:
        rows = orm.scalars(sa.select(FoldAssignment))
        return sorted((r.scheme, r.actor, r.fold) for r in rows)


def test_compare_luna2022_and_emobox(ingested_store):
    before = _recorded(ingested_store)
    result = compare_schemes(ingested_store, "luna2022", "emobox", "av-speech")
    # luna2022 tests actor 1 in fold 4 and actor 2 in fold 0; EmoBox the other way round
    assert [(m.actor, m.gender, m.clips, m.fold_a, m.fold_b) for m in result.actors] == [
        (1, "male", 60, 4, 0),
        (2, "female", 60, 0, 4),
    ]
    assert (result.moved_clips, result.n_clips, result.moved_actors) == (120, 120, 2)
    assert result.regrouped_actors == 0  # each is alone in its fold under both
    assert _recorded(ingested_store) == before  # read-only: nothing recorded


def test_compare_counts_clips_of_the_selection_and_companions(ingested_store):
    result = compare_schemes(ingested_store, "luna2022", "gender6", "speech")
    assert [(m.actor, m.clips, m.fold_a, m.fold_b) for m in result.actors] == [
        (1, 180, 4, 0),
        (2, 180, 0, 0),
    ]
    assert [(m.with_a, m.with_b) for m in result.actors] == [((), (2,)), ((), (1,))]
    assert result.summary() == (
        "180 of 360 clip(s) (1 of 2 actor(s)) change test fold from luna2022 to gender6; "
        "2 actor(s) are tested with other actors"
    )


def test_compare_refuses_one_scheme_twice_and_unknown_schemes(ingested_store):
    with pytest.raises(InputError, match="'emobox' twice"):
        compare_schemes(ingested_store, "emobox", "emobox")
    with pytest.raises(InputError, match="unknown fold scheme 'emobx'"):
        compare_schemes(ingested_store, "luna2022", "emobx")


def test_folds_compare_cli(store_cli, ingested_store):
    result = store_cli(ingested_store, "folds", "compare", "luna2022", "emobox")
    assert result.code == 0, result.err
    rows = [row for row in table_cells(result.out) if row and row[0].isdigit()]
    assert [row[:6] for row in rows] == [
        ["1", "male", "60", "4", "0", "yes"],
        ["2", "female", "60", "0", "4", "yes"],
    ]
    assert "120 of 120 clip(s) (2 of 2 actor(s)) change test fold" in result.out_text


def test_folds_compare_cli_error_is_one_line(store_cli, ingested_store):
    result = store_cli(ingested_store, "folds", "compare", "luna2022", "nope")
    assert result.code == 2
    assert "unknown fold scheme 'nope'; expected one of" in result.err_text
