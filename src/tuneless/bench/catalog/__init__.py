"""What can be benchmarked: the workload interface and the built-in workloads, the methods and optimizers, the
suites, how a suite tunes, and the targets files.

Rule: imports nothing else of ``tuneless.bench`` (every other room may import it, but the report).
"""

from . import methods, one_run  # noqa: E402,F401  (the registry's order: methods' own, then the one-run methods)
