"""The git source against a real repository made in a temp dir with commits at known times."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from irlib.errors import SourceUnavailable
from irlib.frames import check
from irlib.incident import parse_incident
from irlib.sources.git import CHANGES_SCHEMA, GitSource, parse_git_log

NOW = pd.Timestamp("2026-03-01T12:00:00Z")
START, END = pd.Timestamp("2026-03-01T09:00:00Z"), pd.Timestamp("2026-03-01T12:00:00Z")


def _git(repo: Path, *args: str, when: str = "2026-03-01T10:00:00+00:00") -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.org",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.org",
           "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env, timeout=20)


def _commit(repo: Path, name: str, content: str, subject: str, when: str) -> None:
    target = repo / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    _git(repo, "add", name, when=when)
    _git(repo, "commit", "-q", "-m", subject, when=when)


@pytest.fixture()
def config_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "config"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, "checkout/values.yaml", "pool: 10\n", "initial checkout config", "2026-02-28T08:00:00+00:00")
    _commit(repo, "checkout/values.yaml", "pool: 2\n", "shrink DB pool", "2026-03-01T12:58:00+02:00")
    _commit(repo, "search/values.yaml", "x: 1\n", "search tweak", "2026-03-01T11:30:00+00:00")
    return repo


def _incident(tmp_path: Path, git: str) -> object:
    text = f"""
incident: {{id: inc-1, title: t, declared_at: "2026-03-01T11:20:00Z"}}
window: {{start: "2026-03-01T09:00:00Z", end: "2026-03-01T12:00:00Z"}}
service: {{name: checkout}}
sources: {{git: {git}}}
"""
    return parse_incident(text, path=tmp_path / "p.yaml", now=NOW)


def test_changes_in_window_restricted_to_path(config_repo: Path, tmp_path: Path) -> None:
    source = GitSource(_incident(tmp_path, f"{{repo: {config_repo}, path: checkout}}"))  # type: ignore[arg-type]
    fetched = source.changes(start=START, end=END)
    check(fetched.frame, CHANGES_SCHEMA)
    assert fetched.frame["subject"].tolist() == ["shrink DB pool"]
    row = fetched.frame.iloc[0]
    assert row["time"] == pd.Timestamp("2026-03-01T10:58:00Z")  # the +02:00 commit date in UTC
    assert row["files"] == "checkout/values.yaml" and row["author"] == "Ada" and len(row["commit"]) == 40
    assert "--since=2026-03-01T09:00:00+00:00" in fetched.query and not fetched.truncated


def test_changes_whole_repo_newest_first_and_cap_is_visible(config_repo: Path, tmp_path: Path) -> None:
    source = GitSource(_incident(tmp_path, f"{{repo: {config_repo}}}"))  # type: ignore[arg-type]
    start = pd.Timestamp("2026-02-01T00:00:00Z")
    assert source.changes(start=start, end=END).frame["subject"].tolist() == [
        "search tweak", "shrink DB pool", "initial checkout config"]
    source.max_commits = 2
    capped = source.changes(start=start, end=END)
    assert capped.truncated and len(capped.frame) == 2 and "newest 2" in capped.notes[0]


def test_missing_repository_is_unavailable(config_repo: Path, tmp_path: Path) -> None:
    source = GitSource(_incident(tmp_path, f"{{repo: {config_repo}}}"))  # type: ignore[arg-type]
    source.repo = tmp_path / "gone"
    with pytest.raises(SourceUnavailable, match="does not exist"):
        source.changes(start=START, end=END)
    source.repo = tmp_path  # a directory that is not a repository
    with pytest.raises(SourceUnavailable, match="git log failed"):
        source.changes(start=START, end=END)


def test_no_git_section_is_unavailable(tmp_path: Path) -> None:
    text = """
incident: {id: i, title: t, declared_at: "2026-03-01T11:20:00Z"}
window: {start: "2026-03-01T09:00:00Z", end: "2026-03-01T12:00:00Z"}
service: {name: checkout}
"""
    with pytest.raises(SourceUnavailable, match="sources.git"):
        GitSource(parse_incident(text, path=tmp_path / "p.yaml", now=NOW))


def test_parse_empty_output_has_the_columns() -> None:
    frame = parse_git_log("")
    check(frame, CHANGES_SCHEMA)
    assert frame.empty
