"""The window of statements a run has read: duplicates of the last run vs re-reads
within this one (issue 10, defect 6: ids are never forgotten during a run)."""

from __future__ import annotations

import datetime as dt

from xapi.paging import DUPLICATE, NEW, REREAD, SeenWindow

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


def test_an_id_is_new_once_then_reread_even_after_the_boundary_moved() -> None:
    window = SeenWindow(["b"])
    assert window.classify("a", T0) == NEW
    assert window.classify("b", T0) == DUPLICATE
    # The cursor moves far past both: the boundary forgets them, the run does not.
    assert (
        window.boundary(T0 + dt.timedelta(hours=1), dt.timedelta(seconds=2), None) == []
    )
    assert window.classify("a", T0) == REREAD
    assert window.classify("b", T0) == REREAD


def test_an_unread_boundary_id_stays_a_duplicate_after_pruning() -> None:
    window = SeenWindow(["b"])
    window.boundary(T0, dt.timedelta(seconds=2), None)
    assert window.classify("b", T0) == DUPLICATE


def test_a_malformed_statement_is_remembered_by_fingerprint() -> None:
    window = SeenWindow([])
    assert not window.malformed_again("f1")
    assert window.malformed_again("f1")
    assert not window.malformed_again("f2")


def test_the_boundary_keeps_only_committed_pages() -> None:
    window = SeenWindow([])
    window.page = 1
    window.classify("a", T0)
    window.page = 2
    window.classify("b", T0)
    assert window.boundary(T0, dt.timedelta(seconds=2), 1) == ["a"]
