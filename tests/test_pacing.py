"""Snapshot pacing: fixed intervals are exact; ``auto`` follows a (fake) clock."""

import itertools
import math

import pytest

from vgtui.core.pacing import AUTO_HZ, AUTO_SHARE, MAX_PERIOD_S, Pacer


def steps_due(pacer: Pacer, steps: int) -> list[int]:
    return [s for s in range(1, steps + 1) if pacer.due(s)]


def test_fixed_interval_is_step_one_and_every_multiple():
    assert steps_due(Pacer(10), 35) == [1, 10, 20, 30]


def test_auto_snapshots_by_time_not_by_step():
    now = [0]
    # The clock counts milliseconds (exact integers); 0.01 per unit = 10 per second.
    pacer = Pacer("auto", hz=0.01, max_steps=10_000, clock=lambda: now[0])
    due = []
    for step in range(1, 1001):  # 1,000 steps in one second: 1 ms each
        now[0] = step
        if pacer.due(step):
            due.append(step)
    assert due[0] == 1
    assert len(due) == 10  # 10 Hz for one second, whatever the step rate
    gaps = [b - a for a, b in itertools.pairwise(due)]
    assert all(g == 100 for g in gaps), gaps


def test_auto_takes_one_at_least_every_max_steps():
    pacer = Pacer("auto", hz=1.0, max_steps=50, clock=lambda: 0.0)  # the clock never moves
    assert steps_due(pacer, 200) == [1, 51, 101, 151]


def test_auto_on_a_slow_model_snapshots_every_step():
    now = [0.0]
    pacer = Pacer("auto", hz=12.0, clock=lambda: now[0])
    due = []
    for step in range(1, 6):
        now[0] += 0.5  # half a second per step
        due.append(pacer.due(step))
    assert all(due)


# -- "auto" under a snapshot's own cost: the one policy of the trainer and of watch() -----------


def simulate(cost: float, seconds: float, step_s: float = 0.001) -> tuple[int, float, Pacer]:
    """Train for ``seconds`` of a fake clock, in steps of ``step_s``, where a snapshot costs
    ``cost`` more: (snapshots taken, their share of the time, the pacer)."""
    now = [0.0]
    pacer = Pacer("auto", clock=lambda: now[0])
    snapshots, spent, step = 0, 0.0, 0
    while now[0] < seconds:
        step += 1
        now[0] += step_s
        if pacer.due(step):
            now[0] += cost
            spent += cost
            snapshots += 1
            if snapshots > 1:  # the first pays one-time costs: the callers leave it out
                pacer.observe(cost)
    return snapshots, spent / now[0], pacer


def test_cheap_snapshots_come_as_often_as_the_display_can_use_them():
    snapshots, share, pacer = simulate(cost=0.0001, seconds=60.0)
    assert pacer.period == 1 / AUTO_HZ
    assert 0.95 * AUTO_HZ * 60 <= snapshots <= AUTO_HZ * 60 + 1
    assert share < AUTO_SHARE / 10


def test_costly_snapshots_are_spaced_to_a_share_of_the_time():
    # 4 ms a snapshot: 12 a second would take 5% of the time; one each 0.2 s keeps them to 2%.
    snapshots, share, pacer = simulate(cost=0.004, seconds=60.0)
    assert pacer.period == pytest.approx(0.004 / AUTO_SHARE)
    assert 0.9 * AUTO_SHARE <= share <= AUTO_SHARE
    assert snapshots == pytest.approx(60 / (0.2 + 0.004), rel=0.05)


def test_ruinous_snapshots_still_come_every_max_period():
    snapshots, _, pacer = simulate(cost=10.0, seconds=600.0)
    assert pacer.period == MAX_PERIOD_S  # not 10 / 2% = 500 s
    assert snapshots >= 600 / (MAX_PERIOD_S + 10.0) - 1


def test_the_running_cost_is_not_thrown_by_one_outlier():
    pacer = Pacer("auto")
    for _ in range(20):
        pacer.observe(0.004)
    pacer.observe(0.04)  # one slow snapshot (a page fault, another process): not a 2 s gap
    assert 0.004 < pacer.cost < 0.04 / 2
    assert pacer.period < pacer.period_for(0.04) / 2


def test_steps_apart_is_the_same_period_counted_in_steps():
    pacer = Pacer("auto", max_steps=1000)
    assert pacer.steps_apart(step_s=0.001, cost=0.004) == 200  # 0.2 s of 1 ms steps
    assert pacer.steps_apart(step_s=0.001, cost=0.0) == math.ceil(1 / AUTO_HZ / 0.001)
    assert pacer.steps_apart(step_s=1.0, cost=0.004) == 1  # slow steps: every one
    assert pacer.steps_apart(step_s=0.0, cost=0.004) == 1
    assert pacer.steps_apart(step_s=1e-6, cost=10.0) == 1000  # at least every max_steps
