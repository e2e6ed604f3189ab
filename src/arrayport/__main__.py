"""``python -m arrayport``: the same command as the ``arrayport`` console script."""

from __future__ import annotations

import sys

from arrayport.cli import main

if __name__ == "__main__":
    sys.exit(main())
