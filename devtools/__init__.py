"""Running the service on a laptop: DynamoDB Local, the local API server, backfill runs.

The tools import the Lambda code the way Lambda lays it out (``handlers`` and the layer's
``resource_registry`` at the top level), so ``python -m devtools.<tool>`` from the repository's
root works without PYTHONPATH, as make sets it.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
for _directory in (_ROOT / "lambdas", _ROOT / "lambdas" / "layer" / "python"):
    if str(_directory) not in sys.path:
        sys.path.insert(1, str(_directory))
