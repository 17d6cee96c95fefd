#!/usr/bin/env python3
"""CDK entry point: synthesizes the resource registry stack (see docs/deploy.md)."""

from __future__ import annotations

import sys

# infra first: it quiets jsii's Node version banner before aws_cdk starts jsii.
import infra  # noqa: F401

# isort: split
from aws_cdk import App

from infra.context import ContextError
from infra.nag import check_with_cdk_nag
from infra.stack import create_stack

app = App()
check_with_cdk_nag(app)
try:
    create_stack(app)
except ContextError as error:
    sys.exit(f"error: {error}")  # one line on stderr, exit status 1
app.synth()
