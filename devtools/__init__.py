"""Running the service on a laptop: DynamoDB Local, the local API server, backfill runs.

The tools import the Lambda code as Lambda lays it out (``handlers`` and the layer's
``resource_registry`` at the top level): the repository's project (pyproject.toml), installed into
.venv by make, maps each package to where it lives, so ``python -m devtools.<tool>`` works from
any directory.
"""
