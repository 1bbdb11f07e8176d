"""Enrol, verify and unlock: detector + int8 embedder + gallery, on photos or a frame source."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn.camera.events import EventSink
from edgecnn.camera.frames import frames
from edgecnn.camera.sources import open_source
from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError
from edgecnn.face.detect import Face, NoFaceError, cropper_for, load_face, whole_face
from edgecnn.face.embedder import Embedder
from edgecnn.face.gallery import (
    DEFAULT_THRESHOLD,
    Gallery,
    GalleryError,
    Match,
    best_match,
    check_name,
    check_threshold,
    model_fingerprint,
)
from edgecnn.face.unlock import UnlockPolicy, UnlockState
from edgecnn.images import ImageError, list_images
from edgecnn.log import get_logger, track

log = get_logger(__name__)


@dataclass(frozen=True)
class UnlockSummary:
    """How an unlock run went."""

    frames: int
    frames_with_face: int
    unlocks: int
    lockouts: int
    state: str
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def resolve_model(gallery: Path, model: Path | None) -> Path:
    """--model, else the model recorded in the gallery at its first enrolment."""
    if model is None:
        if not gallery.exists():
            raise GalleryError(f"no gallery at {gallery}; enrol someone first (edgecnn face enroll --model ...)")
        with Gallery(gallery) as existing:
            recorded = existing.meta.get("model_path", "")
        model = Path(recorded)
        if not recorded or not model.is_file():
            raise EdgeCNNUsageError(f"the gallery's model {recorded or '?'} is gone; pass --model")
    elif not model.is_file():
        raise EdgeCNNUsageError(f"model not found: {model}")
    return model


class FaceSession:
    """One model, one gallery, one detector: everything enrol / verify / unlock share.

    With `create`, a missing gallery is not made here: `enroll()` creates it together with its
    first person, so a failed first enrolment leaves no gallery behind.
    """

    def __init__(self, gallery: Path, model: Path | None, detect: bool = True, threshold: float | None = None,
                 create: bool = False) -> None:
        self.gallery_path = gallery
        self.model = resolve_model(gallery, model)
        self.embedder = Embedder(self.model)
        self.fingerprint = model_fingerprint(self.model)
        pending = create and not gallery.exists()
        self.gallery: Gallery | None = None if pending else Gallery(gallery, self.fingerprint, self.embedder.dim)
        self.cropper = cropper_for(self.embedder.card) if detect else None
        self.threshold = check_threshold(
            threshold if threshold is not None else self.gallery.threshold if self.gallery else DEFAULT_THRESHOLD)
        self.notes: list[str] = []
        self._cache: tuple[list[str], np.ndarray] | None = None

    def enroll(self, name: str, vectors: list[np.ndarray], sources: list[str], replace: bool = False) -> Gallery:
        """Store `name`'s embeddings (creating the gallery with them when there is none yet)."""
        check_name(name)
        if self.gallery is None:
            self.gallery, _ = Gallery.create(self.gallery_path, self.fingerprint, self.embedder.dim, self.model,
                                             name, vectors, sources)
        else:
            self.gallery.enroll(name, vectors, sources, replace)
        return self.gallery

    def open_gallery(self) -> Gallery:
        """The gallery, which must exist by now."""
        if self.gallery is None:
            raise GalleryError(f"no gallery at {self.gallery_path}; enrol someone first (edgecnn face enroll)")
        return self.gallery

    def face_in(self, bgr: np.ndarray) -> Face | None:
        return whole_face(bgr) if self.cropper is None else self.cropper.largest(bgr)

    def enroll_images(self, folder: Path) -> tuple[list[np.ndarray], list[str]]:
        """Embeddings of the largest face in each image of `folder`; images without one are skipped."""
        if not folder.is_dir():
            raise EdgeCNNUsageError(f"image folder not found: {folder}")
        files = list_images(folder)
        if not files:
            raise EdgeCNNError(f"{folder} holds no images (jpg, png, bmp, pgm, ...)")
        vectors, sources = [], []
        for path in track(files, len(files), "enrolling"):
            try:
                face = load_face(path, self.cropper)
            except (NoFaceError, ImageError) as exc:
                self.notes.append(f"skipped: {exc}")
                continue
            if face.faces_in_frame > 1:
                self.notes.append(f"{path.name}: {face.faces_in_frame} faces, used the largest")
            vectors.append(self.embedder.embed_bgr(face.image))
            sources.append(str(path))
        if not vectors:
            raise NoFaceError(f"no face found in any of the {len(files)} images of {folder}")
        return vectors, sources

    def enroll_source(self, source: str, shots: int, interval: float = 0.3, max_frames: int = 600
                      ) -> tuple[list[np.ndarray], list[str]]:
        """`shots` embeddings from a camera: the largest face, at least `interval` s apart so the
        shots differ a little (a video is timed by its frame rate)."""
        vectors, sources, stop, last = [], [], threading.Event(), -float("inf")
        with frames(open_source(source), stop, max_frames=max_frames) as stream:
            for frame in stream:
                if frame.t - last < interval - 1e-9:
                    continue
                face = self.face_in(frame.bgr)
                if face is None:
                    continue
                vectors.append(self.embedder.embed_bgr(face.image))
                sources.append(f"{source}#frame{frame.index}")
                last = frame.t
                log.info(f"shot {len(vectors)}/{shots}")
                if len(vectors) >= shots:
                    break
        if len(vectors) < shots:
            raise NoFaceError(f"only {len(vectors)} of {shots} shots had a face in {max_frames} frames of "
                              f"{source}; face the camera in good light")
        return vectors, sources

    def names(self) -> list[str]:
        return self.gallery.names() if self.gallery else []

    def match(self, face: Face) -> Match:
        names, templates = self._templates()
        return best_match(names, templates, self.embedder.embed_bgr(face.image), self.threshold)

    def verify_image(self, path: Path) -> tuple[Match, Face]:
        face = load_face(path, self.cropper)
        if face.faces_in_frame > 1:
            self.notes.append(f"{face.faces_in_frame} faces in {path.name}, verified the largest")
        return self.match(face), face

    def verify_source(self, source: str, max_frames: int = 100) -> tuple[Match, Face]:
        """The first frame of `source` that holds a face."""
        with frames(open_source(source), max_frames=max_frames) as stream:
            for frame in stream:
                face = self.face_in(frame.bgr)
                if face is not None:
                    return self.match(face), face
        raise NoFaceError(f"no face in the first {max_frames} frames of {source}")

    def unlock(self, source: str, policy: UnlockPolicy, sink: EventSink, duration: float | None = None,
               max_frames: int | None = None) -> UnlockSummary:
        """Run the unlock policy on every frame until the source ends, --duration or Ctrl-C."""
        if not self.names():
            raise EdgeCNNUsageError("the gallery is empty; enrol someone first (edgecnn face enroll)")
        state, count, faces = UnlockState(policy), 0, 0
        with frames(open_source(source), duration=duration, max_frames=max_frames) as stream:
            for frame in stream:
                face = self.face_in(frame.bgr) if state.watching(frame.t) else None
                match = self.match(face) if face is not None else None
                faces += face is not None
                for event in state.step(frame.t, frame.index, match):
                    sink.emit(event)
                count = frame.index + 1
        return UnlockSummary(count, faces, state.unlocks, state.lockouts, state.state, self.threshold)

    def close(self) -> None:
        if self.gallery is not None:
            self.gallery.close()

    def __enter__(self) -> "FaceSession":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _templates(self) -> tuple[list[str], np.ndarray]:
        """The gallery's templates, read once per session (the gallery does not change meanwhile)."""
        if self._cache is None:
            self._cache = self.open_gallery().templates()
        return self._cache
