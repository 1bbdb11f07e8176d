"""`edgecnn inspect`: what a .tflite holds, from the file alone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgecnn.card import METADATA_NAME, Card
from edgecnn.runtime.model import read_model_bytes
from edgecnn.runtime.modelinfo import ModelInfo, read_model_info


@dataclass(frozen=True)
class Inspection:
    """A model file's tensors, operators, Edge TPU ops, metadata names and embedded card."""

    model: str
    size_bytes: int
    info: ModelInfo
    card: Card | None

    def to_dict(self) -> dict[str, Any]:
        info = self.info
        return {
            "model": self.model,
            "size_bytes": self.size_bytes,
            "inputs": [t.to_dict() for t in info.inputs],
            "outputs": [t.to_dict() for t in info.outputs],
            "operators": len(info.operators),
            "op_histogram": info.op_histogram,
            "op_versions": sorted({f"{op.name}:v{op.version}" for op in info.operators}),
            "subgraphs": info.subgraphs,
            "edgetpu_ops": info.has_edgetpu_ops,
            "metadata": sorted(info.metadata),
            "card": self.card.to_dict() if self.card else None,
        }


def inspect_model(path: str | Path) -> Inspection:
    """Read `path` (no interpreter): tensors, operators, Edge TPU ops, card, size, metadata names."""
    path = Path(path)
    data = read_model_bytes(path)
    info = read_model_info(data, str(path))
    card_bytes = info.metadata.get(METADATA_NAME)
    card = Card.from_json(card_bytes, f"card in {path}") if card_bytes else None
    return Inspection(str(path), len(data), info, card)


def _tensor_line(t: dict[str, Any]) -> str:
    quant = ""
    if t["scale"]:
        scale = t["scale"][0] if len(t["scale"]) == 1 else f"per-channel x{len(t['scale'])}"
        zp = t["zero_point"][0] if len(t["zero_point"]) == 1 else "..."
        quant = f"  scale {scale:.6g} zero point {zp}" if isinstance(scale, float) else f"  {scale}"
    dynamic = "  (dynamic: " + str(t["shape_signature"]) + ")" if -1 in t["shape_signature"] else ""
    return f"  {t['name'] or '(unnamed)'}: {t['shape']} {t['dtype']}{quant}{dynamic}"


def format_inspection(inspection: Inspection) -> str:
    """Human-readable inspection."""
    r = inspection.to_dict()
    lines = [f"{r['model']}: {r['size_bytes'] / 1024:.1f} kB, {r['operators']} operators, "
             f"{r['subgraphs']} subgraph(s)", "inputs:"]
    lines += [_tensor_line(t) for t in r["inputs"]]
    lines.append("outputs:")
    lines += [_tensor_line(t) for t in r["outputs"]]
    lines.append("operators: " + ", ".join(f"{k} x{v}" for k, v in r["op_histogram"].items()))
    lines.append("Edge TPU: " + ("compiled for the Edge TPU (edgetpu-custom-op present)" if r["edgetpu_ops"]
                                 else "no Edge TPU ops (runs on the CPU)"))
    lines.append("metadata: " + (", ".join(r["metadata"]) or "none"))
    if r["card"]:
        c = r["card"]
        q = c.get("quantization", {})
        lines.append(f"edgecnn card: {c['name']} ({c['task']}), {len(c['labels'])} labels "
                     f"({', '.join(c['labels'][:5])}{', ...' if len(c['labels']) > 5 else ''}), input "
                     f"{c['input']['height']}x{c['input']['width']}x{c['input']['channels']} "
                     f"{c['preprocessing']['color']}, quantization {q.get('mode', '?')} (io {q.get('io', '?')})")
        lines.append("card json: " + json.dumps({k: c[k] for k in ("preprocessing",)}))
    else:
        lines.append("edgecnn card: none (third-party model: pass --labels, and --mean/--std if needed)")
    return "\n".join(lines)
