"""``python -m futurist``: the ``futurist`` command (see :mod:`futurist.cli`)."""

from __future__ import annotations

import sys

from futurist.cli import main

if __name__ == "__main__":
    sys.exit(main())
