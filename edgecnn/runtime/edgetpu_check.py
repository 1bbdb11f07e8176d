"""Edge TPU readiness: would edgetpu_compiler map each op of a .tflite to the Edge TPU?

Pure flatbuffer parsing (no TensorFlow, no compiler). The rules are the compiler's published
model requirements: supported op, 8-bit integer activations, static shapes, at most 3 non-1
dimensions per activation tensor, and op versions compiler 16 can parse. The compiler maps ops in
order until the first one it cannot, and hands that op and every op after it to the CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgecnn.runtime.model import read_model_bytes
from edgecnn.runtime.modelinfo import EDGETPU_CUSTOM_OP, ModelInfo, OpInfo, TensorInfo, read_model_info

# Coral's "supported operations" table, as TFLite builtin names.
SUPPORTED_OPS = frozenset({
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "EXPAND_DIMS",
    "FULLY_CONNECTED", "L2_NORMALIZATION", "LOGISTIC", "LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "MAXIMUM", "MAX_POOL_2D", "MEAN", "MINIMUM", "MUL", "PACK", "PAD", "PRELU", "QUANTIZE",
    "REDUCE_MAX", "REDUCE_MIN", "RELU", "RELU6", "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR", "RSQRT", "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT", "SQUEEZE",
    "STRIDED_SLICE", "SUB", "SUM", "SQUARED_DIFFERENCE", "TANH", "TRANSPOSE", "TRANSPOSE_CONV",
})
# Newest op versions compiler 16.0 registers, where users have hit its "Didn't find op for
# builtin opcode ... version N" refusal (CONV_2D v6, TRANSPOSE_CONV v4). Other ops: no known limit.
MAX_VERSIONS = {"CONV_2D": 5, "TRANSPOSE_CONV": 3}
INTEGER_ACTIVATIONS = ("INT8", "UINT8")
INTEGER_CONSTANTS = ("INT8", "UINT8", "INT32", "INT64")  # weights, biases, shapes, axes


@dataclass(frozen=True)
class OpCheck:
    """The verdict for one operator."""

    index: int
    op: str
    version: int
    mappable: bool
    reasons: tuple[str, ...]
    device: str  # "edgetpu", "cpu" (unmappable, or after the first unmappable op)


@dataclass(frozen=True)
class EdgeTPUReport:
    """Per-op verdicts for one model, where the graph splits, and whether the whole model maps."""

    model: str
    compiled: bool  # already holds edgetpu-custom-op
    ops: tuple[OpCheck, ...]
    first_unmappable: int | None

    @property
    def operators(self) -> int:
        return len(self.ops)

    @property
    def fully_mappable(self) -> bool:
        return self.first_unmappable is None and bool(self.ops)

    @property
    def ready(self) -> bool:
        """Maps to the Edge TPU as it is (fully mappable) or is compiled for it already."""
        return self.fully_mappable or self.compiled

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "compiled": self.compiled, "operators": self.operators,
                "fully_mappable": self.fully_mappable, "first_unmappable": self.first_unmappable,
                "edgetpu_ops": sum(c.device == "edgetpu" for c in self.ops),
                "cpu_ops": sum(c.device == "cpu" for c in self.ops),
                "ops": [asdict(c) for c in self.ops]}


def check_model(path: str | Path) -> EdgeTPUReport:
    """Per-op verdicts, where the graph splits, and whether the whole model maps."""
    return check_bytes(read_model_bytes(Path(path)), str(path))


def check_bytes(data: bytes, source: str) -> EdgeTPUReport:
    """`check_model` for a model held in memory (for instance straight out of the converter)."""
    info = read_model_info(data, source)
    checks = []
    split_at: int | None = None
    for index, op in enumerate(info.operators):
        reasons = op_problems(op, info)
        if reasons and split_at is None:
            split_at = index
        device = "cpu" if split_at is not None else "edgetpu"
        checks.append(OpCheck(index, op.name, op.version, not reasons, tuple(reasons), device))
    return EdgeTPUReport(source, info.has_edgetpu_ops, tuple(checks), split_at)


def op_problems(op: OpInfo, info: ModelInfo) -> list[str]:
    """Why the compiler cannot map `op` (empty when it can)."""
    if op.name == EDGETPU_CUSTOM_OP:
        return []  # already compiled for the Edge TPU
    problems = []
    if op.name not in SUPPORTED_OPS:
        problems.append(f"{op.name} is not an Edge TPU operation")
    limit = MAX_VERSIONS.get(op.name)
    if limit is not None and op.version > limit:
        problems.append(f"{op.name} version {op.version} is newer than compiler 16 accepts (<= {limit})")
    for index in op.inputs + op.outputs:
        if index < 0:
            continue  # optional input left out
        problems += _tensor_problems(info.tensors[index], op)
    return list(dict.fromkeys(problems))


def _tensor_problems(t: TensorInfo, op: OpInfo) -> list[str]:
    name = t.name or "?"
    label = f"tensor '{name if len(name) <= 40 else name[:37] + '...'}'"
    allowed = INTEGER_CONSTANTS if t.constant else INTEGER_ACTIVATIONS
    problems = []
    if t.dtype not in allowed and not (op.name == "QUANTIZE" and t.dtype in ("INT8", "UINT8", "INT16")):
        kind = "constant" if t.constant else "activation"
        problems.append(f"{label} is {t.dtype} ({kind}s must be {'/'.join(allowed)}): quantize to full int8")
    if -1 in t.shape_signature:
        problems.append(f"{label} has a dynamic shape {list(t.shape_signature)}: export with a fixed batch size")
    if not t.constant and sum(d != 1 for d in t.shape) > 3:
        problems.append(f"{label} has more than 3 non-1 dimensions {list(t.shape)}")
    return problems


def format_check(check: EdgeTPUReport, verbose: bool = False) -> str:
    """The per-op table and the verdict for people."""
    report = check.to_dict()
    lines = [f"{'#':>4}  {'operator':26} {'ver':>3}  {'runs on':8} reason"]
    for c in report["ops"]:
        if verbose or not c["mappable"] or c["index"] == report["first_unmappable"]:
            reasons = list(c["reasons"][:2]) + ([f"(+{len(c['reasons']) - 2} more)"] if len(c["reasons"]) > 2 else [])
            lines.append(f"{c['index']:>4}  {c['op']:26} {c['version']:>3}  {c['device']:8} "
                         + ("; ".join(reasons) or "ok"))
    if report["compiled"]:
        verdict = "already compiled for the Edge TPU (edgetpu-custom-op present)"
    elif report["fully_mappable"]:
        verdict = f"all {report['operators']} operators map to the Edge TPU"
    else:
        k = report["first_unmappable"]
        verdict = (f"NOT fully mappable: the compiler would map ops 0-{k - 1} and hand op {k} "
                   f"({report['ops'][k]['op']}) and the {report['operators'] - k - 1} after it to the CPU"
                   if k else f"NOT mappable: op 0 ({report['ops'][0]['op']}) already fails, "
                   f"so the whole model would run on the CPU")
    if not verbose and report["fully_mappable"]:
        lines = lines[:1] + [f"   -  ({report['operators']} operators, all ok; --all lists them)"]
    return "\n".join(lines + [f"{report['model']}: {verdict}"])
