"""Quantize / dequantize arithmetic and top-k selection."""

from __future__ import annotations

import numpy as np
import pytest

from edgecnn.card import Preprocessing
from edgecnn.runtime import TensorSpec, dequantize, get_classes, normalize, quantize


def _spec(dtype, scale, zp) -> TensorSpec:
    return TensorSpec(0, "t", (1, 4), np.dtype(dtype), scale, zp)


def test_int8_input_of_unit_range_is_exact_pixel_shift() -> None:
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    x = normalize(pixels, Preprocessing(scale=1 / 255, color="gray"))
    q = quantize(x, _spec(np.int8, 1 / 255, -128))
    assert q.dtype == np.int8
    np.testing.assert_array_equal(q.astype(np.int32), pixels.astype(np.int32) - 128)


def test_quantize_clips_to_dtype_range() -> None:
    q = quantize(np.array([-10.0, 0.0, 10.0]), _spec(np.uint8, 0.01, 128))
    assert q.tolist() == [0, 128, 255]


def test_dequantize_does_integer_subtraction_first() -> None:
    spec = _spec(np.int8, 1 / 256, -128)
    out = dequantize(np.array([-128, 0, 127], dtype=np.int8), spec)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.0, 0.5, 255 / 256])


def test_float_tensors_pass_through() -> None:
    spec = _spec(np.float32, 0.0, 0)
    x = np.array([0.25, -1.5], dtype=np.float64)
    assert quantize(x, spec).dtype == np.float32
    np.testing.assert_array_equal(dequantize(np.array([1.5], np.float32), spec), [1.5])


def test_integer_tensor_without_scale_is_refused() -> None:
    with pytest.raises(ValueError):
        quantize(np.zeros(2), _spec(np.int8, 0.0, 0))


def test_get_classes_orders_by_score_then_index() -> None:
    top = get_classes(np.array([0.1, 0.5, 0.5, 0.2]), 3, ["a", "b", "c", "d"])
    assert [(c.index, c.label) for c in top] == [(1, "b"), (2, "c"), (3, "d")]
    assert [c.label for c in get_classes(np.array([0.3, 0.7]), 10, ["x"])] == ["1", "x"]


@pytest.mark.parametrize("dtype,scale,zp", [(np.int8, 1 / 255, -128), (np.uint8, 1 / 128, 128),
                                            (np.int8, 2 / 255, 0), (np.float32, 0.0, 0)])
@pytest.mark.parametrize("channels", [1, 3])
def test_feeder_matches_the_reference_arithmetic(dtype, scale, zp, channels) -> None:
    from edgecnn.runtime.classify import make_feeder, pixel_table

    spec = TensorSpec(0, "in", (1, 5, 7, channels), np.dtype(dtype), scale, zp)
    rng = np.random.default_rng(channels)
    image = rng.integers(0, 256, (5, 7, channels), dtype=np.uint8)
    mean = tuple(float(m) for m in rng.uniform(0, 0.5, channels))
    for pre in (Preprocessing(scale=1 / 255, mean=(0.0,) * channels, std=(1.0,) * channels,
                              color="gray" if channels == 1 else "rgb"),
                Preprocessing(scale=1 / 127.5, mean=mean, std=(1.0,) * channels,
                              color="gray" if channels == 1 else "rgb")):
        fed = make_feeder(pixel_table(pre, spec, channels))(image)
        expected = quantize(normalize(image, pre), spec)
        assert fed.dtype == expected.dtype and fed.shape == image.shape
        np.testing.assert_array_equal(fed, expected)
    raw = make_feeder(pixel_table(None, spec, channels))(image)
    assert raw.shape == image.shape
