"""Fixed-schema DataFrames: every source frame is built through :func:`conform`.

A schema is an ordered mapping of column name to a pandas dtype string.  ``datetime64[ns, UTC]`` is the only
timestamp dtype used anywhere in irlib.
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .errors import SchemaError

Schema = Mapping[str, str]
UTC_TS = "datetime64[ns, UTC]"


def empty_frame(schema: Schema) -> pd.DataFrame:
    """An empty frame with exactly the columns and dtypes of ``schema``."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in schema.items()})


def conform(frame: pd.DataFrame | None, schema: Schema, *, extra: bool = False) -> pd.DataFrame:
    """Return ``frame`` with the schema's columns, in order, cast to the schema's dtypes.

    Missing columns are added as nulls; columns outside the schema are dropped unless ``extra`` is true (then they
    follow the schema's columns).  Timestamps are parsed and converted to UTC; naive timestamps are refused because
    their zone is unknown.
    """
    if frame is None or len(frame) == 0:
        out = empty_frame(schema)
        if extra and frame is not None:
            for col in frame.columns:
                if col not in out.columns:
                    out[col] = frame[col]
        return out
    data: dict[str, pd.Series] = {}
    index = frame.index
    for name, dtype in schema.items():
        col = frame[name] if name in frame.columns else pd.Series([None] * len(frame), index=index)
        data[name] = _cast(col, dtype, name)
    out = pd.DataFrame(data, index=index)
    if extra:
        for col in frame.columns:
            if col not in out.columns:
                out[col] = frame[col]
    return out.reset_index(drop=True)


def _cast(col: pd.Series, dtype: str, name: str) -> pd.Series:
    if dtype == UTC_TS:
        if pd.api.types.is_datetime64_any_dtype(col.dtype) and getattr(col.dt, "tz", None) is None:
            raise SchemaError(f"column {name!r} holds naive timestamps; give them a zone (irlib is UTC inside)")
        if str(col.dtype) == UTC_TS:
            return col
        return pd.to_datetime(col, utc=True, errors="coerce", format="mixed").astype(UTC_TS)
    try:
        if dtype in ("string", "object"):
            return col.astype(dtype) if dtype == "string" else col.astype(object)
        if dtype in ("Int64", "boolean", "float64"):
            if dtype == "float64":
                return pd.to_numeric(col, errors="coerce").astype("float64")
            if dtype == "Int64":
                return pd.to_numeric(col, errors="coerce").astype("Int64")
            return col.astype("boolean")
        return col.astype(dtype)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"column {name!r} cannot be read as {dtype}: {exc}") from exc


def check(frame: pd.DataFrame, schema: Schema) -> None:
    """Raise :class:`SchemaError` unless ``frame`` starts with exactly the schema's columns and dtypes."""
    cols = list(frame.columns[: len(schema)])
    if cols != list(schema):
        raise SchemaError(f"expected columns {list(schema)}, got {list(frame.columns)}")
    for name, dtype in schema.items():
        if str(frame[name].dtype) != str(pd.Series(dtype=dtype).dtype):
            raise SchemaError(f"column {name!r} is {frame[name].dtype}, expected {dtype}")
