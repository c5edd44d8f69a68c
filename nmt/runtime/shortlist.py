"""The lexical shortlist in numpy: the same file and the same answers as :mod:`nmt.shortlist`.

The exported directory keeps the model's ``shortlist.safetensors`` as it is. Safetensors is an
8-byte little-endian header length, a JSON header (dtype, shape and byte range of each tensor)
and the raw bytes, so it is read here with numpy alone rather than adding a dependency to the
torch-free runtime. :meth:`Shortlist.candidates` and :meth:`Shortlist.allowed` return what the
torch class returns for the same ids (tests compare them).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_DTYPES = {"I16": np.int16, "I32": np.int32, "I64": np.int64, "F32": np.float32, "F16": np.float16}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as a numpy array; ValueError if it is malformed."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise ValueError("it is shorter than a safetensors header")
    (size,) = struct.unpack("<Q", data[:8])
    if size > len(data) - 8:
        raise ValueError("its header runs past the end of the file")
    header = json.loads(data[8 : 8 + size])
    body = memoryview(data)[8 + size :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"tensor {name!r} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        if not 0 <= start <= end <= len(body):
            raise ValueError(f"tensor {name!r} lies outside the file")
        array = np.frombuffer(body[start:end], dtype=np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<"))
        out[name] = array.reshape(info["shape"])
    return out


@dataclass
class Shortlist:
    table: np.ndarray  # (source vocabulary, width) target ids, likeliest first; -1 pads short rows
    frequent: np.ndarray  # (FREQUENT,) target ids

    @classmethod
    def load(cls, path: Path) -> Shortlist:
        """Rows stored back to back (CSR), as :meth:`nmt.shortlist.Shortlist.save` writes them;
        ValueError for a file that is not a well-formed shortlist."""
        try:
            tensors = read_safetensors(path)
            ids, offsets = tensors["ids"].astype(np.int64), tensors["offsets"].astype(np.int64)
            frequent = tensors["frequent"].astype(np.int64)
        except (KeyError, json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"it is not a shortlist ({exc})") from exc
        lengths = np.diff(offsets)
        if offsets.size < 2 or offsets[0] != 0 or offsets[-1] != ids.size or (lengths < 0).any():
            raise ValueError("its row offsets do not describe its ids")
        table = np.full((lengths.size, int(lengths.max())), -1, dtype=np.int64)
        table[np.arange(table.shape[1]) < lengths[:, None]] = ids
        return cls(table, frequent)

    def candidates(self, sources: Iterable[Sequence[int]], always: Sequence[int]) -> np.ndarray:
        """The sorted target ids a batch may produce: its source pieces' lists, the frequent
        pieces and ``always`` (e.g. EOS)."""
        src = np.array(sorted({i for s in sources for i in s}), dtype=np.int64)
        src = src[src < self.table.shape[0]]
        listed = self.table[src].ravel()
        ids = np.concatenate([self.frequent, listed[listed >= 0], np.asarray(always, dtype=np.int64)])
        return np.unique(ids)

    def allowed(self, sources: Sequence[Sequence[int]], vocab: np.ndarray,
                always: Sequence[Sequence[int]]) -> np.ndarray:
        """(batch, len(vocab)) bool: which of a batch's ``vocab`` each source may produce, so
        that search normalises each sentence over its own list, as if it were alone."""
        return np.stack([np.isin(vocab, self.candidates([s], a)) for s, a in zip(sources, always)])
