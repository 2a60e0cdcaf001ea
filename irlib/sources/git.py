"""Git source: the commits of a configuration repository (optionally one path inside it) within a window.

Parameters (``sources.git``): ``repo`` (a local clone) and ``path`` (a path inside it, optional).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd

from ..errors import SourceUnavailable
from ..frames import UTC_TS, conform
from ..incident import Incident
from .base import Fetched, fetcher

CHANGES_SCHEMA: dict[str, str] = {
    "time": UTC_TS,        # committer date, UTC
    "commit": "string",    # full hash
    "author": "string",    # author name (never the e-mail)
    "subject": "string",   # first line of the message
    "files": "string",     # changed files, comma-joined (limited to ``path`` when given)
}
MAX_COMMITS = 500
TIMEOUT_S = 20.0
_FIELD, _RECORD = "\x1f", "\x1e"
_FORMAT = f"{_RECORD}%H{_FIELD}%cI{_FIELD}%an{_FIELD}%s"


class GitSource:
    """``git log`` of ``sources.git.repo`` (restricted to ``sources.git.path``) as a tidy frame."""

    def __init__(self, incident: Incident) -> None:
        conf = incident.sources.get("git")
        if not conf:
            raise SourceUnavailable("git", "no sources.git in the parameters; add repo: <local clone>")
        self.repo = Path(str(conf["repo"]))
        self.path = str(conf.get("path") or "")
        self.max_commits = MAX_COMMITS
        self.timeout_s = TIMEOUT_S

    def _command(self, start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
        cmd = ["git", "-C", str(self.repo), "log", f"--max-count={self.max_commits + 1}", "--no-color",
               "--name-only", f"--format={_FORMAT}", f"--since={start.isoformat()}", f"--until={end.isoformat()}",
               "--"]
        return cmd + ([self.path] if self.path else [])

    @fetcher(CHANGES_SCHEMA)
    def changes(self, *, start: pd.Timestamp, end: pd.Timestamp) -> Fetched:
        """Commits in [start, end], newest first.  Columns: time (UTC), commit, author, subject, files."""
        git = shutil.which("git")
        if git is None:
            raise SourceUnavailable("git", "the git program is not installed (apt-get install git)")
        if not self.repo.is_dir():
            raise SourceUnavailable("git", f"repository {self.repo} does not exist; check sources.git.repo")
        cmd = self._command(start, end)
        query = " ".join(cmd[3:])
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise SourceUnavailable("git", f"git log took longer than {self.timeout_s:.0f} s", query=query) from exc
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip()
            raise SourceUnavailable("git", f"git log failed: {message}", query=query)
        frame = parse_git_log(done.stdout.decode("utf-8", "replace"))
        frame = frame[(frame["time"] >= start) & (frame["time"] <= end)].reset_index(drop=True)
        truncated = len(frame) > self.max_commits
        notes = [f"only the newest {self.max_commits} commits are kept"] if truncated else []
        return Fetched(frame.head(self.max_commits), query, truncated, notes)


def parse_git_log(text: str) -> pd.DataFrame:
    """Parse ``git log --name-only --format=<RS>%H<US>%cI<US>%an<US>%s`` output into the changes frame."""
    rows: list[dict[str, object]] = []
    for record in text.split(_RECORD):
        if not record.strip():
            continue
        head, _, rest = record.partition("\n")
        parts = head.split(_FIELD)
        if len(parts) != 4:
            continue
        files = [line.strip() for line in rest.splitlines() if line.strip()]
        rows.append({"time": pd.Timestamp(parts[1]).tz_convert("UTC"), "commit": parts[0], "author": parts[2],
                     "subject": parts[3], "files": ",".join(files)})
    frame = pd.DataFrame(rows)
    if rows:  # pandas may pick microseconds; irlib's one timestamp dtype is ns UTC
        frame["time"] = frame["time"].astype(UTC_TS)
    return conform(frame, CHANGES_SCHEMA)
