"""``mmemo.errors``' helpers for one-line messages: a cut list says how much it left out."""

from __future__ import annotations

from mmemo.errors import did_you_mean, first_line, listing


def test_a_cut_list_says_how_many_more():
    runs = [f"svc/C={c}" for c in range(35)]
    assert listing(runs, 20) == ", ".join(runs[:20]) + " and 15 more"
    assert listing(runs[:3]) == "svc/C=0, svc/C=1, svc/C=2"
    assert listing(runs[:5], 5) == ", ".join(runs[:5])  # exactly the limit: nothing left out
    assert listing(iter(["a", "b"]), 1) == "a and 1 more"  # any iterable, read once
    assert listing([]) == ""


def test_did_you_mean_names_the_closest_choices_or_nothing():
    ids = ["01-01-03-01-01-01-01", "01-01-03-01-01-01-02", "03-01-08-02-02-02-02"]
    assert (
        did_you_mean("01-01-03-01-01-01-01.mp4", ids) == " (did you mean '01-01-03-01-01-01-01'?)"
    )
    assert did_you_mean("xyz", ids) == ""
    assert did_you_mean("01-01-03-01-01-01-03", ids, n=2).count("'01-01-03-01-01-01-0") == 2


def test_first_line_drops_a_library_s_advice():
    assert first_line(OSError("We couldn't connect.\nCheck your connection.")) == (
        "We couldn't connect."
    )
    assert first_line(OSError()) == "OSError"
