#!/usr/bin/env python3
"""CDK entry point: synthesizes the resource registry stack (see docs/deploy.md)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# infra imports the handlers' routes and the layer's schema, laid out as in the Lambda runtime.
for source_dir in (ROOT / "lambdas", ROOT / "lambdas" / "layer" / "python"):
    if str(source_dir) not in sys.path:
        sys.path.insert(0, str(source_dir))

# infra first: it quiets jsii's Node version banner before aws_cdk starts jsii.
import infra  # noqa: E402, F401

# isort: split
from aws_cdk import App  # noqa: E402

from infra.context import ContextError  # noqa: E402
from infra.nag import check_with_cdk_nag  # noqa: E402
from infra.stack import create_stack  # noqa: E402

app = App()
check_with_cdk_nag(app)
try:
    create_stack(app)
except ContextError as error:
    sys.exit(f"error: {error}")  # one line on stderr, exit status 1
app.synth()
