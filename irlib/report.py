"""The reviewer's report: per-step HTML without code, and ``index.html`` with summary, steps and evidence.

Every page is self-contained (inline CSS, images as data: URIs, no script, a Content-Security-Policy that forbids
scripts and any network fetch) and every text that came from a source is escaped, so a hostile log line reads as
text and runs nothing.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .evidence import EvidenceStore
from .execute import FAIL_MARK, StepOutcome
from .findings import load_findings
from .fsutil import write_text
from .redact import Redactor, redaction_key
from .steps_catalog import BY_NUMBER, Step

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
       "script-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'; frame-src 'none'")
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
color:#1d2733;padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.25rem;border-bottom:1px solid #d8dee6;padding-bottom:.2rem;
margin-top:2rem} h3{font-size:1.05rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.85rem;max-width:100%;display:block;overflow-x:auto}
th,td{border:1px solid #d8dee6;padding:.25rem .5rem;text-align:left;vertical-align:top;white-space:pre-wrap;
word-break:break-word;max-width:48rem} th{background:#f2f5f8}
.ok{color:#1a7f37;font-weight:600}.failed{color:#b42318;font-weight:600}.missing{color:#b54708;font-weight:600}
.banner{border-left:4px solid #b42318;background:#fef3f2;padding:.6rem 1rem;margin:1rem 0;white-space:pre-wrap}
.note{border-left:4px solid #b54708;background:#fffaeb;padding:.5rem 1rem;margin:.6rem 0}
.sev{display:inline-block;padding:.1rem .6rem;border-radius:.3rem;color:#fff;background:#b42318;font-weight:700}
.sev.P1{background:#b54708}.sev.P2{background:#175cd3} code,pre{font-family:ui-monospace,monospace;font-size:.85rem}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
img{max-width:100%} .jp-OutputPrompt,.jp-InputPrompt{display:none} nav a{margin-right:1rem}
"""


def esc(value: Any) -> str:
    """HTML-escape anything as text (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML page."""
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            f"<meta name=\"referrer\" content=\"no-referrer\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


DEFAULT_OUTPUT_MAX_KB = 2048  # one cell output, in the executed notebook and its page (limits.output_max_kb)


@dataclass
class RenderedStep:
    """A step's outputs, redacted and rendered (in the worker that ran it), ready to be written."""

    notebook_text: str
    page_html: str
    redaction_counts: dict[str, int]


def render_step(step: Step, outcome: StepOutcome, incident_id: str, incident_title: str, *, emails: bool = False,
                ips: bool = False, output_max_kb: int = DEFAULT_OUTPUT_MAX_KB) -> RenderedStep:
    """Redact the executed notebook, cap its outputs and render its page (no code cells; a failure marked where it
    happened)."""
    redactor = Redactor(key=redaction_key(), emails=emails, ips=ips)
    nb = redactor.notebook(json.loads(outcome.notebook_json))
    cap_outputs(nb, output_max_kb * 1024)
    error = redactor.text(outcome.error)
    if outcome.status == "failed":
        _add_failure_banner(nb, error)
    header = (f"<nav><a href=\"../index.html\">&larr; incident index</a></nav><h1>{esc(step.number)} · "
              f"{esc(step.title)}</h1><p>Incident {esc(incident_id)}: {esc(incident_title)}</p>")
    if outcome.status == "failed":
        header += f"<div class=\"banner\"><strong>This step failed.</strong> {esc(error)}</div>"
    return RenderedStep(json.dumps(nb, indent=1, ensure_ascii=False) + "\n",
                        page(f"{step.number} {step.title}", header + notebook_body(nb)), dict(redactor.counts))


def cap_outputs(nb: dict[str, Any], max_bytes: int) -> int:
    """Cut every cell output whose JSON is larger than ``max_bytes`` down to its first ``max_bytes`` of plain text
    and a note saying so (rich forms such as HTML tables and images are dropped: half a table or image is
    unreadable); returns how many outputs were cut.  A runaway print cannot bloat the evidence or the report."""
    cut = 0
    for cell in nb.get("cells", []):
        for output in cell.get("outputs") or []:
            size = len(json.dumps(output, ensure_ascii=False).encode("utf-8"))
            if size <= max_bytes:
                continue
            cut += 1
            note = (f"\n[output of {size // 1024} KB cut to its first {max_bytes // 1024} KB of text: "
                    "limits.output_max_kb in the incident parameters]")
            if "text" in output:
                output["text"] = _head(_joined(output["text"]), max_bytes) + note
            if isinstance(output.get("data"), dict):
                output["data"] = {"text/plain": _head(_joined(output["data"].get("text/plain", "")), max_bytes)
                                  + note}
            if "traceback" in output:
                output["traceback"] = [_tail(_joined(output["traceback"], "\n"), max_bytes) + note]
    return cut


def _joined(value: Any, sep: str = "") -> str:
    return sep.join(str(v) for v in value) if isinstance(value, list) else str(value)


def _head(text: str, max_bytes: int) -> str:
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def _tail(text: str, max_bytes: int) -> str:
    return text.encode("utf-8")[-max_bytes:].decode("utf-8", "ignore")


def write_step_outputs(run_dir: Path, step: Step, rendered: RenderedStep) -> None:
    """Write a rendered step: the executed notebook, its page, and its redaction counts."""
    write_text(run_dir / "notebooks" / step.notebook, rendered.notebook_text)
    write_text(run_dir / "html" / f"{step.name}.html", rendered.page_html)
    write_text(run_dir / "redaction" / f"{step.number}.json",
               json.dumps(rendered.redaction_counts, sort_keys=True) + "\n")


def notebook_body(nb: dict[str, Any]) -> str:
    """The notebook's markdown and outputs as an HTML fragment (nbconvert's basic template, inputs excluded)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, anchor_link_text="")
    body, _ = exporter.from_notebook_node(nbformat.reads(json.dumps(nb), as_version=4))
    return body


def _add_failure_banner(nb: dict[str, Any], error: str) -> None:
    for cell in nb.get("cells", []):
        if cell.get("metadata", {}).get(FAIL_MARK):
            cell.setdefault("outputs", []).insert(0, {
                "output_type": "display_data", "metadata": {},
                "data": {"text/html": f"<div class=\"banner\"><strong>This cell failed:</strong> {esc(error)}</div>",
                         "text/plain": f"This cell failed: {error}"}})
            return


def build_report(run_dir: Path) -> tuple[Path, str]:
    """Write ``index.html`` and the manifest; return the index path and the manifest hash."""
    from .manifest import write_manifest

    state = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    records = EvidenceStore(run_dir).records()
    findings = load_findings(run_dir / "findings")
    redaction = redaction_summary(run_dir, records)
    index = run_dir / "index.html"
    write_text(index, page(f"Incident {state['incident']}", index_body(state, records, findings, redaction)))
    manifest_hash = write_manifest(run_dir, complete=bool(state.get("complete")), redaction=redaction,
                                   extra={"incident": state["incident"]})
    return index, manifest_hash


def redaction_summary(run_dir: Path, records: list[Any]) -> dict[str, int]:
    total: dict[str, int] = {}
    folder = run_dir / "redaction"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        for kind, n in json.loads(path.read_text(encoding="utf-8")).items():
            total[kind] = total.get(kind, 0) + int(n)
    return total


def index_body(state: dict[str, Any], records: list[Any], findings: dict[str, Any],
               redaction: dict[str, int]) -> str:
    from .summary import summary_html

    parts = [f"<h1>Incident {esc(state['incident'])}: {esc(state.get('title', ''))}</h1>",
             f"<p class=\"lead\">{esc(state['summary'])}</p>" if state.get("summary") else "",
             f"<p>Window {esc(state['window']['start'])} → {esc(state['window']['end'])}. Run started "
             f"{esc(state.get('started_at'))}, finished {esc(state.get('finished_at'))}."
             + (f" Evidence replayed from <code>{esc(state['replay'])}</code>." if state.get("replay") else "")
             + "</p>"]
    parts.append(summary_html(findings))
    parts.append(_steps_table(state, records))
    parts.append(_findings_table(findings))
    parts.append(_evidence_table(records))
    parts.append("<h2>Redaction</h2>" + (
        "<p>Secrets replaced before anything was written: " + ", ".join(
            f"{esc(k)} × {v}" for k, v in sorted(redaction.items())) + ".</p>" if redaction else
        "<p>No secrets were found in the collected evidence or the notebooks.</p>"))
    parts.append("<h2>Integrity</h2><p><code>manifest.json</code> lists every file of this run with its SHA-256. "
                 "Run <code>irlib verify &lt;this directory&gt;</code> to recompute them; it prints the manifest "
                 "hash to compare with the one recorded in the incident ticket.</p>")
    return "\n".join(parts)


def _steps_table(state: dict[str, Any], records: list[Any]) -> str:
    rows = []
    for number, info in state["steps"].items():
        step = BY_NUMBER[number]
        missing = [r for r in records if r.step == number and r.status != "ok"]
        status = info.get("status", "pending")
        label = {"ok": "ran", "failed": "failed"}.get(status, status)
        cls = "ok" if status == "ok" else "failed"
        if status == "ok" and missing:
            label, cls = f"ran · evidence missing ({len(missing)})", "missing"
        gaps = "; ".join(f"{r.source}.{r.method}: {r.reason}" for r in missing)
        rows.append(f"<tr><td><a href=\"html/{esc(step.name)}.html\">{esc(number)} {esc(step.title)}</a></td>"
                    f"<td class=\"{cls}\">{esc(label)}</td><td>{esc(info.get('duration_s', ''))}</td>"
                    f"<td>{esc(info.get('error') or gaps)}</td></tr>")
    return ("<h2>Steps</h2><table><tr><th>step</th><th>status</th><th>seconds</th><th>failure / missing "
            "evidence</th></tr>" + "".join(rows) + "</table>")


def _findings_table(findings: dict[str, Any]) -> str:
    if not findings:
        return "<h2>Findings</h2><p>No findings were recorded.</p>"
    rows = "".join(f"<tr><td>{esc(f.name)}</td><td>{esc(f.step)}</td><td>{esc(f.summary or _short(f.value))}</td>"
                   f"</tr>" for f in findings.values())
    return "<h2>Findings</h2><table><tr><th>finding</th><th>step</th><th>value</th></tr>" + rows + "</table>"


def _short(value: Any, limit: int = 300) -> str:
    text = readable_value(value)
    return text if len(text) <= limit else text[:limit] + " …"


def readable_value(value: Any) -> str:
    """A finding's value in words, as every table of the report writes it: yes/no for booleans, "key: value"
    pairs for a mapping, a comma-separated list, "none" for nothing."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {readable_value(item)}" for key, item in value.items()) or "none"
    if isinstance(value, list):
        return ", ".join(readable_value(item) for item in value) or "none"
    return str(value)


def _evidence_table(records: list[Any]) -> str:
    rows = "".join(
        f"<tr><td>{esc(r.id)}</td><td>{esc(r.source)}.{esc(r.method)}</td>"
        f"<td class=\"{'ok' if r.status == 'ok' else 'missing'}\">{esc(r.status)}</td><td>{r.rows}</td>"
        f"<td>{'yes' if r.truncated else 'no'}</td><td>{esc(r.reason or '; '.join(r.notes))}</td>"
        f"<td><code>{esc(r.query)[:400]}</code></td><td><code>{esc(r.sha256)}</code></td></tr>" for r in records)
    return ("<h2>Evidence manifest</h2><table><tr><th>id</th><th>fetch</th><th>status</th><th>rows</th>"
            "<th>truncated</th><th>reason / notes</th><th>query</th><th>sha256</th></tr>" + rows + "</table>")
