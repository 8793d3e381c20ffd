"""Numbers from stored rows: time to target, performance profiles and benchmark scores, final metrics, paired
comparisons, the claims' data, the targets procedure applied to a stored run.

Rule: imports only ``catalog`` and ``record``; reads rows, trains nothing, writes nothing.
"""
