"""What a step function returns to its notebook cell: an :class:`Answer` that renders as safe, self-contained HTML.

Text from sources is always escaped; markdown is rendered with raw HTML escaped; figures are embedded as PNG data;
tables are capped (the full frame stays in the evidence file, named in the note).
"""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .analysis.text import counted

MAX_TABLE_ROWS = 40
MAX_CELL_CHARS = 2000


@dataclass
class Table:
    title: str
    frame: pd.DataFrame
    note: str = ""


@dataclass
class Answer:
    """The answer to one runbook question."""

    question: str
    text: list[str] = field(default_factory=list)          # plain sentences (escaped when rendered)
    markdown: str = ""                                      # irlib-generated markdown (raw HTML escaped)
    tables: list[Table] = field(default_factory=list)
    figures: list[Any] = field(default_factory=list)        # matplotlib Figures
    missing: list[str] = field(default_factory=list)        # evidence this answer lacks, with the reason
    code: str = ""                                          # a file the step generated (shown verbatim)
    code_language: str = ""

    def say(self, sentence: str) -> "Answer":
        self.text.append(sentence)
        return self

    def table(self, title: str, frame: pd.DataFrame, note: str = "") -> "Answer":
        self.tables.append(Table(title, frame, note))
        return self

    def lack(self, what: str) -> "Answer":
        self.missing.append(what)
        return self

    def _repr_html_(self) -> str:
        parts = ["<div class=\"irlib-answer\">"]  # the question is the markdown cell above
        if self.missing:
            parts.append("<div class=\"note\"><strong>Evidence missing:</strong><ul>" + "".join(
                f"<li>{html.escape(m)}</li>" for m in self.missing) + "</ul></div>")
        parts.extend(f"<p>{html.escape(t)}</p>" for t in self.text)
        if self.markdown:
            parts.append(render_markdown(self.markdown))
        for fig in self.figures:
            parts.append(figure_html(fig))
        for tab in self.tables:
            parts.append(table_html(tab))
        if self.code:
            parts.append(f"<pre><code>{html.escape(self.code)}</code></pre>")
        parts.append("</div>")
        return "\n".join(parts)

    def __repr__(self) -> str:
        lines = [self.question]
        lines += [f"  MISSING: {m}" for m in self.missing]
        lines += [f"  {t}" for t in self.text]
        lines += [f"  [table] {t.title}: {len(t.frame)} rows" for t in self.tables]
        lines += [f"  [figure] {counted(len(self.figures), 'chart')}"] if self.figures else []
        return "\n".join(lines)


def render_markdown(text: str) -> str:
    """Markdown to HTML where raw HTML is shown as text, entities stay entities (no double escaping), unsafe link
    targets are neutralised by mistune, and images are shown as their alt text (a report fetches nothing)."""
    import mistune

    class _TextOnlyHtml(mistune.HTMLRenderer):
        def __init__(self) -> None:
            super().__init__(escape=False)

        def inline_html(self, raw: str) -> str:
            return html.escape(raw)

        def block_html(self, raw: str) -> str:
            return f"<p>{html.escape(raw)}</p>\n"

        def image(self, text: str, url: str, title: str | None = None) -> str:
            return f"[image: {text}]"

    md = mistune.create_markdown(renderer=_TextOnlyHtml(), plugins=["table", "strikethrough"])
    return str(md(text))


def figure_html(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"<img alt=\"chart\" src=\"data:image/png;base64,{data}\">"


def table_html(tab: Table) -> str:
    frame = tab.frame
    shown = frame.head(MAX_TABLE_ROWS)
    note = tab.note
    if len(frame) > MAX_TABLE_ROWS:
        note = (note + " " if note else "") + f"Showing {MAX_TABLE_ROWS} of {len(frame)} rows; the full frame is " \
            "in the run's evidence."
    body = frame_html(shown)
    head = f"<h4>{html.escape(tab.title)}</h4>" if tab.title else ""
    return head + body + (f"<p class=\"note\">{html.escape(note)}</p>" if note else "")


def frame_html(frame: pd.DataFrame) -> str:
    """A plain HTML table; every cell escaped as text (line breaks kept, shown by the page's pre-wrap style)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(_cell_text(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False, name=None))
    return f"<table class=\"dataframe\"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _cell_text(value: Any) -> str:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S%z")
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    text = str(value)
    if len(text) > MAX_CELL_CHARS:
        return text[:MAX_CELL_CHARS] + f" … [{len(text) - MAX_CELL_CHARS} more characters in the evidence]"
    return text
