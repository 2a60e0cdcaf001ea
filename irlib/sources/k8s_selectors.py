"""Kubernetes label and field selectors: parse the text the API accepts and match objects against it.

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k`` (exists), ``!k`` (does not
exist), joined by commas.  Field selectors: ``path=v``, ``path==v``, ``path!=v`` joined by commas, on the fields a
resource supports (:data:`FIELD_LABELS`).  A malformed selector raises :class:`SelectorError` with the API's wording.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Matcher = Callable[[Mapping[str, Any]], bool]

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VALUE = r"[-A-Za-z0-9_.]*"
_SET = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\(([^()]*)\)\s*$")
_EQ = re.compile(rf"^\s*({_KEY})\s*(==|!=|=)\s*({_VALUE})\s*$")
_EXISTS = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")

FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "pods": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
             "status.phase", "status.podIP", "status.nominatedNodeName"),
    "events": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
               "reportingComponent", "source", "type"),
    "nodes": ("spec.unschedulable",),
    "namespaces": ("status.phase",),
}


class SelectorError(ValueError):
    """The selector text cannot be parsed (the API answers 400 BadRequest)."""


def split_requirements(text: str) -> list[str]:
    """Comma-separated parts of a selector, keeping commas inside ``( )`` sets."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in (s.strip() for s in parts) if p]


def parse_label_selector(text: str) -> list[Matcher]:
    """Matchers (on a labels mapping) for each requirement of a label selector; empty text matches everything."""
    return [_label_requirement(part) for part in split_requirements(text or "")]


def _label_requirement(part: str) -> Matcher:
    if m := _SET.match(part):
        key, op = m.group(1), m.group(2)
        values = {v.strip() for v in m.group(3).split(",") if v.strip()}
        if not values:
            raise SelectorError("unable to parse requirement: for 'in', 'notin' operators, values set can't be empty")
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _EQ.match(part):
        key, op, value = m.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _EXISTS.match(part):
        negate, key = m.group(1) == "!", m.group(2)
        return (lambda labels: key not in labels) if negate else (lambda labels: key in labels)
    raise SelectorError(f"unable to parse requirement: found '{part}', expected: key, !key, key=value, key!=value, "
                        "key in (values), key notin (values)")


def matches_labels(matchers: list[Matcher], labels: Mapping[str, Any] | None) -> bool:
    """Whether the labels satisfy every requirement."""
    given = labels or {}
    return all(m(given) for m in matchers)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """A field as the API compares it: dotted path into the object; ``source`` is source.component."""
    if path == "source":
        path = "source.component"
    cur: Any = obj
    for key in path.split("."):
        cur = cur.get(key) if isinstance(cur, Mapping) else None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return "" if cur is None else str(cur)


def parse_field_selector(text: str, resource: str) -> list[Callable[[Mapping[str, Any]], bool]]:
    """Matchers (on whole objects) for a field selector; an unsupported field raises :class:`SelectorError`."""
    allowed = ("metadata.name", "metadata.namespace", *FIELD_LABELS.get(resource, ()))
    matchers = []
    for part in split_requirements(text or ""):
        m = re.match(r"^\s*([A-Za-z.]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not m:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        path, op, value = m.groups()
        if path not in allowed:
            raise SelectorError(f'field label not supported: {path}')
        if op == "!=":
            matchers.append(lambda obj, p=path, v=value: field_value(obj, p) != v)
        else:
            matchers.append(lambda obj, p=path, v=value: field_value(obj, p) == v)
    return matchers
