"""Reports as DataFrames: pandas when installed, else pyarrow."""

from __future__ import annotations

from typing import Any


def _frame(columns: dict[str, list[Any]]) -> Any:
    """A pandas DataFrame if pandas is installed, else a pyarrow Table."""
    try:
        import pandas
    except ImportError:
        try:
            import pyarrow
        except ImportError:
            raise ImportError("reports need pandas or pyarrow: pip install pandas") from None
        return pyarrow.table(columns)
    return pandas.DataFrame(columns)
