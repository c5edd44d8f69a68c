"""nmt-sru: the Simple Recurrent Unit as an nmt cell plugin (``model.cell: sru``)."""

from nmt_sru.cell import SRUCell

__all__ = ["SRUCell"]
__version__ = "0.1.0"
