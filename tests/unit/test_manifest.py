"""Tamper evidence: the manifest lists every file, and verify catches edits, deletions, additions and renames."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from irlib.errors import EvidenceError
from irlib.manifest import (MANIFEST_NAME, SIGNATURE_NAME, scan_run, verify_run, write_manifest)

KEY = b"incident-signing-key"


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "reports" / "INC-42" / "20240314T092653Z-1"
    files = {
        "evidence/01-assessment-kubernetes-events.parquet": b"PAR1" + bytes(range(256)) * 4 + b"PAR1",
        "evidence/01-assessment-kubernetes-events.json": b'{"rows": 12, "status": "ok"}\n',
        "findings/severity.json": b'{"value": "P1"}\n',
        "notebooks/01-assessment.ipynb": b'{"cells": [], "nbformat": 4}\n',
        "index.html": b"<!doctype html><title>INC-42</title>\n",
        "same-a.txt": b"identical content\n",
        "same-b.txt": b"identical content\n",
    }
    for rel, data in files.items():
        (run / rel).parent.mkdir(parents=True, exist_ok=True)
        (run / rel).write_bytes(data)
    return run


def _write(run: Path, monkeypatch: pytest.MonkeyPatch, *, key: bytes | None = None, complete: bool = True) -> str:
    if key is None:
        monkeypatch.delenv("IRLIB_HMAC_KEY", raising=False)
    else:
        monkeypatch.setenv("IRLIB_HMAC_KEY", key.decode())
    return write_manifest(run, complete=complete, redaction={"jwt": 2, "url_password": 1},
                          extra={"incident": "INC-42", "run": run.name, "started_at": "2024-03-14T09:26:53+00:00"})


def test_manifest_lists_every_file_and_its_hash_is_the_file_hash(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(tmp_path)
    digest = _write(run, monkeypatch)
    data = (run / MANIFEST_NAME).read_bytes()
    assert digest == hashlib.sha256(data).hexdigest()
    manifest = json.loads(data)
    on_disk = sorted(p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)
    assert [f["path"] for f in manifest["files"]] == on_disk
    entry = next(f for f in manifest["files"] if f["path"] == "findings/severity.json")
    assert entry == {"path": "findings/severity.json", "size": 16,
                     "sha256": hashlib.sha256(b'{"value": "P1"}\n').hexdigest()}
    assert manifest["complete"] is True and manifest["redaction"] == {"jwt": 2, "url_password": 1}
    assert manifest["run"]["incident"] == "INC-42" and manifest["signed"] is False
    assert not (run / SIGNATURE_NAME).exists()
    assert [p.name for p in run.iterdir() if p.name.endswith(".tmp")] == []


def test_untouched_run_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(tmp_path)
    digest = _write(run, monkeypatch)
    result = verify_run(run, expected_hash=digest)
    assert result.ok, result.describe()
    assert (result.manifest_hash, result.files_checked, result.signature) == (digest, 7, "absent")
    assert result.describe()[0].startswith("OK") and digest in result.describe()[1]


def test_one_byte_changed_is_named_as_edited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(tmp_path)
    _write(run, monkeypatch)
    target = run / "evidence/01-assessment-kubernetes-events.parquet"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01
    target.write_bytes(bytes(data))
    result = verify_run(run)
    assert not result.ok
    assert result.edited == ["evidence/01-assessment-kubernetes-events.parquet"]
    assert (result.missing, result.added, result.renamed) == ([], [], [])
    assert any("edited: evidence/01-assessment-kubernetes-events.parquet" in line for line in result.describe())


def test_deleted_added_and_renamed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(tmp_path)
    _write(run, monkeypatch)
    (run / "index.html").unlink()
    (run / "evidence/extra.csv").write_text("planted,after\n")
    (run / "findings/severity.json").rename(run / "findings/severity-old.json")
    result = verify_run(run)
    assert not result.ok
    assert result.missing == ["index.html"]
    assert result.added == ["evidence/extra.csv"]
    assert result.renamed == [("findings/severity.json", "findings/severity-old.json")]
    assert result.edited == []
    text = "\n".join(result.describe())
    for name in ("missing: index.html", "added: evidence/extra.csv",
                 "renamed: findings/severity.json -> findings/severity-old.json"):
        assert name in text


def test_swapped_twins_are_not_taken_for_a_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(tmp_path)
    _write(run, monkeypatch)
    (run / "same-a.txt").unlink()
    result = verify_run(run)
    assert result.missing == ["same-a.txt"] and result.renamed == [] and result.added == []


def test_manifest_edited_changes_its_hash_and_breaks_the_signature(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(tmp_path)
    digest = _write(run, monkeypatch, key=KEY)
    assert verify_run(run, hmac_key=KEY, expected_hash=digest).signature == "valid"
    manifest = json.loads((run / MANIFEST_NAME).read_text())
    manifest["complete"] = True
    manifest["redaction"] = {}
    (run / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + " \n")
    result = verify_run(run, hmac_key=KEY, expected_hash=digest)
    assert result.manifest_hash != digest and not result.hash_matches
    assert result.signature == "invalid"
    assert not result.ok
    text = "\n".join(result.describe())
    assert "differs from the recorded one" in text and "INVALID" in text


def test_manifest_hiding_an_edit_is_caught_by_hash_and_signature(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An editor who changes a file and rewrites the manifest to match still changes the manifest hash."""
    run = _run(tmp_path)
    digest = _write(run, monkeypatch, key=KEY)
    (run / "findings/severity.json").write_text('{"value": "P2"}\n')
    monkeypatch.delenv("IRLIB_HMAC_KEY")
    sig = (run / SIGNATURE_NAME).read_text()
    write_manifest(run, complete=True, redaction={}, extra={})
    (run / SIGNATURE_NAME).write_text(sig)
    result = verify_run(run, hmac_key=KEY, expected_hash=digest)
    assert result.edited == [] and result.signature == "invalid" and not result.hash_matches and not result.ok


def test_signature_valid_with_the_key_and_reported_without_it(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(tmp_path)
    digest = _write(run, monkeypatch, key=KEY)
    sig = (run / SIGNATURE_NAME).read_text().strip()
    assert len(sig) == 64 and int(sig, 16) >= 0
    assert verify_run(run, hmac_key=KEY).signature == "valid" and verify_run(run, hmac_key=KEY).ok
    assert verify_run(run).signature == "no key" and verify_run(run).ok
    wrong = verify_run(run, hmac_key=b"another key")
    assert wrong.signature == "invalid" and not wrong.ok
    (run / SIGNATURE_NAME).unlink()
    unsigned = verify_run(run, hmac_key=KEY, expected_hash=digest)
    assert unsigned.signature == "missing" and unsigned.signature_expected and not unsigned.ok
    assert any("MISSING" in line for line in unsigned.describe())
    without_key = verify_run(run, expected_hash=digest)
    assert without_key.signature == "missing" and not without_key.ok
    lines = without_key.describe()
    assert lines[0].startswith("TAMPERED OR DAMAGED") and not any(line.startswith("OK") for line in lines)
    assert any("says the run was signed" in line and SIGNATURE_NAME in line and "MISSING" in line for line in lines)


def test_verify_cli_fails_on_a_deleted_signature_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from irlib.cli import main

    run = _run(tmp_path)
    _write(run, monkeypatch, key=KEY)
    monkeypatch.delenv("IRLIB_HMAC_KEY", raising=False)
    assert main(["verify", str(run)]) == 0 and capsys.readouterr().out.startswith("OK:")
    (run / SIGNATURE_NAME).unlink()
    assert main(["verify", str(run)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("TAMPERED OR DAMAGED") and "OK" not in out
    assert f"{SIGNATURE_NAME} is not there" in out


@pytest.mark.parametrize(("count", "text"), [(1, "1 file listed;"), (7, "7 files listed;"),
                                             (121, "121 files listed;"), (1210, "1,210 files listed;")])
def test_the_file_count_is_a_proper_plural(count: int, text: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    for i in range(count):
        (run / f"f{i:04d}.txt").parent.mkdir(parents=True, exist_ok=True)
        (run / f"f{i:04d}.txt").write_text(str(i))
    _write(run, monkeypatch)
    lines = verify_run(run).describe()
    assert any(line.startswith(text) for line in lines) and not any("file(s)" in line for line in lines), lines
    _write(run, monkeypatch, complete=False)
    verdict = verify_run(run).describe()[0]
    assert "file(s)" not in verdict and ("1 file its manifest lists is intact" in verdict) == (count == 1), verdict


def test_rewriting_without_a_key_removes_a_stale_signature(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(tmp_path)
    _write(run, monkeypatch, key=KEY)
    _write(run, monkeypatch)
    assert not (run / SIGNATURE_NAME).exists() and verify_run(run).ok
    assert verify_run(run, hmac_key=KEY).signature == "missing"  # with the key in hand, unsigned is not trusted


def test_temp_files_of_a_killed_writer_are_leftovers_not_evidence(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(tmp_path)
    (run / "evidence/.02-troubleshooting-logs.parquet.4242.tmp").write_bytes(b"PAR1 half written")
    _write(run, monkeypatch, complete=False)
    manifest = json.loads((run / MANIFEST_NAME).read_text())
    assert manifest["incomplete_leftovers"] == ["evidence/.02-troubleshooting-logs.parquet.4242.tmp"]
    assert all(".tmp" not in f["path"] for f in manifest["files"])
    (run / "notebooks/.03-deep-debugging.ipynb.4243.tmp").write_bytes(b"{")
    result = verify_run(run)
    assert result.ok and not result.complete
    assert result.leftovers == ["evidence/.02-troubleshooting-logs.parquet.4242.tmp",
                                "notebooks/.03-deep-debugging.ipynb.4243.tmp"]
    text = "\n".join(result.describe())
    assert "incomplete leftover" in text and "INCOMPLETE" in text


def test_run_killed_before_its_manifest(tmp_path: Path) -> None:
    run = _run(tmp_path)
    result = verify_run(run)
    assert not result.manifest_found and not result.ok
    assert "no manifest.json" in result.describe()[0] and "killed" in result.describe()[0]
    with pytest.raises(EvidenceError, match="does not exist"):
        verify_run(tmp_path / "nope")


def test_unreadable_manifest_is_not_ok(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(tmp_path)
    _write(run, monkeypatch)
    (run / MANIFEST_NAME).write_text('{"format": "irlib-manifest/1", "files": [')
    result = verify_run(run)
    assert not result.ok and "manifest unreadable" in "\n".join(result.describe())


def test_symlinks_are_listed_not_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not part of the run")
    (run / "link-to-outside").symlink_to(outside)
    files, _ = scan_run(run)
    assert "link-to-outside" in [f.path for f in files]
    assert all(not f.path.startswith("link-to-outside/") for f in files)
    _write(run, monkeypatch)
    (run / "link-to-outside").unlink()
    (run / "link-to-outside").symlink_to(tmp_path)
    assert verify_run(run).edited == ["link-to-outside"]


def test_checkpoint_manifest_of_a_killed_run(tmp_path: Path) -> None:
    """A provisional manifest verifies for what it lists; later files are named as not covered; exit non-zero."""
    from irlib.cli import main
    from irlib.manifest import verify_run, write_manifest

    run = tmp_path / "run"
    (run / "evidence").mkdir(parents=True)
    (run / "evidence" / "a.json").write_text("{}\n")
    write_manifest(run, complete=False, redaction={}, extra={"checkpoint": "stage 1 done"})
    (run / "evidence" / "b.json").write_text("{}\n")
    result = verify_run(run)
    assert result.listed_intact and not result.ok and result.added == ["evidence/b.json"]
    lines = result.describe()
    assert lines[0].startswith("INCOMPLETE RUN") and any("not covered: evidence/b.json" in x for x in lines)
    assert main(["verify", str(run)]) == 1


def test_a_deleted_signature_fails_when_the_key_is_given(tmp_path: Path, monkeypatch) -> None:
    """Forgery: edit a finding, re-hash it in the manifest, mark it unsigned, delete the signature."""
    import hashlib
    import json

    from irlib.manifest import verify_run, write_manifest

    run = tmp_path / "run"
    (run / "findings").mkdir(parents=True)
    (run / "findings" / "severity.json").write_text('{"value": {"level": "P0"}}\n')
    monkeypatch.setenv("IRLIB_HMAC_KEY", "s3cret")
    write_manifest(run, complete=True, redaction={}, extra={})
    assert (run / "manifest.sig").is_file() and verify_run(run, hmac_key=b"s3cret").ok
    (run / "findings" / "severity.json").write_text('{"value": {"level": "P2"}}\n')
    manifest = json.loads((run / "manifest.json").read_text())
    for entry in manifest["files"]:
        data = (run / entry["path"]).read_bytes()
        entry["sha256"], entry["size"] = hashlib.sha256(data).hexdigest(), len(data)
    manifest["signed"] = False
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "manifest.sig").unlink()
    forged = verify_run(run, hmac_key=b"s3cret")
    assert not forged.ok and forged.signature == "missing"
    assert any("MISSING" in line for line in forged.describe())


def test_special_files_are_named_not_read(tmp_path: Path) -> None:
    """A FIFO (which would block a reader forever) or a socket in a run is reported, never opened."""
    import os
    import socket

    from irlib.manifest import verify_run, write_manifest

    run = tmp_path / "run"
    (run / "evidence").mkdir(parents=True)
    (run / "run.json").write_text("{}\n")
    write_manifest(run, complete=True, redaction={}, extra={})
    os.mkfifo(run / "evidence" / "pipe.parquet")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(run / "evidence" / "sock"))
        result = verify_run(run)
    assert not result.ok and result.added == ["evidence/pipe.parquet", "evidence/sock"]
