"""pyarrow columns of generated arrays: labels, dates and formatted ids."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Ids are zero-padded to at least this many digits ("E000042", "P0391848").
MIN_WIDTH = {"A": 7, "E": 6, "P": 7, "R": 7, "S": 7}


def labels(codes: np.ndarray, vocabulary, mask: np.ndarray | None = None) -> pa.DictionaryArray:
    """Category codes as a dictionary column; masked entries are null (empty in CSV)."""
    indices = pa.array(codes.astype(np.int16), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(vocabulary), pa.string()))


def dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Days since 1970-01-01 as a date32 column; masked entries are null."""
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=mask).cast(pa.date32())


def id_width(prefix: str, largest: int) -> int:
    """Digits of the ids with this prefix: the minimum, or more for large numbers.

    >>> id_width("E", 42), id_width("E", 1_234_567)
    (6, 7)
    """
    return max(MIN_WIDTH[prefix], len(str(largest)))


def ids(prefix: str, numbers: pa.ChunkedArray | pa.Array, width: int) -> pa.Array:
    """'E000042'-style ids: a prefix and a zero-padded number (null stays null)."""
    digits = pc.utf8_lpad(pc.cast(numbers, pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")
