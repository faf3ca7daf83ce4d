"""Snapshot pacing: fixed intervals are exact; ``auto`` follows a (fake) clock."""

import itertools

from vgtui.core.pacing import Pacer


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
