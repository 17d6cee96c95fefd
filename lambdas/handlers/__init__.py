"""The Lambda handlers of the resource registry service: one module per operation."""

import gc

from handlers.deferred_imports import defer_heavy_packages

# Lambda imports this package first, before any handler module: what follows shapes the cold start.
# A cold start allocates mostly module objects that live as long as the process, so the collector's
# young-generation passes while they load (every 2,000 net allocations by default) free nothing and
# cost about 18 ms of a set_defaults start (benchmarks/cold_start.py). A pass every 100,000 keeps
# that off the start and still collects a request's cycles.
YOUNG_GENERATION_THRESHOLD = 100_000
gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])
defer_heavy_packages()
