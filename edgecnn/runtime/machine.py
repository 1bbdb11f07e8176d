"""Which machine a benchmark ran on: CPU model, its int8 instructions, core count, load average.

A speed figure belongs to one CPU: int8 kernels are fast where the CPU has dot-product
instructions for 8-bit integers (x86 VNNI / AMX, ARM's dot product) and often slower than
float32 where it has none (Raspberry Pi 4's Cortex-A72). Benchmarks state it beside every table.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from dataclasses import dataclass
from typing import Any

# /proc/cpuinfo flag (x86 "flags", ARM "Features") -> what a reader knows it as
INT8_FLAGS = {
    "avx512_vnni": "AVX512-VNNI",
    "avx_vnni": "AVX-VNNI",
    "avx_vnni_int8": "AVX-VNNI-INT8",
    "amx_int8": "AMX-INT8",
    "asimddp": "dot product (asimddp)",
    "i8mm": "int8 matrix multiply (i8mm)",
    "sve": "SVE",
}
# ARM "CPU part" -> core name, for the boards edgecnn targets (the Pi's cpuinfo has no model name)
ARM_PARTS = {"0xd03": "Cortex-A53", "0xd04": "Cortex-A35", "0xd05": "Cortex-A55", "0xd07": "Cortex-A57",
             "0xd08": "Cortex-A72", "0xd09": "Cortex-A73", "0xd0a": "Cortex-A75", "0xd0b": "Cortex-A76",
             "0xd0d": "Cortex-A77", "0xd41": "Cortex-A78"}


@dataclass(frozen=True)
class CpuInfo:
    """The CPU model, how many CPUs this process may use, and its int8 instructions (empty: none)."""

    model: str
    cpus: int
    arch: str
    int8: tuple[str, ...]

    def describe(self) -> str:
        """'AMD EPYC, 2 CPUs (x86_64), int8 instructions: AVX512-VNNI'."""
        int8 = ", ".join(self.int8) if self.int8 else "none (no VNNI / AMX / dot product)"
        return f"{self.model}, {self.cpus} CPUs ({self.arch}), int8 instructions: {int8}"

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "cpus": self.cpus, "arch": self.arch, "int8_instructions": list(self.int8)}


def parse_cpuinfo(text: str, arch: str = "", cpus: int = 1) -> CpuInfo:
    """CpuInfo from the text of /proc/cpuinfo (x86 or ARM layout); unknown fields stay 'unknown'."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key not in fields:  # the first processor's block describes the rest
            fields[key] = value.strip()
    flags = set((fields.get("flags") or fields.get("features") or "").split())
    model = fields.get("model name") or ""
    if not model or model.lower().startswith("arm"):  # ARM: "ARMv7 Processor rev 3" says little
        part = ARM_PARTS.get(fields.get("cpu part", "").lower())
        board = fields.get("model")  # Raspberry Pi: "Raspberry Pi 4 Model B Rev 1.4"
        model = ", ".join(v for v in (board, part) if v) or model or fields.get("hardware", "") or "unknown"
    return CpuInfo(model, cpus, arch or "unknown", tuple(name for flag, name in INT8_FLAGS.items() if flag in flags))


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_info() -> CpuInfo:
    """This machine's CpuInfo (from /proc/cpuinfo on Linux; the platform's name elsewhere)."""
    arch = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            return parse_cpuinfo(fh.read(), arch, usable_cpus())
    except OSError:
        return CpuInfo(platform.processor() or "unknown", usable_cpus(), arch or "unknown", ())


def load_average() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages, or None where the OS has none."""
    try:
        one, five, fifteen = os.getloadavg()
    except (AttributeError, OSError):
        return None
    return round(one, 2), round(five, 2), round(fifteen, 2)


def describe_load(load: tuple[float, float, float] | None) -> str:
    """'load average 0.77 0.78 0.58 (1/5/15 min)' or 'load average unknown'."""
    return "load average unknown" if load is None else "load average {} {} {} (1/5/15 min)".format(*load)


def own_peak_rss_mb() -> float:
    """Peak resident memory of this process's own address space, in MB.

    The kernel's rusage for a child also counts the parent's pages from before exec (fork or
    vfork), so a measured child reports its own VmHWM."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    # no /proc (macOS): ru_maxrss is bytes there, KiB on Linux
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024
