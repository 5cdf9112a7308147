"""The result of a minimization: what the training loop and L-BFGS return."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MinimizeResult:
    """Final ``params``, ``history`` (loss per step), ``n_steps`` taken and whether it ``converged``.

    ``value`` is the last loss computed, ``grad_norm`` the global L2 norm of
    its gradient, ``n_evals`` the runs of the value-and-gradient graph, and
    ``message`` why the loop stopped.
    """

    params: object
    history: list = field(default_factory=list)
    n_steps: int = 0
    converged: bool = False
    value: float = float("nan")
    grad_norm: float = float("nan")
    n_evals: int = 0
    message: str = ""
