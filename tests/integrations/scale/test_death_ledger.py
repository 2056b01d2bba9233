"""Which chunk a dead Ray worker is charged with: the one it was running, never one queued behind it.

The bookkeeping is plain Python (``DeathLedger``); these cases are the orders in which Ray may report the
failures of one death, including the one that flaked the poison-row test: the culprit's failure handled
first, then a bystander's, which used to look like "the oldest still in flight" and was charged.
"""

from __future__ import annotations

import itertools

import pytest

from integrations.scale.ray_engine import DeathLedger


def _ledger_with(worker_refs: dict[int, list[str]]) -> DeathLedger:
    ledger = DeathLedger(max(worker_refs) + 1)
    for worker, refs in worker_refs.items():
        for ref in refs:
            ledger.submitted(worker, ref)
    return ledger


@pytest.mark.parametrize("order", list(itertools.permutations(["poison", "queued-1", "queued-2"])))
def test_only_the_running_chunk_is_charged_whatever_order_the_failures_arrive_in(order):
    ledger = _ledger_with({0: ["poison", "queued-1", "queued-2"]})
    outcome = {ref: ledger.failed(0, ref) for ref in order}
    assert {ref for ref, (charged, _) in outcome.items() if charged} == {"poison"}
    assert [ref for ref, (_, first) in outcome.items() if first] == [order[0]]  # one probe per death


def test_a_bystander_reported_after_the_culprit_is_not_charged():
    # the flaky case: the culprit leaves the list first; the bystander is then the oldest left
    ledger = _ledger_with({0: ["poison", "healthy"]})
    assert ledger.failed(0, "poison") == (True, True)
    assert ledger.failed(0, "healthy") == (False, False)


def test_work_given_to_the_restarted_worker_is_judged_by_its_own_death():
    ledger = _ledger_with({0: ["a", "b"]})
    assert ledger.failed(0, "b") == (False, True)  # the bystander's news arrives first
    ledger.submitted(0, "c")  # the restarted actor gets new work before "a"'s failure is handled
    assert ledger.failed(0, "a") == (True, False)
    ledger.submitted(0, "d")
    assert ledger.failed(0, "c") == (True, True)  # a second death: "c" was running, "d" queued
    assert ledger.failed(0, "d") == (False, False)


def test_successes_leave_the_books_and_workers_do_not_mix():
    ledger = _ledger_with({0: ["done", "dies"], 1: ["other"]})
    ledger.succeeded(0, "done")
    assert ledger.failed(0, "dies") == (True, True)
    assert ledger.failed(1, "other") == (True, True)
