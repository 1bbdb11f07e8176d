"""edgecnn's CenterNet decoder on the integers (the fast path the camera uses) finds exactly what the
float decoder finds on the dequantized map: few peaks (plain Python), many (vectorised), peaks on
the map's edges, plateaus, int8 and uint8, and a threshold above anything the integers can hold."""

from __future__ import annotations

import numpy as np
import pytest

from edgecnn.runtime.detection.centernet import CenterNetDecoder
from edgecnn.runtime.detection.layouts import DecodeOptions
from edgecnn.runtime.tensors import TensorSpec, dequantize

CLASSES, G, HW = 3, 24, (96, 96)


def _grid(dtype: np.dtype, peaks: int, seed: int) -> tuple[np.ndarray, TensorSpec]:
    rng = np.random.default_rng(seed)
    lo, hi = (-128, 127) if dtype == np.int8 else (0, 255)
    grid = rng.integers(lo, hi + 1, (1, G, G, CLASSES + 4)).astype(dtype)
    grid[..., :CLASSES] = rng.integers(lo, lo + 100, (1, G, G, CLASSES))  # background well below 0.5
    cells = rng.choice(G * G * CLASSES, peaks, replace=False)
    ys, xs, ks = np.unravel_index(cells, (G, G, CLASSES))
    grid[0, ys, xs, ks] = rng.integers(hi - 100, hi + 1, peaks)  # over the threshold, some side by side
    grid[0, 0, 0, 0] = grid[0, G - 1, G - 1, 2] = hi  # corners
    grid[0, 5, 5, 1] = grid[0, 5, 6, 1] = hi - 3  # a plateau: both cells are peaks, NMS sorts them out
    zero = -128 if dtype == np.int8 else 0
    return grid, TensorSpec(0, "out", grid.shape, np.dtype(dtype), 1 / 255, zero)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("peaks", [0, 3, 20, 200], ids=["none", "few", "some", "many"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integer_decode_equals_float_decode(dtype: np.dtype, peaks: int, seed: int) -> None:
    grid, spec = _grid(dtype, peaks, seed)
    decoder = CenterNetDecoder(CLASSES, 4)
    for opts in (DecodeOptions(0.5, 0.5, 100), DecodeOptions(0.3, 0.7, 10), DecodeOptions(0.0, 0.5, 100)):
        fast = decoder.decode_quantized([grid], [spec], HW, opts)
        ref = decoder.decode([dequantize(grid, spec)], HW, opts)
        order_f, order_r = np.lexsort(fast.boxes.T), np.lexsort(ref.boxes.T)
        assert len(fast.scores) == len(ref.scores) > 0
        np.testing.assert_allclose(fast.boxes[order_f], ref.boxes[order_r], atol=1e-4)
        np.testing.assert_allclose(fast.scores[order_f], ref.scores[order_r], atol=1e-6)
        assert np.array_equal(fast.classes[order_f], ref.classes[order_r])


def test_threshold_above_the_integer_range_finds_nothing() -> None:
    grid, spec = _grid(np.int8, 10, 0)
    assert len(CenterNetDecoder(CLASSES, 4).decode_quantized([grid], [spec], HW, DecodeOptions(1.5)).scores) == 0
