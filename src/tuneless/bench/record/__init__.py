"""What a run leaves behind: the SQLite store, its schema and typed rows, the migration of older stores, claims of
trials by drivers, CSV export.

Rule: imports only ``catalog`` (the defaults a run stored by an older tuneless lacks).
"""
