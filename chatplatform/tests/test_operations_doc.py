"""docs/operations.md is what an operator deploys from: it names every variable
the settings read, and the process commands it shows are the Procfile's."""

from __future__ import annotations

import re

from chatplatform.tests.servers import ROOT

DOC = (ROOT / "docs" / "operations.md").read_text()


def test_every_environment_variable_of_the_settings_is_documented():
    settings = (ROOT / "chatplatform" / "settings.py").read_text()
    variables = set(re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]+)\"", settings))
    assert len(variables) > 40, 'the settings read their values with env.<type>("NAME", ...)'
    missing = sorted(name for name in variables if f"| `{name}` |" not in DOC)
    assert missing == [], f"add these to the table in docs/operations.md: {missing}"


def test_the_documented_commands_are_the_procfiles():
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line and not line.startswith("#"):
            name, command = (part.strip() for part in line.split(":", 1))
            shown = command.replace("${CHAT_PORT:-8001}", "8001")
            assert f"| `{name}` | `{shown}` |" in DOC, f"docs/operations.md shows another {name} command"
