"""DET curves (FRR against FAR, both on log axes) for `face evaluate`, with matplotlib when present."""

from __future__ import annotations

from pathlib import Path

from edgecnn import atomic
from edgecnn.workstation.face.evaluate import FaceEvaluation


def det_png(evaluation: FaceEvaluation, path: str | Path) -> bool:
    """Write the DET curves of every model in `evaluation` to `path`; False when matplotlib is missing."""
    report = evaluation.to_dict()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    import io

    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=110)
    floor = 0.5 / max(report[k]["n_impostor"] for k in ("float", "int8") if k in report)
    for name, style in (("float", "-"), ("int8", "--")):
        if name not in report:
            continue
        r = report[name]
        far = [max(v, floor) for v in r["curve"]["far"]]
        frr = [max(v, floor) for v in r["curve"]["frr"]]
        ax.plot(far, frr, style, label=f"{name}: EER {r['eer'] * 100:.2f} %")
        ax.plot([max(r["far"], floor)], [max(r["frr"], floor)], "o", color=ax.lines[-1].get_color())
    target = report.get("target_far")
    if target:
        ax.axvline(target, color="grey", lw=0.8, ls=":", label=f"target FAR {target:g}")
    ax.plot([floor, 1], [floor, 1], color="lightgrey", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="false accept rate (FAR)", ylabel="false reject rate (FRR)",
           title=f"DET: {report['identities']} people, {report['images']} images")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic.write_bytes(path, buf.getvalue())
    return True
