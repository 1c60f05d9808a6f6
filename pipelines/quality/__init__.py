"""Data quality around the load: table-level checks of a source's day, mart checks, row accounting,
the quarantine (list, show, replay) and GX Data Docs.

Row-level validation of one batch lives in `pipelines.validate`; this package holds what needs the
warehouse (history, the quarantine table, the marts) or spans the batches of a whole day.
"""
