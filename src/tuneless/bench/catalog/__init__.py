"""What can be benchmarked: the workload interface and the built-in workloads, the methods and optimizers, the
suites, how a suite tunes, and the targets files.

Rule: imports nothing else of ``tuneless.bench`` (every other room may import it, but the report).
"""
