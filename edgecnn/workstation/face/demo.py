"""`edgecnn face demo`: train, quantize, evaluate, enrol one unseen person, replay a walk-up video.

The identities are split: the first part trains the embedder, the rest are people it never saw;
one of those is enrolled, and a generated video shows them walking up (unlock) and then the
others (refused, then locked out).
"""

from __future__ import annotations

import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import cv2

from edgecnn.errors import EdgeCNNError
from edgecnn.face.gallery import Gallery
from edgecnn.face.session import FaceSession
from edgecnn.face.unlock import UnlockPolicy
from edgecnn.log import get_logger
from edgecnn.workstation.config import FaceConfig, QuantizeConfig
from edgecnn.workstation.face.evaluate import evaluate, identity_images
from edgecnn.workstation.face.footage import ENROL_EVERY, FOOTAGE_FPS, blank, enrolment_footage, walk_by, write_video
from edgecnn.workstation.face.training import face_train
from edgecnn.workstation.quantize.run import quantize_run

log = get_logger(__name__)

OLIVETTI = "olivetti"


def olivetti_folder(out: Path) -> Path:
    """scikit-learn's Olivetti faces (the ORL set, 64x64) as an identity folder; downloads once."""
    from sklearn.datasets import fetch_olivetti_faces  # optional, slow to import: only for 'olivetti'

    try:
        with warnings.catch_warnings():  # scikit-learn warns on every retry; the one line below says it all
            warnings.simplefilter("ignore")
            faces = fetch_olivetti_faces()
    except Exception as exc:  # URLError, HTTPError, socket errors: all mean "could not download"
        raise EdgeCNNError(f"cannot download the Olivetti faces ({exc.__class__.__name__}); they need "
                           "internet once: give a folder of faces instead (one sub-folder per person)") from None
    root = out / "olivetti"
    for i, (image, person) in enumerate(zip(faces.images, faces.target, strict=True)):
        folder = root / f"s{person + 1:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i}.png"), (image * 255).round().astype("uint8"))
    return root


def _link_people(src: Path, names: list[str], dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in names:
        (dest / name).symlink_to((src / name).resolve(), target_is_directory=True)
    return dest


def run_demo(data: str, out: Path, train_fraction: float = 2 / 3, enroll: int = 5, epochs: int | None = None,
             target_far: float = 0.01) -> dict[str, Any]:
    """The whole story; returns a summary (metrics, events) and leaves every artifact in `out`."""
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    root = olivetti_folder(out) if data == OLIVETTI else Path(data)
    people = sorted({who for who, _ in identity_images(root)})
    n_train = int(round(len(people) * train_fraction))
    if n_train < 2 or len(people) - n_train < 2:
        raise EdgeCNNError(f"{root} has {len(people)} people; the demo needs at least 2 to train on and "
                           "2 it never saw (6 or more in all)")
    seen, unseen = people[:n_train], people[n_train:]
    run = out / "run"
    log.info(f"[1/5] training the embedder on {len(seen)} people ({seen[0]}..{seen[-1]})")
    cfg = FaceConfig() if epochs is None else FaceConfig(epochs=epochs)
    card = face_train(str(_link_people(root, seen, out / "train_people")), run, cfg, overwrite=True)
    log.info("[2/5] quantizing to full int8")
    quant = quantize_run(run, QuantizeConfig(calib_samples=200))
    log.info(f"[3/5] verification metrics on {len(unseen)} people it never saw")
    test_dir = _link_people(root, unseen, out / "unseen_people")
    report = evaluate({"float": run / "model_float32.tflite", "int8": quant.path}, test_dir, 3, target_far)
    threshold = report.models["int8"].metrics.threshold_at_target_far
    owner, strangers = unseen[0], unseen[1:]
    log.info(f"[4/5] enrolling {owner} ({enroll} photos), threshold {threshold:.4f} (FAR <= {target_far:g})")
    gallery = out / "gallery.sqlite"
    gallery.unlink(missing_ok=True)
    photos_of = _photos_by_person(test_dir)
    photos = photos_of[owner]
    # enrol the way a user does on the device: shots from the camera (here, a video of them)
    enrol_video = write_video(out / "enrol.avi", enrolment_footage(photos[:enroll]))
    with FaceSession(gallery, quant.path, create=True) as session:
        stored = session.enroll(owner, *session.enroll_source(str(enrol_video), enroll, ENROL_EVERY / FOOTAGE_FPS))
        stored.set_threshold(threshold, f"face demo: int8 threshold at FAR {target_far:g}")
    log.info(f"[5/5] replaying a walk-up video: {owner}, nobody, then {len(strangers)} strangers")
    video = write_video(out / "walkup.avi", _footage([photos_of[who] for who in strangers], photos[enroll:]))
    events = _Collect()
    with FaceSession(gallery, quant.path) as session:
        summary = session.unlock(str(video), UnlockPolicy(), events)
    with Gallery(gallery) as enrolled:
        people = enrolled.people()
    return {"out": str(out), "seconds": round(time.perf_counter() - start, 1),
            "trained_on": len(seen), "identities": card.num_classes, "unseen": unseen, "owner": owner,
            "threshold": threshold, "metrics": report.to_dict(), "video": str(video), "events": events.items,
            "unlock": summary.to_dict(), "gallery": people}


class _Collect:
    """An event sink that keeps the events as dicts."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def emit(self, event: Any) -> None:
        self.items.append(event.to_dict())


def _photos_by_person(folder: Path) -> dict[str, list[Path]]:
    people: dict[str, list[Path]] = {}
    for who, path in identity_images(folder):
        people.setdefault(who, []).append(path)
    return {who: sorted(paths) for who, paths in people.items()}


def _footage(strangers: list[list[Path]], owner_photos: list[Path]) -> list:
    """Owner for 2 s, nobody for 3 s, then each stranger for 1.5 s (10 fps)."""
    frames = walk_by(owner_photos, 20, seed=1) + blank(30, seed=100)
    for n, photos in enumerate(strangers):
        frames += walk_by(photos, 15, seed=200 + 20 * n)
    return frames
