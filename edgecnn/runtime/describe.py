"""`edgecnn inspect`: what a .tflite holds, from the file alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgecnn.card import METADATA_NAME, Card
from edgecnn.runtime.model import read_model_bytes
from edgecnn.runtime.modelinfo import read_model_info


def inspect_model(path: str | Path) -> dict[str, Any]:
    """Inputs, outputs, op histogram, Edge TPU ops, embedded card, size and metadata names."""
    path = Path(path)
    data = read_model_bytes(path)
    info = read_model_info(data, str(path))
    card_bytes = info.metadata.get(METADATA_NAME)
    card = Card.from_json(card_bytes, f"card in {path}").to_dict() if card_bytes else None
    return {
        "model": str(path),
        "size_bytes": len(data),
        "inputs": [t.to_dict() for t in info.inputs],
        "outputs": [t.to_dict() for t in info.outputs],
        "operators": len(info.ops),
        "op_histogram": info.op_histogram,
        "op_versions": sorted({f"{n}:v{v}" for n, v in info.ops}),
        "subgraphs": info.subgraphs,
        "edgetpu_ops": info.has_edgetpu_ops,
        "metadata": sorted(info.metadata),
        "card": card,
    }


def _tensor_line(t: dict[str, Any]) -> str:
    quant = ""
    if t["scale"]:
        scale = t["scale"][0] if len(t["scale"]) == 1 else f"per-channel x{len(t['scale'])}"
        zp = t["zero_point"][0] if len(t["zero_point"]) == 1 else "..."
        quant = f"  scale {scale:.6g} zero point {zp}" if isinstance(scale, float) else f"  {scale}"
    dynamic = "  (dynamic: " + str(t["shape_signature"]) + ")" if -1 in t["shape_signature"] else ""
    return f"  {t['name'] or '(unnamed)'}: {t['shape']} {t['dtype']}{quant}{dynamic}"


def format_inspection(r: dict[str, Any]) -> str:
    """Human-readable inspection."""
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
        lines.append(f"edgecnn card: {c['name']}, {len(c['labels'])} labels ({', '.join(c['labels'][:5])}"
                     f"{', ...' if len(c['labels']) > 5 else ''}), input {c['input']['height']}x"
                     f"{c['input']['width']}x{c['input']['channels']} {c['preprocessing']['color']}, "
                     f"quantization {q.get('mode', '?')} (io {q.get('io', '?')})")
        lines.append("card json: " + json.dumps({k: c[k] for k in ("preprocessing",)}))
    else:
        lines.append("edgecnn card: none (third-party model: pass --labels, and --mean/--std if needed)")
    return "\n".join(lines)
