"""Runtime settings: the memory budget and the chunk-kernel block size.

``cf.config.set(memory_budget="2GiB")`` sets a value for the process (or, used
as a context manager, for a ``with`` block). ``CHUNKFLOW_MEMORY_BUDGET`` in the
environment sets the default. ``chunks="auto"`` and out-of-core plans read the
budget through :func:`get`.

``retries`` (``CHUNKFLOW_RETRIES``, default 0) is how many times a run is
tried again after a transient storage or network error, waiting
``retry_delay`` seconds (``CHUNKFLOW_RETRY_DELAY``, default 0.5), doubled
each time, in between; on a ``distributed`` cluster each task is also
retried that many times (see ``chunkflow.runtime``).
"""
from __future__ import annotations

import contextlib
import os
import re

__all__ = ["set", "get", "parse_bytes", "memory_budget", "auto_chunk_bytes"]

_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
}


def parse_bytes(value) -> int:
    """Number of bytes in ``value``: an int or a string such as ``"2GiB"``.

    >>> parse_bytes("1.5 KiB")
    1536
    """
    if isinstance(value, bool):
        raise TypeError(f"a byte size must be an int or a string like '2GiB', got {value!r}")
    if isinstance(value, (int, float)):
        if value <= 0:
            raise ValueError(f"a byte size must be positive, got {value!r}")
        return int(value)
    if not isinstance(value, str):
        raise TypeError(f"a byte size must be an int or a string like '2GiB', got {value!r}")
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", value)
    if m is None or m.group(2).lower() not in _UNITS:
        raise ValueError(
            f"cannot read {value!r} as a byte size; write a number with an optional unit "
            f"such as '512MiB', '2GiB' or '4GB'"
        )
    n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if n <= 0:
        raise ValueError(f"a byte size must be positive, got {value!r}")
    return n


def _total_memory() -> int:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:  # psutil missing: fall back to POSIX sysconf
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _defaults() -> dict:
    env = os.environ.get("CHUNKFLOW_MEMORY_BUDGET")
    budget = parse_bytes(env) if env else _total_memory() // 4
    return {
        "memory_budget": budget,
        # Elements per cache block in fused chunk kernels (see core/kernels.py).
        "block_elements": int(os.environ.get("CHUNKFLOW_BLOCK_ELEMENTS", 32768)),
        # Inputs combined per task in tree reductions.
        "split_every": 8,
        # Re-runs after transient errors (runtime.py) and the first wait between them, in seconds.
        "retries": _count(os.environ.get("CHUNKFLOW_RETRIES", 0)),
        "retry_delay": _seconds(os.environ.get("CHUNKFLOW_RETRY_DELAY", 0.5)),
    }


def _count(value) -> int:
    n = int(value)
    if n < 0:
        raise ValueError(f"retries must be an int >= 0, got {value!r}")
    return n


def _seconds(value) -> float:
    t = float(value)
    if not t >= 0:
        raise ValueError(f"retry_delay must be a number of seconds >= 0, got {value!r}")
    return t


_settings: dict = _defaults()
_PARSERS = {"memory_budget": parse_bytes, "block_elements": int, "split_every": int, "retries": _count,
            "retry_delay": _seconds}


def get(name: str):
    """The current value of setting ``name``."""
    if name not in _settings:
        raise KeyError(f"unknown chunkflow setting {name!r}; known: {sorted(_settings)}")
    return _settings[name]


class set(contextlib.ContextDecorator):  # noqa: A001 - mirrors dask.config.set
    """Set chunkflow settings; restores the previous values when used with ``with``.

    >>> with set(memory_budget="1GiB"):
    ...     get("memory_budget")
    1073741824
    """

    def __init__(self, **settings):
        unknown = sorted(k for k in settings if k not in _PARSERS)
        if unknown:
            raise KeyError(f"unknown chunkflow setting(s) {unknown}; known: {sorted(_PARSERS)}")
        self._old = {k: _settings[k] for k in settings}
        parsed = {k: _PARSERS[k](v) for k, v in settings.items()}
        if parsed.get("split_every", 2) < 2:
            raise ValueError(f"split_every must be >= 2, got {settings['split_every']!r}")
        _settings.update(parsed)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _settings.update(self._old)
        return False


def memory_budget() -> int:
    """The memory budget in bytes."""
    return _settings["memory_budget"]


def auto_chunk_bytes(nthreads: int | None = None) -> int:
    """Target bytes per chunk for ``chunks="auto"``.

    Each running task holds its input chunk, its output and a few cache-sized
    temporaries; the scheduler may keep about two chunks per thread queued. A
    chunk of budget / (6 * threads) keeps all threads' working sets together
    well under the budget. Capped at 128 MiB (dask's default) and floored at
    1 MiB so tiny budgets still make progress.
    """
    if nthreads is None:
        nthreads = os.cpu_count() or 1
    return int(min(max(_settings["memory_budget"] // (6 * nthreads), 2**20), 128 * 2**20))
