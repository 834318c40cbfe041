"""Each server entry point keeps what it loaded out of the garbage collector's way."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings


@pytest.mark.parametrize("module", ["chatplatform.wsgi", "chatplatform.asgi", "chatengine.standalone"])
def test_an_entry_point_freezes_what_it_loaded(module):
    script = f"import gc, sys, {module}; sys.stdout.write(str(gc.get_freeze_count()))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatplatform.settings", "DEBUG": "1"}
    out = subprocess.run(  # noqa: S603 (this interpreter, a constant script)
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Django, the project and every view module: far more than an empty interpreter holds.
    assert int(out) > 50_000
