#!/usr/bin/env python3
"""Django's command-line utility for administrative tasks.

Run outside the project's virtualenv (``python3 manage.py ...``), it re-runs
itself with ``.venv/bin/python`` when that exists, so commands work as the docs
write them."""

import os
import sys
from pathlib import Path

VENV_PYTHON = Path(__file__).resolve().parent / ".venv" / "bin" / "python"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent.resolve():
            os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])  # noqa: S606
        sys.exit("Django is not installed for this Python: `make run` (or `make test`) creates .venv.")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
