"""An AlgoPerf-style benchmark of learning-rate schedules and optimizers on real data (``tuneless bench``).

Modules: ``spec`` (the workload interface), ``workloads`` (built-in workloads), ``methods`` (the methods compared),
``runner`` (one trial per process, executors), ``store`` (SQLite), ``targets``, ``suites``, ``benchmark`` (the
driver), ``scoring`` and ``report``. See docs/bench.md.
"""

from .methods import METHODS, Method, TrialConfig, register_method, register_optimizer
from .workload import Workload

__all__ = ["METHODS", "Method", "TrialConfig", "Workload", "register_method", "register_optimizer"]
