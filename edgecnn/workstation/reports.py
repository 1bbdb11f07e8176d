"""Report writers: parity.json, parity.md and PNG plots (each written atomically), and the table
helpers (Markdown, terminal) the other reports share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgecnn import atomic
from edgecnn.workstation.detection.parity import DetectionParityReport
from edgecnn.workstation.detection.report import HEADER as DETECTION_HEADER
from edgecnn.workstation.detection.report import summary_rows as detection_rows
from edgecnn.workstation.detection.report import write_detection_reports
from edgecnn.workstation.parity import ParityReport
from edgecnn.workstation.plotting import md_table, png_bytes, pyplot, size_text, text_table

CONFUSION_PNG = "parity_confusion.png"
PER_CLASS_PNG = "parity_per_class.png"


def write_parity(report: ParityReport | DetectionParityReport, run_dir: Path,
                 json_path: Path | None = None) -> list[Path]:
    """The report files of either task into `run_dir` (and the JSON also to `json_path`)."""
    if isinstance(report, DetectionParityReport):
        return write_detection_reports(report, run_dir, json_path)
    return write_reports(report, run_dir, json_path)


def parity_table(report: ParityReport | DetectionParityReport, run_dir: Path) -> str:
    """The model table for the terminal."""
    if isinstance(report, DetectionParityReport):
        return text_table(DETECTION_HEADER, detection_rows(report, run_dir))
    return text_table(HEADER, summary_rows(report, run_dir))


def write_reports(parity: ParityReport, run_dir: Path, json_path: Path | None = None) -> list[Path]:
    """Write all report files into `run_dir` (and the JSON also to `json_path`); return their paths."""
    report = parity.to_dict()
    written = [run_dir / "parity.json", run_dir / "parity.md"]
    atomic.write_json(written[0], report)
    atomic.write_text(written[1], markdown(report, run_dir))
    if json_path is not None:
        atomic.write_json(json_path, report)
        written.append(json_path)
    for name, draw in ((CONFUSION_PNG, _confusion_png), (PER_CLASS_PNG, _per_class_png)):
        atomic.write_bytes(run_dir / name, draw(report))
        written.append(run_dir / name)
    return written


def summary_rows(parity: ParityReport | dict[str, Any], run_dir: Path) -> list[tuple[str, ...]]:
    """Rows of the model table: name, size, accuracy, drop, agreement, cosine, max |diff|."""
    report = parity.to_dict() if isinstance(parity, ParityReport) else parity
    keras = run_dir / "model.keras"
    rows = [("model.keras (float)", size_text(keras), _pct(report["float"]["accuracy"]), "-", "-", "-", "-")]
    for name, m in report["models"].items():
        rows.append((name, size_text(run_dir / name), _pct(m["accuracy"]), f"{m['drop_pp']:+.2f}",
                     _pct(m["agreement"]), f"{m['mean_cosine']:.5f}", f"{m['max_abs_diff']:.4f}"))
    return rows


HEADER = ("model", "size", "top-1", "drop (pp)", "agreement", "mean cosine", "max |diff|")


def markdown(report: dict[str, Any], run_dir: Path) -> str:
    """The human report."""
    q = report["quantized"]
    verdict = "PASSED" if report["passed"] else "FAILED"
    lines = [
        f"# Parity report: {run_dir.name}",
        "",
        f"**{verdict}**: {q['model']} loses {report['drop_pp']:.2f} pp of top-1 accuracy against the "
        f"float Keras model (budget {report['max_drop_pp']:.2f} pp) on {report['n']} held-out test images.",
        "",
        md_table(HEADER, summary_rows(report, run_dir)),
        "",
        f"## Per-class accuracy: float vs {q['model']}",
        "",
    ]
    rows = [(lab, _pct(report["float"]["per_class_accuracy"][lab]), _pct(q["per_class_accuracy"][lab]),
             _delta(q["per_class_delta_pp"][lab])) for lab in report["labels"]]
    lines += [md_table(("class", "float", "quantized", "change (pp)"), rows), "",
              f"![confusion matrices]({CONFUSION_PNG})", "", f"![per-class change]({PER_CLASS_PNG})", ""]
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.2f} %"


def _delta(x: float | None) -> str:
    return "-" if x is None else f"{x:+.2f}"


def _confusion_png(report: dict[str, Any]) -> bytes:
    plt = pyplot()
    names = list(report["confusion"])
    k = len(report["labels"])
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4.4))
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        m = np.asarray(report["confusion"][name])
        ax.imshow(m, cmap="Blues")
        ax.set_title("float (model.keras)" if name == "float" else name)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        if k <= 12:
            ax.set_xticks(range(k), report["labels"])
            ax.set_yticks(range(k), report["labels"])
            for (i, j), v in np.ndenumerate(m):
                if v:
                    ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                            color="white" if v > m.max() / 2 else "black")
    return png_bytes(fig)


def _per_class_png(report: dict[str, Any]) -> bytes:
    plt = pyplot()
    q = report["quantized"]
    labels = report["labels"]
    deltas = [q["per_class_delta_pp"][lab] or 0.0 for lab in labels]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.3 * len(labels) + 2), 3.2))
    ax.bar(range(len(labels)), deltas, color=["tab:red" if d < 0 else "tab:green" for d in deltas])
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(labels)), labels, rotation=90 if len(labels) > 12 else 0, fontsize=7)
    ax.set_ylabel("accuracy change (pp)")
    ax.set_title(f"per-class change, {q['model']} vs float (drop {report['drop_pp']:.2f} pp)")
    return png_bytes(fig)
