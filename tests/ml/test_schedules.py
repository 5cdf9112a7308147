"""Learning-rate schedules against PyTorch's lr_scheduler closed forms."""
import math

import pytest

from chunkflow.ml import schedules


def test_constant_and_floats():
    assert [schedules.constant(0.3)(t) for t in (0, 5, 100)] == [0.3, 0.3, 0.3]
    assert schedules.as_schedule(0.2)(7) == 0.2


def test_step():
    s = schedules.step(1.0, step_size=3, gamma=0.1)
    assert [s(t) for t in range(7)] == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01])


def test_exponential():
    s = schedules.exponential(0.5, gamma=0.9)
    assert [s(t) for t in range(4)] == pytest.approx([0.5 * 0.9 ** t for t in range(4)])


def test_cosine():
    s = schedules.cosine(1.0, T_max=4, eta_min=0.2)
    want = [0.2 + 0.8 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    assert [s(t) for t in range(5)] == pytest.approx(want)
    assert s(10) == pytest.approx(0.2)


def test_warmup_then_schedule():
    s = schedules.warmup(4, schedules.exponential(1.0, gamma=0.5))
    assert [s(t) for t in range(7)] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.25])
    assert schedules.warmup(2, 0.1)(0) == pytest.approx(0.05)


@pytest.mark.parametrize("make, match", [
    (lambda: schedules.constant(-1.0), "lr"),
    (lambda: schedules.step(0.1, step_size=0), "step_size"),
    (lambda: schedules.exponential(0.1, gamma=-0.5), "gamma"),
    (lambda: schedules.cosine(0.1, T_max=10, eta_min=0.5), "eta_min"),
    (lambda: schedules.warmup(0, 0.1), "n must be"),
])
def test_invalid(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_repr_names_the_schedule():
    assert repr(schedules.step(0.1, 5, 0.5)) == "step(0.1, step_size=5, gamma=0.5)"
