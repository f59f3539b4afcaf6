"""The command's exit codes."""

from __future__ import annotations

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE"]

EXIT_OK = 0
EXIT_FAILURE = 1
"""An unexpected failure; its traceback is printed."""
EXIT_USAGE = 2
"""Bad usage or bad configuration; one line says what is wrong."""
EXIT_INTERRUPTED = 130
"""Ctrl-C."""
