"""``report`` keeps runs of different fold schemes out of one table unless told which to keep."""

from __future__ import annotations

import pytest

from mmemo.errors import InputError
from mmemo.jobs.specs import StaticSpec
from mmemo.jobs.static import train_static
from mmemo.reports.report import left_out_of_scheme, report_rows


@pytest.fixture(scope="session")
def _two_schemes_restore(_zeror_store_restore, backend):
    """Template of ``two_schemes``, built once per session."""
    from mmemo.store.store import Store
    from mmemo.testing.stores import restorable

    work = _zeror_store_restore()  # shares the ingested store's path (see conftest)
    train_static(
        Store.open(work),
        StaticSpec.one(name="zeror-emobox", model="zeror", scheme="emobox", clips="av-speech"),
    )
    return restorable(work, work.parent / "two-schemes-template", backend)


@pytest.fixture()
def two_schemes(_two_schemes_restore):
    """The ZeroR store plus the same model under EmoBox's folds (run ``zeror-emobox``)."""
    from mmemo.store.store import Store

    return Store.open(_two_schemes_restore())


def test_runs_of_two_schemes_are_refused_naming_each_runs_scheme(two_schemes):
    with pytest.raises(InputError) as err:
        report_rows(two_schemes, ["zeror*"])
    message = str(err.value)
    assert "zeror (luna2022)" in message and "zeror-emobox (emobox)" in message
    assert "--scheme" in message and "\n" not in message


def test_scheme_keeps_its_runs_and_names_those_left_out(two_schemes):
    rows = report_rows(two_schemes, ["zeror*"], scheme="emobox")
    assert [r.name for r in rows] == ["zeror-emobox"]
    assert left_out_of_scheme(two_schemes, ["zeror*"], "emobox") == [("zeror", "luna2022")]
    alone = report_rows(two_schemes, ["zeror-emobox"])
    kept, single = rows[0].summary, alone[0].summary  # the numbers do not change
    assert (kept.accuracy, kept.ci95, kept.n, kept.folds) == (
        single.accuracy,
        single.ci95,
        single.n,
        single.folds,
    )


def test_a_scheme_no_run_uses_is_refused(two_schemes):
    with pytest.raises(
        InputError, match="--scheme gender6: no matching run uses it; the runs use emobox, luna2022"
    ):
        report_rows(two_schemes, ["zeror*"], scheme="gender6")


def test_report_cli_refuses_and_keeps_one_scheme(store_cli, two_schemes):
    refused = store_cli(two_schemes, "report", "zeror", "zeror-emobox")
    assert refused.code == 2
    assert "runs of different fold schemes in one table" in refused.err_text
    kept = store_cli(two_schemes, "report", "zeror*", "--scheme", "luna2022")
    assert kept.code == 0, kept.err
    assert "left out zeror-emobox: fold scheme emobox, not luna2022" in kept.err_text
    assert "zeror-emobox" not in kept.out
    alone = store_cli(two_schemes, "report", "zeror")
    assert kept.out == alone.out
