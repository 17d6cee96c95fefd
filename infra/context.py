"""Refusals of `cdk synth -c name=value` settings the stack cannot use."""

from __future__ import annotations


class ContextError(ValueError):
    """A context value the stack cannot use; the message names it and says what it takes.

    app.py prints it as one line, without a traceback.
    """
