"""Hyper-parameter checks shared by optimizers and schedules: errors name the param and its range."""
from __future__ import annotations

import numbers


def number(name: str, value, low=None, high=None, low_open=False, high_open=False) -> float:
    """``value`` as a float, or ValueError/TypeError naming ``name`` and the accepted range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high or value != value:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        left = "(" if low_open or low is None else "["
        right = ")" if high_open or high is None else "]"
        interval = f"{left}{lo}, {hi}{right}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return value


def integer(name: str, value, low: int = 0) -> int:
    """``value`` as an int >= ``low``, or ValueError/TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)
