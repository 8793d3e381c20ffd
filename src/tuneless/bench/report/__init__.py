"""What a reader sees of a stored run: ``results.json``, the figures, ``report.html``, the terminal table and the
markdown tables.

Rule: imports only ``record`` and ``score``: a report reads the store, never the live registries of ``catalog``
(what it says of a method comes from the run's stored ``method_info``).
"""

from .writer import load_run, summary_table, write_report

__all__ = ["load_run", "summary_table", "write_report"]
