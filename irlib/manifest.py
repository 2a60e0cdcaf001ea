"""Tamper evidence for a run directory: a manifest of every file, its hash, an optional HMAC, and verification.

``manifest.json`` lists every file of the run directory (relative path, size, SHA-256) except ``manifest.json`` and
``manifest.sig`` themselves, with the run's metadata and redaction summary.  The *manifest hash* is the SHA-256 of
the manifest file's bytes exactly as written (``sha256sum manifest.json`` gives the same value), so it can be recorded
elsewhere (e.g. in the incident ticket) and compared later.  When the environment variable ``IRLIB_HMAC_KEY`` (the
name is configurable) is set, ``manifest.sig`` holds the hex HMAC-SHA256 of the manifest bytes under that key.

Temporary files left by a killed writer (:func:`irlib.fsutil.is_temp_name`) are not evidence: they are listed as
incomplete leftovers, separately from the files.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import EvidenceError
from .fsutil import is_temp_name, sha256_file, write_bytes

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
HMAC_ENV = "IRLIB_HMAC_KEY"
FORMAT = "irlib-manifest/1"
_NOT_EVIDENCE = frozenset({MANIFEST_NAME, SIGNATURE_NAME})


@dataclass(frozen=True)
class FileEntry:
    """One file of a run: path relative to the run directory (POSIX separators), size in bytes, SHA-256 hex."""

    path: str
    size: int
    sha256: str


def scan_run(run_dir: Path) -> tuple[list[FileEntry], list[str]]:
    """Every evidence file under ``run_dir`` (sorted by path) and the temporary leftovers of killed writers.

    ``manifest.json`` and ``manifest.sig`` at the top of the run directory are neither.  Symbolic links are listed
    as files whose content is the link target (they are never followed out of the run directory).
    """
    entries: list[FileEntry] = []
    leftovers: list[str] = []
    for dirpath, dirnames, filenames in os.walk(run_dir, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        links = [d for d in dirnames if (here / d).is_symlink()]
        for name in sorted(filenames + links):
            path = here / name
            rel = path.relative_to(run_dir).as_posix()
            if rel in _NOT_EVIDENCE:
                continue
            if is_temp_name(name):
                leftovers.append(rel)
                continue
            entry = _entry(path, rel)
            if entry is not None:
                entries.append(entry)
    return sorted(entries, key=lambda e: e.path), sorted(leftovers)


def _entry(path: Path, rel: str) -> FileEntry | None:
    try:
        if path.is_symlink():
            target = os.readlink(path).encode("utf-8", "surrogateescape")
            return FileEntry(rel, len(target), hashlib.sha256(b"symlink:" + target).hexdigest())
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            # a FIFO, socket or device is never evidence and must not be read (a FIFO would block forever):
            # it is listed by kind, so verify names it as added or changed
            kind = "fifo" if stat.S_ISFIFO(info.st_mode) else "socket" if stat.S_ISSOCK(info.st_mode) else "device"
            return FileEntry(rel, 0, hashlib.sha256(f"special:{kind}".encode()).hexdigest())
        return FileEntry(rel, info.st_size, sha256_file(path))
    except FileNotFoundError:  # removed while we were listing (a writer renaming its temporary file)
        return None
    except OSError as exc:  # unreadable: still listed, with a digest no file content can have
        return FileEntry(rel, -1, hashlib.sha256(f"unreadable:{exc.errno}".encode()).hexdigest())


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The canonical bytes of a manifest: sorted keys, two-space indent, UTF-8, final newline."""
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def sign(data: bytes, key: bytes) -> str:
    """Hex HMAC-SHA256 of ``data`` under ``key``."""
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def hmac_key_from_env(env_var: str = HMAC_ENV) -> bytes | None:
    """The signing key from the environment (``None`` when the variable is unset or empty)."""
    value = os.environ.get(env_var, "")
    return value.encode("utf-8") if value else None


def write_manifest(run_dir: Path, *, complete: bool, redaction: dict[str, int], extra: dict[str, Any],
                   hmac_env: str = HMAC_ENV, leave_out: tuple[str, ...] = ()) -> str:
    """Write ``run_dir/manifest.json`` atomically (and ``manifest.sig`` when ``hmac_env`` is set); return its hash.

    The manifest holds: ``format``, ``complete`` (whether the run finished), ``run`` (``extra``: the run's
    metadata), ``redaction`` (replacements by kind), ``files`` (path, size, sha256 of every file), ``file_count``,
    ``total_bytes``, ``incomplete_leftovers`` (temporary files of killed writers, not evidence) and ``signed``.
    A stale ``manifest.sig`` is removed before the new manifest is written, so a writer killed in between leaves an
    unsigned manifest rather than a signature that no longer matches.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise EvidenceError(f"run directory {run_dir} does not exist; nothing to write a manifest for")
    files, leftovers = scan_run(run_dir)
    files = [f for f in files if f.path not in leave_out]  # e.g. a checkpoint leaves out the still-changing run.json
    key = hmac_key_from_env(hmac_env)
    manifest = {
        "format": FORMAT,
        "complete": bool(complete),
        "run": extra,
        "redaction": {str(k): int(v) for k, v in sorted(redaction.items())},
        "files": [asdict(f) for f in files],
        "file_count": len(files),
        "total_bytes": sum(f.size for f in files),
        "incomplete_leftovers": leftovers,
        "signed": key is not None,
        "hmac_env": hmac_env if key is not None else None,
    }
    data = manifest_bytes(manifest)
    (run_dir / SIGNATURE_NAME).unlink(missing_ok=True)
    digest = write_bytes(run_dir / MANIFEST_NAME, data)
    if key is not None:
        write_bytes(run_dir / SIGNATURE_NAME, (sign(data, key) + "\n").encode("ascii"))
    return digest


@dataclass
class VerifyResult:
    """What :func:`verify_run` found.  ``ok`` is true only when every listed file is present and unchanged, no file
    was added or renamed, the manifest is readable (and equals ``expected_hash`` when one was given) and the
    signature is neither invalid nor missing (missing: the manifest says the run was signed but ``manifest.sig`` is
    gone, or a key was given and the run is unsigned)."""

    run_dir: str
    manifest_found: bool
    manifest_hash: str | None = None
    expected_hash: str | None = None
    manifest_error: str = ""
    signature: str = "absent"  # absent | missing | valid | invalid | no key
    signature_expected: bool = False
    complete: bool = False
    files_checked: int = 0
    edited: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

    @property
    def hash_matches(self) -> bool:
        return self.expected_hash is None or self.expected_hash.strip().lower() == self.manifest_hash

    @property
    def ok(self) -> bool:
        return (self.manifest_found and not self.manifest_error and self.hash_matches
                and not (self.edited or self.missing or self.added or self.renamed)
                and self.signature not in ("invalid", "missing"))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "hash_matches": self.hash_matches}

    def describe(self) -> list[str]:
        """Human-readable lines naming every problem file; the first line is the verdict."""
        if not self.manifest_found:
            if not (Path(self.run_dir) / "run.json").is_file():
                return [f"NOT VERIFIED: {self.run_dir} has no {MANIFEST_NAME} and no run.json: it was not written by "
                        "`irlib run` (an interactive notebook session is never sealed, or this is not a run "
                        "directory); none of its files can be trusted as evidence."]
            return [f"NOT VERIFIED: {self.run_dir} has no {MANIFEST_NAME}. The run was killed before it wrote its "
                    f"manifest; none of its files can be trusted as evidence."]
        lines = [self._verdict(), f"manifest sha256 {self.manifest_hash}"]
        lines += _problem_lines(self)
        lines.append(f"{_files(self.files_checked)} listed; run {'complete' if self.complete else 'INCOMPLETE'} "
                     "when the manifest was written")
        return lines


    @property
    def listed_intact(self) -> bool:
        """Every file the manifest lists is present and unchanged (whatever else is in the directory)."""
        return (self.manifest_found and not self.manifest_error and self.hash_matches
                and not (self.edited or self.missing or self.renamed) and self.signature not in ("invalid", "missing"))

    def _verdict(self) -> str:
        if not self.complete and self.listed_intact:
            return (f"INCOMPLETE RUN: {self.run_dir}: the runner stopped after its last checkpoint; the "
                    f"{_files(self.files_checked)} its manifest lists {'is' if self.files_checked == 1 else 'are'} "
                    "intact, anything written later is not covered")
        return ("OK" if self.ok else "TAMPERED OR DAMAGED") + f": {self.run_dir}"


def _files(count: int) -> str:
    return f"{count:,} file" + ("" if count == 1 else "s")


def _problem_lines(result: VerifyResult) -> list[str]:
    lines: list[str] = []
    if result.manifest_error:
        lines.append(f"manifest unreadable: {result.manifest_error}")
    if not result.hash_matches:
        lines.append(f"manifest hash differs from the recorded one {result.expected_hash}: the manifest was edited "
                     "or replaced")
    lines += [f"edited: {p} (content differs from its recorded sha256)" for p in result.edited]
    lines += [f"missing: {p} (listed in the manifest, not on disk)" for p in result.missing]
    later = "not covered: {} (written after the last checkpoint of a run that did not finish)"
    lines += [(later if not result.complete else "added: {} (on disk, not in the manifest)").format(p)
              for p in result.added]
    lines += [f"renamed: {old} -> {new} (same content, different name)" for old, new in result.renamed]
    lines += [f"incomplete leftover (temporary file of a killed writer, not evidence): {p}" for p in result.leftovers]
    lines.append(_signature_line(result))
    return lines


def _signature_line(result: VerifyResult) -> str:
    if result.signature == "absent":
        return "signature: absent (the run was not signed)"
    if result.signature == "missing" and result.signature_expected:
        return (f"signature: MISSING: the manifest says the run was signed but {SIGNATURE_NAME} is not there (deleted, "
                "or the writer was killed before writing it); it cannot be trusted as signed evidence")
    return {"missing": "signature: MISSING although a key was given (the run was not signed, or its signature "
                       "was deleted); it cannot be trusted as signed evidence",
            "valid": "signature: valid (HMAC-SHA256 matches the key)",
            "invalid": "signature: INVALID (the manifest or its signature was changed, or the key is wrong)",
            "no key": f"signature: present but not checked (no key given; set {HMAC_ENV})"}[result.signature]


def verify_run(run_dir: Path, *, hmac_key: bytes | None = None, expected_hash: str | None = None) -> VerifyResult:
    """Recompute every hash of a run directory and compare with its manifest (see :class:`VerifyResult`)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise EvidenceError(f"run directory {run_dir} does not exist; give the path of a run such as "
                            "reports/<incident>/<run>")
    files, leftovers = scan_run(run_dir)
    result = VerifyResult(run_dir=str(run_dir), manifest_found=(run_dir / MANIFEST_NAME).is_file(),
                          expected_hash=expected_hash, leftovers=leftovers)
    if not result.manifest_found:
        return result
    data = (run_dir / MANIFEST_NAME).read_bytes()
    result.manifest_hash = hashlib.sha256(data).hexdigest()
    result.signature = _signature_status(run_dir, data, hmac_key)
    listed = _read_listing(data, result)
    if result.signature == "absent" and result.signature_expected:
        result.signature = "missing"  # signed, then its signature deleted: tampering, with or without a key
    _compare(listed, {f.path: f for f in files}, result)
    return result


def _signature_status(run_dir: Path, data: bytes, key: bytes | None) -> str:
    sig_path = run_dir / SIGNATURE_NAME
    if not sig_path.is_file():
        # with a key in hand, an unsigned run is not trusted: the signature may have been deleted and the
        # manifest rewritten (with "signed": false) to match edited evidence
        return "missing" if key is not None else "absent"
    if key is None:
        return "no key"
    recorded = sig_path.read_text(encoding="ascii", errors="replace").strip().lower()
    return "valid" if hmac.compare_digest(recorded, sign(data, key)) else "invalid"


def _read_listing(data: bytes, result: VerifyResult) -> dict[str, FileEntry]:
    """The files the manifest lists; a manifest that cannot be read sets ``manifest_error`` and lists nothing."""
    try:
        manifest = json.loads(data.decode("utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"not an {FORMAT} manifest")
        entries = [FileEntry(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in manifest["files"]]
    except (ValueError, KeyError, TypeError) as exc:
        result.manifest_error = f"{type(exc).__name__}: {exc}"
        return {}
    result.complete = bool(manifest.get("complete"))
    result.signature_expected = bool(manifest.get("signed"))
    result.files_checked = len(entries)
    return {e.path: e for e in entries}


def _compare(listed: dict[str, FileEntry], present: dict[str, FileEntry], result: VerifyResult) -> None:
    if result.manifest_error:
        return
    missing = sorted(set(listed) - set(present))
    added = sorted(set(present) - set(listed))
    result.edited = sorted(p for p in set(listed) & set(present)
                           if (listed[p].sha256, listed[p].size) != (present[p].sha256, present[p].size))
    for old in list(missing):
        twin = next((new for new in added if present[new].sha256 == listed[old].sha256), None)
        if twin is not None:
            result.renamed.append((old, twin))
            missing.remove(old)
            added.remove(twin)
    result.missing, result.added = missing, added
