"""Dynamic int8 quantization for CPU inference.

The decoder's ``nn.Linear`` layers (the cells' projections included, see :mod:`nmt.cells`) get
int8 weights, activations quantized on the fly. Only the decoder: it runs once per output step
and beam, while the encoder runs once per sentence in a fused kernel that needs float weights
(quantizing it too forced the slow step loop and made int8 decoding no faster).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


def quantize_int8(model: nn.Module) -> nn.Module:
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():  # torch.ao.quantization is deprecated but still the tool
        warnings.simplefilter("ignore")
        model.decoder = quantize_dynamic(model.decoder, {nn.Linear}, dtype=torch.qint8)
    return model.eval()
