"""Crash-safe file writing: every file is written under a temporary name, flushed, then renamed into place."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd


def write_bytes(path: Path, data: bytes) -> str:
    """Atomically write ``data`` to ``path``; return its SHA-256 hex digest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def write_text(path: Path, text: str) -> str:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any) -> str:
    return write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_parquet(path: Path, frame: pd.DataFrame) -> str:
    """Atomically write a frame as Parquet; return the file's SHA-256."""
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return write_bytes(path, buf.getvalue())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of our in-flight temporary names (left behind only by a killed writer)."""
    return name.startswith(".") and name.endswith(".tmp")
