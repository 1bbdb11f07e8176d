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
    q, f = report["quantized"], report["float"]
    verdict = "PASSED" if report["passed"] else "FAILED"
    chance = {True: "above chance", False: "**no better than chance**",
              None: "on too few test images to tell from chance"}[f.get("above_chance")]
    lines = [
        f"# Parity report: {run_dir.name}",
        "",
        f"**{verdict}**: {q['model']} loses {report['drop_pp']:.2f} pp of top-1 accuracy against the "
        f"float Keras model (budget {report['max_drop_pp']:.2f} pp) on {report['n']} held-out test images. "
        f"The float model's {_pct(f['accuracy'])} is {chance} ({_pct(f.get('chance'))}, the most common class).",
        "",
        *[line for reason in report.get("failures", []) for line in (f"- {reason}", "")],
        md_table(HEADER, summary_rows(report, run_dir)),
        "",
        f"## Per-class accuracy: float vs {q['model']}",
        "",
    ]
    support = report.get("support", {})
    rows = [(lab, str(support.get(lab, "-")), _pct(f["per_class_accuracy"][lab]), _pct(q["per_class_accuracy"][lab]),
             _delta(q["per_class_delta_pp"][lab])) for lab in report["labels"]]
    lines += [md_table(("class", "test images", "float", "quantized", "change (pp)"), rows), "",
              f"![confusion matrices]({CONFUSION_PNG})", "", f"![per-class accuracy]({PER_CLASS_PNG})", ""]
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.2f} %"


def _delta(x: float | None) -> str:
    return "-" if x is None else f"{x:+.2f}"


def _confusion_png(report: dict[str, Any]) -> bytes:
    """Row-normalised confusion matrices: the diagonal in blue, every error in red on its own scale
    (so a single mistake stands out), counts in the cells, top-1 accuracy in the titles."""
    plt = pyplot()
    names, labels = list(report["confusion"]), report["labels"]
    k = len(labels)
    fig, axes = plt.subplots(1, len(names), figsize=(5.2 * len(names), 4.8), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        m = np.asarray(report["confusion"][name], dtype=np.float64)
        share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        eye = np.eye(k, dtype=bool)
        errors = np.where(eye, np.nan, share)
        worst = np.nanmax(errors) if k > 1 and np.nanmax(errors) > 0 else 1.0
        ax.imshow(np.where(eye, share, np.nan), cmap="Blues", vmin=0, vmax=1)
        ax.imshow(np.where(errors > 0, errors, np.nan), cmap="Reds", vmin=-0.3 * worst, vmax=worst)
        correct, total = int(np.trace(m)), int(m.sum())
        title = "float (model.keras)" if name == "float" else name
        ax.set_title(f"{title}\ntop-1 {correct / max(total, 1) * 100:.2f} % ({correct}/{total}), "
                     f"{total - correct} errors in red", fontsize=9)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true (rows sum to 100 %)")
        if k <= 30:
            ax.set_xticks(range(k), labels, rotation=90 if k > 12 else 0, fontsize=7)
            ax.set_yticks(range(k), labels, fontsize=7)
        if k <= 20:
            for (i, j), v in np.ndenumerate(m):
                dark = share[i, j] > 0.6 if i == j else errors[i, j] > 0.6 * worst
                if v:
                    ax.text(j, i, str(int(v)), ha="center", va="center", fontsize=7, color="white" if dark else "black")
    return png_bytes(fig)


def _per_class_png(report: dict[str, Any]) -> bytes:
    """Per-class top-1 of the float and the quantized model, the class's test images under its name."""
    plt = pyplot()
    q, f, labels = report["quantized"], report["float"], report["labels"]
    support = report.get("support", {})
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.45 * len(labels) + 2), 3.6))
    for offset, values, name, color in ((-0.2, f["per_class_accuracy"], "float", "tab:blue"),
                                        (0.2, q["per_class_accuracy"], q["model"], "tab:orange")):
        ax.bar(x + offset, [(values[lab] or 0.0) * 100 for lab in labels], width=0.4, label=name, color=color)
    for i, lab in enumerate(labels):
        delta = q["per_class_delta_pp"][lab]
        if delta:
            ax.annotate(f"{delta:+.0f}", (i, 101), ha="center", fontsize=7,
                        color="tab:red" if delta < 0 else "tab:green")
    ticks = [f"{lab}\nn={support[lab]}" if lab in support else lab for lab in labels]
    ax.set_xticks(x, ticks, rotation=90 if len(labels) > 12 else 0, fontsize=7)
    ax.set_ylim(0, 108)
    ax.set_ylabel("top-1 accuracy (%)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"per-class accuracy on the test split (n = test images; changes in pp above the bars); "
                 f"drop {report['drop_pp']:.2f} pp", fontsize=9)
    return png_bytes(fig)
