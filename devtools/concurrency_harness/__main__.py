"""The command: `python -m devtools.concurrency_harness [--seconds 60] [--json]`; exits 1 when the
run finds a violation."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import devtools.concurrency_harness as harness
from devtools.concurrency_harness.config import HarnessConfig
from devtools.concurrency_harness.fresh_table import fresh_table
from devtools.concurrency_harness.invocation import quiet_handlers
from devtools.concurrency_harness.run import run_harness


def main(argv: Sequence[str] | None = None) -> int:
    """Run the harness with the command line's settings, print the report; 1 on violations."""
    defaults = HarnessConfig()
    description = harness.__doc__.split("\n\n")[0] if harness.__doc__ else None
    parser = argparse.ArgumentParser(
        prog="python -m devtools.concurrency_harness", description=description
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--writers", type=int, default=defaults.writers)
    parser.add_argument("--resources", type=int, default=defaults.resources)
    parser.add_argument("--checkpoint-seconds", type=float, default=5.0)
    parser.add_argument("--if-match", type=float, default=defaults.if_match_probability)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    options = parser.parse_args(argv)
    config = HarnessConfig(
        seconds=options.seconds,
        writers=options.writers,
        resources=options.resources,
        checkpoint_every_seconds=options.checkpoint_seconds,
        if_match_probability=options.if_match,
        seed=options.seed,
    )
    with fresh_table(), quiet_handlers():
        report = run_harness(config)
    print(json.dumps(report.to_dict(), indent=2) if options.json else report.render())
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
