"""nmt-local-attention: local attention with predicted alignment (``model.attention: local``)."""

from nmt_local_attention.attention import LocalAttention

__all__ = ["LocalAttention"]
__version__ = "0.1.0"
