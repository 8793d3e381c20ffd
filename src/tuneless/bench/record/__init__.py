"""What a run leaves behind: what a run is (``BenchConfig``), the SQLite store, its schema and typed rows, the
migration of older stores, claims of trials by drivers, CSV export.

Rule: imports only ``catalog`` (the suites a run's config names; the registries that complete an older store's
runs when it is migrated).
"""
