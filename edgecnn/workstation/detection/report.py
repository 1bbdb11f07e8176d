"""Writing a detector's parity report: parity.json, parity.md and parity_boxes.png (float and int8
boxes side by side on a few test images), each written atomically."""

from __future__ import annotations

from pathlib import Path

from edgecnn import atomic
from edgecnn.runtime.detection.layouts import Decoded
from edgecnn.workstation.detection.evaluate import SHOW_THRESHOLD
from edgecnn.workstation.detection.parity import DetectionParityReport
from edgecnn.workstation.plotting import md_table, png_bytes, pyplot, size_text

BOXES_PNG = "parity_boxes.png"
HEADER = ("model", "size", "mAP", "mAP@.5", "drop (pp)", "box agreement", "mean IoU")


def summary_rows(report: DetectionParityReport, run_dir: Path) -> list[tuple[str, ...]]:
    f = report.float_metrics
    rows = [("model.keras (float)", size_text(run_dir / "model.keras"), f"{f.map:.4f}", f"{f.map50:.4f}", "-", "-",
             "-")]
    for name, m in report.models.items():
        rows.append((name, size_text(run_dir / name), f"{m.map:.4f}", f"{m.map50:.4f}", f"{m.drop_pp:+.2f}",
                     f"{m.agreement * 100:.1f} %", f"{m.mean_iou:.3f}"))
    return rows


def write_detection_reports(report: DetectionParityReport, run_dir: Path, json_path: Path | None = None) -> list[Path]:
    written = [run_dir / "parity.json", run_dir / "parity.md", run_dir / BOXES_PNG]
    atomic.write_json(written[0], report.to_dict())
    if json_path is not None:
        atomic.write_json(json_path, report.to_dict())
        written.append(json_path)
    q = report.quantized
    per_class = [(lab, _ap(report.float_metrics.per_class_ap50[lab]), _ap(q.per_class_ap50[lab]),
                  "-" if q.per_class_delta_pp[lab] is None else f"{q.per_class_delta_pp[lab]:+.2f}")
                 for lab in report.labels]
    md = [f"# Parity report: {run_dir.name} (detector)", "", f"**{report.verdict()}**", "",
          "mAP is COCO's mAP@[.5:.95] (pycocotools); the drop is measured on mAP@.5. Box agreement: float "
          f"detections (score >= {SHOW_THRESHOLD}) matched by a detection of the same class at IoU >= 0.5.", "",
          md_table(HEADER, summary_rows(report, run_dir)), "", f"## AP@.5 per class: float vs {report.primary}", "",
          md_table(("class", "float", "quantized", "change (pp)"), per_class), "",
          f"![float and {report.primary} boxes]({BOXES_PNG})", ""]
    atomic.write_text(written[1], "\n".join(md))
    atomic.write_bytes(written[2], _boxes_png(report))
    return written


def _ap(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _boxes_png(report: DetectionParityReport, count: int = 4) -> bytes:
    plt = pyplot()
    columns = [("float", "float (model.keras)"), (report.primary, report.primary)]
    fig, axes = plt.subplots(count, 2, figsize=(6, 3 * count))
    for row in range(min(count, report.n)):
        image = report.images[row]
        for col, (key, title) in enumerate(columns):
            ax = axes[row, col]
            ax.imshow(image[..., 0] if image.shape[2] == 1 else image, cmap="gray" if image.shape[2] == 1 else None)
            _draw(ax, report.detections[key][row], report.labels)
            ax.set_title(title if row == 0 else "", fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    return png_bytes(fig)


def _draw(ax: object, found: Decoded, labels: tuple[str, ...]) -> None:
    colours = ["tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:cyan"]
    keep = found.scores >= SHOW_THRESHOLD
    for box, cls, score in zip(found.boxes[keep], found.classes[keep], found.scores[keep], strict=True):
        x0, y0, x1, y1 = (float(v) for v in box)
        colour = colours[int(cls) % len(colours)]
        ax.add_patch(pyplot().Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color=colour, linewidth=1.2))
        ax.text(x0, y0 - 1, f"{labels[int(cls)]} {score:.2f}", color=colour, fontsize=6)

