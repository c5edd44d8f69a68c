"""Dynamic int8 quantization for CPU inference.

Every ``nn.Linear`` (the cells' projections included, see :mod:`nmt.cells`) gets int8 weights
and activations quantized on the fly; the model's maths is unchanged otherwise. The fused
whole-sequence kernels need float weights, so quantized recurrent stacks run the step loop.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


def quantize_int8(model: nn.Module) -> nn.Module:
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():  # torch.ao.quantization is deprecated but still the tool
        warnings.simplefilter("ignore")
        quantized = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    for module in quantized.modules():
        if hasattr(module, "use_fused"):
            module.use_fused = False
    return quantized.eval()
