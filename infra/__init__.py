"""The resource registry service's CDK stack: constructs for the table, functions and API."""

from __future__ import annotations

import os

# jsii (which runs the CDK under Python) prints a 20-line banner on Node 20, end-of-life since
# 2026-10-30; Node 22 and 24 are supported. Set here, before aws_cdk is imported, so that make,
# npx cdk and the tests all run quietly on this machine's Node 20 without hiding other warnings.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
