"""The evidence store of one run: a Parquet file and a metadata JSON per fetch, written atomically.

Layout inside a run directory::

    evidence/<id>.parquet   the frame exactly as returned to the notebook (after redaction)
    evidence/<id>.json      metadata: source, method, args, exact query, window, collected-at, rows, columns,
                            truncated, notes, status (ok | unavailable | rejected), reason, sha256 of the parquet
    findings/<name>.json    small typed values a step established (severity, onset, suspects, ...)
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import EvidenceError
from .fsutil import sha256_file, write_json, write_parquet


@dataclass
class EvidenceRecord:
    """Metadata of one fetch."""

    id: str
    source: str
    method: str
    args: dict[str, Any]
    query: str
    window: dict[str, str] | None
    collected_at: str
    rows: int
    columns: list[str]
    status: str = "ok"
    reason: str = ""
    truncated: bool = False
    notes: list[str] = field(default_factory=list)
    step: str = ""
    file: str = ""
    sha256: str = ""
    replayed_from: str = ""

    @property
    def key(self) -> str:
        return call_key(self.source, self.method, self.args)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def call_key(source: str, method: str, args: dict[str, Any]) -> str:
    """A stable identity for a call: the same source, method and arguments give the same key."""
    canon = json.dumps(args, sort_keys=True, default=str, separators=(",", ":"))
    return f"{source}.{method}({canon})"


def evidence_id(step: str, source: str, method: str, args: dict[str, Any]) -> str:
    digest = hashlib.sha256(call_key(source, method, args).encode()).hexdigest()[:10]
    prefix = f"{step}-" if step else ""
    return f"{prefix}{source}-{method}-{digest}"


class EvidenceStore:
    """Reads and writes the evidence of one run directory."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.dir = self.run_dir / "evidence"
        self.findings_dir = self.run_dir / "findings"
        self._seen: dict[str, EvidenceRecord] = {}  # metadata file name -> record, read once

    def save(self, record: EvidenceRecord, frame: pd.DataFrame) -> EvidenceRecord:
        """Write ``frame`` and its metadata; fills ``file``, ``sha256``, ``rows`` and ``columns`` of the record."""
        parquet = self.dir / f"{record.id}.parquet"
        record.sha256 = write_parquet(parquet, frame)
        record.file = f"evidence/{parquet.name}"
        record.rows = int(len(frame))
        record.columns = [str(c) for c in frame.columns]
        write_json(self.dir / f"{record.id}.json", record.to_dict())
        self._seen[f"{record.id}.json"] = record
        return record

    def records(self) -> list[EvidenceRecord]:
        """Every complete record of the run, sorted by id."""
        if not self.dir.is_dir():
            return []
        names = sorted(p.name for p in self.dir.glob("*.json"))
        for name in names:
            if name not in self._seen:
                self._seen[name] = self._read(self.dir / name)
        return [self._seen[name] for name in names]

    @staticmethod
    def _read(meta: Path) -> EvidenceRecord:
        try:
            return EvidenceRecord(**json.loads(meta.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise EvidenceError(f"{meta}: not an evidence record ({exc}); run `irlib verify` on the run") from exc

    def load(self, record: EvidenceRecord, *, check_hash: bool = True) -> pd.DataFrame:
        """The frame of a record, refusing a file whose hash no longer matches the metadata."""
        path = self.run_dir / record.file
        if not path.is_file():
            raise EvidenceError(f"{path}: evidence file is missing")
        if check_hash and sha256_file(path) != record.sha256:
            raise EvidenceError(f"{path}: hash does not match its metadata; the evidence was changed after it "
                                "was collected (run `irlib verify` on this run)")
        return pd.read_parquet(path)

    def find(self, source: str, method: str, args: dict[str, Any]) -> EvidenceRecord | None:
        """The record of exactly this call, if the run has one."""
        key = call_key(source, method, args)
        for record in self.records():
            if record.key == key:
                return record
        return None
