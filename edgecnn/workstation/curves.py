"""train_curves.png: loss and accuracy per epoch, train and validation, with the epoch whose
weights were kept marked (early stopping restores it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgecnn.workstation.plotting import png_bytes, pyplot

CURVES_PNG = "train_curves.png"


def monitored(history: dict[str, list[float]]) -> str:
    """The quantity early stopping watched: validation loss when there was a validation split."""
    return "val_loss" if history.get("val_loss") else "loss"


def kept_epoch(history: dict[str, list[float]], monitor: str | None = None) -> int | None:
    """1-based epoch with the lowest monitored value (the weights early stopping keeps)."""
    values = history.get(monitor or monitored(history), [])
    return int(np.argmin(values)) + 1 if values else None


def curves_png(history: dict[str, list[float]], epochs: int, chance: float | None = None) -> bytes:
    """Loss (log scale) and, for classifiers, accuracy against the epoch; the kept epoch as a line."""
    plt = pyplot()
    panels = [("loss", "loss")] + ([("accuracy", "accuracy")] if "accuracy" in history else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), squeeze=False)
    ran, kept = len(history.get("loss", [])), kept_epoch(history)
    x = np.arange(1, ran + 1)
    for ax, (key, title) in zip(axes[0], panels, strict=True):
        ax.plot(x, history[key], label="train", color="tab:blue")
        if f"val_{key}" in history:
            ax.plot(x, history[f"val_{key}"], label="validation", color="tab:orange")
        if kept is not None:
            ax.axvline(kept, color="tab:green", linestyle="--", linewidth=1, label=f"kept epoch {kept}")
        if key == "loss":
            ax.set_yscale("log")
        else:
            ax.set_ylim(-0.02, 1.02)
            if chance is not None:
                ax.axhline(chance, color="grey", linestyle=":", linewidth=1, label=f"chance {chance:.2f}")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    how = f"stopped early at epoch {ran} of {epochs}" if ran < epochs else f"all {epochs} epochs"
    fig.suptitle(f"training: {how}" + (f", kept epoch {kept}" if kept else ""), fontsize=10)
    return png_bytes(fig)


def stop_sentence(history: dict[str, Any], epochs: int) -> str:
    """"stopped early at epoch 38 of 60; kept epoch 23 (lowest val loss 0.0412)" or "ran all 60 epochs; ..."."""
    ran, monitor = len(history.get("loss", [])), monitored(history)
    how = f"stopped early at epoch {ran} of {epochs}" if ran < epochs else f"ran all {epochs} epochs"
    kept = kept_epoch(history, monitor)
    if kept is None:
        return how
    return f"{how}; kept epoch {kept} (lowest {monitor.replace('_', ' ')} {history[monitor][kept - 1]:.4f})"
