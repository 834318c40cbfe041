"""The engine load benchmark runs: at a tiny size, against the broadcast
server and the engine on SQLite, it counts every delivery and loses none."""

from __future__ import annotations

import json
import subprocess

import pytest

from chatplatform.tests.servers import ROOT, python

pytestmark = pytest.mark.slow


def test_tiny_run_counts_every_delivery(tmp_path):
    out = tmp_path / "engine-load.json"
    args = [
        *("--configs", "broadcast,sqlite", "--clients", "20", "--channels", "2"),
        *("--steps", "4", "--step-seconds", "1.5", "--p99-ms", "60000", "--port", "0"),
        *("--burst-messages", "20", "--burst-watchers", "10", "--burst-lanes", "2"),
        *("--idle-sockets", "10", "--idle-hold", "0.5", "--workers", "1", "--json", str(out)),
    ]
    done = subprocess.run(
        [python(), "bench/engine_load.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(out.read_text())
    results = {r["server"]: r for r in document["results"]}
    assert set(results) == {"broadcast", "sqlite"}
    for name, result in results.items():
        assert "error" not in result, result
        assert result["connect"]["opened"] == 20, result["connect"]
        [step] = result["steps"]
        # 6 messages in each of 2 channels, each to its 10 watchers.
        assert step["sent"] == step["planned"] == 6, (name, step)
        assert step["expected"] == step["deliveries"] == 60, (name, step)
        assert step["lost"] == step["duplicates"] == 0, (name, step)
        assert step["held"], (name, step)
        assert 0 < step["p50_ms"] <= step["p99_ms"], (name, step)
        burst = result["burst"]
        assert burst["watchers"] == 10 and burst["sent"] == 20, (name, burst)
        assert burst["deliveries"] == 200 and burst["lost"] == burst["out_of_order"] == 0, (name, burst)
        idle = result["idle"]
        assert idle["opened"] == 10 and idle["rss_after_mb"] > 0, (name, idle)
    summary = {row["server"]: row for row in document["summary"]}
    assert summary["broadcast"]["ratio"] == 1
    assert summary["sqlite"]["held"] == 4 and summary["sqlite"]["ratio"] == 1
    assert "| server | msg/s held |" in done.stdout
