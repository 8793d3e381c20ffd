"""Trials of a batch run longest first: the order the executor gets, from the run's own finished trials."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from tuneless.bench.record.rows import Trial
from tuneless.bench.run.plan import longest_first

from .trial_rows import trial_row


def _planned(workload: str, steps: int, fraction: float = 1.0, label: str = "") -> SimpleNamespace:
    return SimpleNamespace(
        prepared=SimpleNamespace(workload=SimpleNamespace(name=workload, budget_steps=steps)),
        method=SimpleNamespace(budget_fraction=fraction),
        trial_id=f"{workload}{label}",
    )


def _done(workload: str, seconds: float, steps: int, status: str = "done") -> Trial:
    return trial_row(workload=workload, status=status, started=100.0, finished=100.0 + seconds, budget_steps=steps)


def test_unknown_workloads_first_then_by_expected_seconds_plan_order_for_ties():
    stored = [
        _done("lm", 6.0, 240),
        _done("lm", 7.0, 240),
        _done("lm", 20.0, 240),  # median 7 s a trial (a mean, 11 s, would put lm before mlp)
        _done("mlp", 9.0, 300),  # 9 s a trial
        _done("logreg", 0.3, 300),  # 1 ms a step
        _done("logreg", 99.0, 10, status="failed"),  # a failed trial says nothing about the time (else logreg first)
    ]
    plan = [
        _planned("logreg", 300, label="a"),
        _planned("lm", 240, fraction=0.25, label="quarter"),  # 60 steps: 1.75 s
        _planned("logreg", 300, label="b"),
        _planned("cnn", 1500),  # nothing finished yet: first
        _planned("lm", 240),  # 7 s
        _planned("mlp", 300),  # 9 s
    ]
    order = [p.trial_id for p in longest_first(plan, stored)]
    assert order == ["cnn", "mlp", "lm", "lmquarter", "logrega", "logregb"]


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(1, 1000)), max_size=12))
def test_only_the_order_changes(items):
    plan = [_planned(w, steps, label=str(i)) for i, (w, steps) in enumerate(items)]
    stored = [_done("a", 1.0, 10), _done("b", 5.0, 10)]
    ordered = longest_first(plan, stored)
    assert sorted(p.trial_id for p in ordered) == sorted(p.trial_id for p in plan)
    seconds = [
        {"a": 0.1, "b": 0.5}.get(p.prepared.workload.name, float("inf")) * p.prepared.workload.budget_steps
        for p in ordered
    ]
    assert seconds == sorted(seconds, reverse=True)


def test_workloads_with_no_finished_trial_are_interleaved_round_robin_in_plan_order():
    # A new run's first batch: no times yet. The lm's trials are spread over the batch, not left to its end.
    plan = [_planned("logreg", 300, label=str(i)) for i in range(4)]
    plan += [_planned("lm", 240, label=str(i)) for i in range(2)]
    plan += [_planned("mlp", 300, label="0")]
    plan += [_planned("known", 300, label="0")]
    order = [p.trial_id for p in longest_first(plan, [_done("known", 1.0, 300)])]
    assert order == ["logreg0", "lm0", "mlp0", "logreg1", "lm1", "logreg2", "logreg3", "known0"]


def test_within_a_workload_with_no_time_full_budget_trials_go_before_shorter_ones():
    plan = [_planned("lm", 240, fraction=0.25, label="quarter"), _planned("lm", 240, label="full")]
    plan += [_planned("mlp", 300, fraction=0.25, label="quarter")]
    order = [p.trial_id for p in longest_first(plan, [])]
    assert order == ["lmfull", "mlpquarter", "lmquarter"]
