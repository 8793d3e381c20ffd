"""An AlgoPerf-style benchmark of learning-rate schedules and optimizers on real data (``tuneless bench``).

Modules: ``workload`` (the workload interface), ``workloads`` (built-in workloads), ``methods`` (the methods
compared), ``runner`` (one trial per process, the executor protocol, the local executor), ``ray_executor``,
``rows`` (what a trial writes), ``store`` (SQLite), ``targets``, ``suites``, ``benchmark`` (the driver),
``scoring``, and the outputs: ``report`` (writes ``results_json``, ``figures``, ``html_page``), ``terminal`` and
``tables`` (markdown), with ``formatting``. See docs/bench.md.
"""

from .methods import METHODS, Method, TrialConfig, register_method, register_optimizer
from .workload import Workload, hash_bytes

__all__ = ["METHODS", "Method", "TrialConfig", "Workload", "hash_bytes", "register_method", "register_optimizer"]
