"""The benchmark's estimators and machine facts: paired ratios, CPU parsing, flatbuffer reading,
bench --json keys. Speed itself is measured in benchmarks/, never asserted here."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from edgecnn.runtime import flatbuf
from edgecnn.runtime.machine import CpuInfo, describe_load, parse_cpuinfo
from edgecnn.runtime.modelinfo import ModelFormatError, custom_operators, read_metadata, read_model_info
from edgecnn.runtime.paired import compare, paired_stats, time_pairs
from tests.conftest import shared

EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni avx512_bf16
processor\t: 1
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni avx512_bf16
"""
SAPPHIRE = ("model name\t: Intel(R) Xeon(R) Platinum 8488C\n"
            "flags\t\t: avx2 avx512_vnni avx_vnni amx_bf16 amx_int8 amx_tile\n")
AVX2_ONLY = "model name\t: AMD EPYC 7R32\nflags\t\t: fpu sse2 avx2 fma\n"
PI4 = """processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU part\t: 0xd08
Hardware\t: BCM2835
Model\t\t: Raspberry Pi 4 Model B Rev 1.4
"""
PI5 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm " \
      "lrcpc dcpop asimddp\nCPU part\t: 0xd0b\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n"


@pytest.mark.parametrize("text,model,int8", [
    (EPYC, "AMD EPYC 9R14", ("AVX512-VNNI",)),
    (SAPPHIRE, "Intel(R) Xeon(R) Platinum 8488C", ("AVX512-VNNI", "AVX-VNNI", "AMX-INT8")),
    (AVX2_ONLY, "AMD EPYC 7R32", ()),
    (PI4, "Raspberry Pi 4 Model B Rev 1.4, Cortex-A72", ()),
    (PI5, "Raspberry Pi 5 Model B Rev 1.0, Cortex-A76", ("dot product (asimddp)",)),
    ("", "unknown", ()),
])
def test_cpuinfo_names_the_cpu_and_its_int8_instructions(text: str, model: str, int8: tuple[str, ...]) -> None:
    info = parse_cpuinfo(text, "x86_64", 2)
    assert (info.model, info.int8, info.cpus) == (model, int8, 2)
    described = info.describe()
    assert model in described and ("none" in described) == (not int8)
    assert set(info.to_dict()) == {"model", "cpus", "arch", "int8_instructions"}


def test_load_average_text() -> None:
    assert describe_load(None) == "load average unknown"
    assert "0.5 1.0 2.0" in describe_load((0.5, 1.0, 2.0))


def test_paired_ratio_is_the_median_of_per_pair_ratios() -> None:
    a = [[1.0, 2.0, 4.0], [1.0, 1.0, 1.0]]
    b = [[1.1, 2.2, 4.4], [1.2, 1.2, 1.2]]
    p = paired_stats(a, b)
    assert p.ratios == pytest.approx((1.1, 1.2))
    assert p.ratio == pytest.approx(1.15) and (p.ratio_min, p.ratio_max) == pytest.approx((1.1, 1.2))
    assert p.diff_ms == pytest.approx((200 + 200) / 2) and p.repeats == 2 and p.pairs == 3
    assert set(p.to_dict()) >= {"ratio", "ratio_min", "ratio_max", "diff_ms", "ratios", "repeats"}


def test_paired_ratio_ignores_what_disturbs_a_minority_of_pairs() -> None:
    """A busy machine slows some pairs 5x; the ratio of p50s moves, the paired median does not."""
    rng = np.random.default_rng(0)
    bare = rng.uniform(1.0, 1.1, 200)
    slow = np.where(rng.random(200) < 0.4, 5.0, 1.0)  # 40 % of pairs hit by the other process
    a, b = bare * slow, bare * 1.05 * slow
    b[::7] *= 3.0  # and some single calls on one side only
    assert paired_stats([a.tolist()], [b.tolist()]).ratio == pytest.approx(1.05, abs=1e-9)


@pytest.mark.parametrize("a,b", [([], []), ([[1.0]], []), ([[1.0, 2.0]], [[1.0]]), ([[0.0]], [[1.0]])])
def test_paired_stats_refuses_malformed_samples(a, b) -> None:
    with pytest.raises(ValueError):
        paired_stats(a, b)


def test_time_pairs_alternates_the_order() -> None:
    calls: list[str] = []
    time_pairs(lambda: calls.append("a"), lambda: calls.append("b"), 4, switch_warmup=1)
    assert calls == ["a", "a", "b", "b", "b", "b", "a", "a"] * 2
    p, sa, sb = compare(lambda: None, lambda: None, 5, repeats=3, warmup=2)
    assert p.repeats == 3 and p.pairs == 5 and len(sa) == len(sb) == 15
    with pytest.raises(ValueError):
        compare(lambda: None, lambda: None, 0)


def _with_metadata_vector_past_the_end(buf: bytes) -> bytes:
    """The same model with its metadata vector's length made larger than the file."""
    root = struct.unpack_from("<I", buf, 0)[0]
    vtable = root - struct.unpack_from("<i", buf, root)[0]
    field = root + struct.unpack_from("<H", buf, vtable + 4 + 2 * flatbuf.MODEL_METADATA)[0]
    start = field + struct.unpack_from("<I", buf, field)[0]
    return buf[:start] + struct.pack("<I", 1 << 30) + buf[start + 4:]


@pytest.mark.parametrize("name", ["mobilenet_v1_0.25_128_quant.tflite", "mobilenet_v1_0.25_128_quant_edgetpu.tflite"])
def test_struct_reader_matches_the_schema_reader(name: str) -> None:
    buf = shared("coral", name).read_bytes()
    info = read_model_info(buf)
    assert read_metadata(buf) == info.metadata
    expected = [op.name for op in info.operators if not op.name.isupper()]
    assert sorted(set(custom_operators(buf))) == sorted(set(expected))
    with pytest.raises(ModelFormatError, match="metadata"):
        read_metadata(_with_metadata_vector_past_the_end(buf))


def test_struct_reader_rejects_garbage() -> None:
    assert read_metadata(b"\0\0\0\0TFL3") == {}  # a table with no fields: nothing to read, nothing out of bounds
    for bad in (b"", b"12345678", b"\x08\0\0\0TFL3", b"\xff\xff\xff\x7fTFL3" + b"\0" * 32):
        with pytest.raises(ModelFormatError):
            read_metadata(bad)
        with pytest.raises(ModelFormatError):
            custom_operators(bad)


def test_bench_json_states_estimator_cpu_and_load(run_cli) -> None:
    r = run_cli("bench", shared("coral", "mobilenet_v1_0.25_128_quant.tflite"), "--runs", "10", "--repeats", "3",
                "--warmup", "2", "--threads", "1", "--json", "--cold-starts", "2")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    o = report["overhead"]
    assert len(o["ratios"]) == o["repeats"] == 3 and o["pairs_per_repeat"] == 10
    assert o["ratio_min"] <= o["ratio"] == report["overhead_ratio"] <= o["ratio_max"]
    assert "median" in report["overhead_estimator"] and report["threads"] == 1
    assert set(report["cpu"]) == {"model", "cpus", "arch", "int8_instructions"}
    assert set(report["load_average"]) == {"before", "after"}
    assert report["cold_start"]["runs"] == 2 and len(report["cold_start"]["all_seconds"]) == 2


def test_bench_text_names_the_cpu_and_the_load(run_cli) -> None:
    r = run_cli("bench", shared("coral", "mobilenet_v1_0.25_128_quant.tflite"), "--runs", "5", "--repeats", "2",
                "--no-cold-start")
    assert r.code == 0, r.err
    assert "CPU: " in r.out and "int8 instructions" in r.out and "load average" in r.out
    assert "median of per-call ratios" in r.out


def test_cpu_info_of_this_machine_is_well_formed() -> None:
    from edgecnn.runtime.machine import cpu_info

    info = cpu_info()
    assert isinstance(info, CpuInfo) and info.cpus >= 1 and info.model
