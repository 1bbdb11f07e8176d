"""`edgecnn quickstart`: the README's main command, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")


def test_quickstart_runs_the_whole_story(run_cli, tmp_path: Path, report_metric) -> None:
    out = tmp_path / "qs"
    r = run_cli("quickstart", "--out", out, "--json")
    assert r.code == 0, r.err
    summary = json.loads(r.out)
    assert summary["parity"]["passed"] is True
    assert summary["parity"]["n"] == 359
    assert summary["sizes"]["quantized"] * 3 < summary["sizes"]["float32"]
    assert len(summary["samples"]) == 6
    assert sum(s["true"] == s["predicted"] for s in summary["samples"]) >= 5
    for name in ("model.keras", "card.json", "model_int8.tflite", "parity.md"):
        assert name in summary["artifacts"]
    report_metric(f"quickstart: {summary['seconds']} s, int8 {summary['parity']['int8_accuracy']:.4f}, "
          f"drop {summary['parity']['drop_pp']:.2f} pp")
