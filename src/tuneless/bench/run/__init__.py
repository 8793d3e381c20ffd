"""Running a benchmark: its config, its plan, method-fair lr tuning, trials (one per process), executors (local,
Ray), devices, priors, and set-targets' training and checks.

Rule: imports only ``catalog``, ``record`` and ``score`` (never the report: ``tuneless.bench.benchmark`` joins them).
"""
