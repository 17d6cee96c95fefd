"""The backfill: its event (request.py), what a run reports (summary.py), and the reconciler that
runs one segment of it (reconciler.py)."""
