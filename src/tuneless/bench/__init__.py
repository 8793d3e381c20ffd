"""An AlgoPerf-style benchmark of learning-rate schedules and optimizers on real data (``tuneless bench``).

Rooms, each a sub-package whose docstring states what it may import (``tests/bench/test_rooms.py`` checks it):
``catalog`` (workloads, methods, optimizers, suites, targets) <- ``record`` (the SQLite store and its rows) <-
``score`` (scoring, paired comparisons, claims) <- ``report`` (results.json, figures, html, terminal, markdown);
``run`` (config, plan, lr bracketing, runner, executors, devices) uses catalog, record and score. Above them:
``benchmark`` (run, then report) and ``cli`` (the ``tuneless bench`` command). See docs/bench.md.
"""

from .catalog.methods import METHODS, Method, TrialConfig, register_method
from .catalog.optimizers import register_optimizer
from .catalog.workload import Workload, hash_bytes

__all__ = ["METHODS", "Method", "TrialConfig", "Workload", "hash_bytes", "register_method", "register_optimizer"]
