"""The template miner: mask variables in bulk, group identical shapes, cluster the few distinct shapes.

How it works (fast because most lines of a log share a few shapes):

1. :func:`mask_messages` replaces the variable parts of every message (numbers, hex, IPs, UUIDs, paths, ...) with
   ``<*>`` in bulk: each pattern is one ``pyarrow.compute.replace_substring_regex`` pass (RE2, in C++).
2. Identical ``(level, masked message)`` pairs are grouped with a dictionary encoding: a million lines usually
   leave a few thousand distinct shapes.
3. :func:`cluster_shapes` clusters only those shapes, Drain-style: shapes with the same level, token count and first
   token are merged when the share of equal tokens reaches ``similarity``; positions that differ become ``<*>``.

A template never mixes severities: the level is part of every key.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from .parallel import concat, sliced_map

WILDCARD = "<*>"

# Ordered (RE2 and Python ``re`` agree on all of these).  No pattern matches whitespace, so masking keeps the token
# count of a message and masked tokens line up with the original ones (see :func:`extract_params`).
MASKS: tuple[tuple[str, str], ...] = (
    ("uuid", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    ("ipv4", r"/?\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"),
    ("ipv6", r"\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b"),
    ("hex", r"\b0[xX][0-9a-fA-F]+\b"),
    ("long_hex", r"\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|\b[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b"),
    ("date_word", r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"),
    ("hostname", r"\b(?:[\w-]+\.){2,}[a-zA-Z][\w-]*\b"),
    ("time", r"\b\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\b"),
    ("number", r"[-+]?\b\d+(?:[.,]\d+)*\b"),
    ("digit_word", r"[\w.\-]*\d[\w.\-]*"),
)

# One pass: RE2 (and Python) try the alternatives left to right at each position, as the ordered list reads.
MASK_PATTERN = "|".join(f"(?:{pattern})" for _name, pattern in MASKS)
_MASK_RE = re.compile(MASK_PATTERN)
SPLIT_MAX_VALUES = 2

_COLLAPSE = re.compile(r"(?:<\*>[^\s\w<>]?)+<\*>")


def mask_messages(messages: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The messages with every variable part replaced by ``<*>`` (bulk RE2 passes, on all cores; nulls stay
    null)."""
    if isinstance(messages, pa.ChunkedArray):
        messages = messages.combine_chunks()
    return concat(sliced_map(_mask_slice, messages))


def _mask_slice(messages: pa.Array) -> pa.Array:
    out = pc.replace_substring_regex(messages, pattern=MASK_PATTERN, replacement=WILDCARD)
    return pc.replace_substring_regex(out, pattern=_COLLAPSE.pattern, replacement=WILDCARD)


def mask_message(message: str) -> str:
    """One message masked exactly as :func:`mask_messages` masks it (pure Python, for single strings)."""
    return _COLLAPSE.sub(WILDCARD, _MASK_RE.sub(WILDCARD, message))


@dataclass
class _Cluster:
    tokens: list[str]
    shapes: list[int] = field(default_factory=list)


def _similarity(template: Sequence[str], tokens: Sequence[str]) -> tuple[float, int]:
    same = 0
    wild = 0
    for a, b in zip(template, tokens):
        if a == WILDCARD:
            wild += 1
            if b == WILDCARD:
                same += 1
        elif a == b:
            same += 1
    return same / len(tokens), wild


def _merge(template: list[str], tokens: Sequence[str]) -> list[str]:
    return [a if a == b else WILDCARD for a, b in zip(template, tokens)]


def _leaf_key(level: str, tokens: Sequence[str], depth: int) -> tuple[str, ...]:
    key = [level, str(len(tokens))]
    for tok in tokens[:depth]:
        key.append("<*>" if any(ch.isdigit() for ch in tok) or WILDCARD in tok else tok)
    return tuple(key)


def _best_cluster(clusters: list[_Cluster], tokens: Sequence[str], similarity: float) -> _Cluster | None:
    best: _Cluster | None = None
    best_score = (-1.0, -1)
    for cluster in clusters:
        score = _similarity(cluster.tokens, tokens)
        if score > best_score:
            best, best_score = cluster, score
    if best is not None and best_score[0] >= similarity:
        return best
    return None


def cluster_shapes(shapes: Sequence[str], levels: Sequence[str], weights: Sequence[int],
                   *, similarity: float = 0.5, depth: int = 1) -> list[list[str]]:
    """Cluster distinct masked shapes; returns each shape's template tokens (same order as ``shapes``).

    Shapes are visited most frequent first (``weights``), so common shapes seed the templates.  Only shapes with the
    same level, token count and first ``depth`` tokens (digit-free) are compared.
    """
    order = sorted(range(len(shapes)), key=lambda i: (-weights[i], i))
    leaves: dict[tuple[str, ...], list[_Cluster]] = {}
    owner: list[_Cluster | None] = [None] * len(shapes)
    for i in order:
        tokens = shapes[i].split()
        if not tokens:
            tokens = [""]
        leaf = leaves.setdefault(_leaf_key(levels[i], tokens, depth), [])
        cluster = _best_cluster(leaf, tokens, similarity)
        if cluster is None:
            cluster = _Cluster(tokens=list(tokens))
            leaf.append(cluster)
        else:
            cluster.tokens = _merge(cluster.tokens, tokens)
        cluster.shapes.append(i)
        owner[i] = cluster
    clusters = {id(c): c for c in owner if c is not None}
    result: list[list[str]] = [[] for _ in shapes]
    for cluster in clusters.values():
        for part in _split_on_few_constants([shapes[i].split() or [""] for i in cluster.shapes], cluster.shapes):
            merged = part[0][1]
            for _, toks in part[1:]:
                merged = _merge(merged, toks)
            for i, _ in part:
                result[i] = merged
    return result


def _split_on_few_constants(token_lists: list[list[str]], idx: list[int],
                            max_values: int = SPLIT_MAX_VALUES) -> list[list[tuple[int, list[str]]]]:
    """Split a cluster on a position that holds only a few distinct constant words (``start``/``stop``).

    Such a position is a choice between a few fixed messages, not a variable: ``Failed password`` and
    ``Failed none`` are different events.
    """
    members = list(zip(idx, token_lists))
    if len(members) < 2:
        return [members]
    for pos in range(len(token_lists[0])):
        values = {toks[pos] for toks in token_lists}
        if 1 < len(values) <= max_values and all(_is_constant_word(v) for v in values):
            groups: dict[str, list[tuple[int, list[str]]]] = {}
            for member in members:
                groups.setdefault(member[1][pos], []).append(member)
            out: list[list[tuple[int, list[str]]]] = []
            for group in groups.values():
                out.extend(_split_on_few_constants([m[1] for m in group], [m[0] for m in group], max_values))
            return out
    return [members]


def _is_constant_word(token: str) -> bool:
    return WILDCARD not in token and not any(ch.isdigit() for ch in token)


def template_text(tokens: Sequence[str]) -> str:
    """Template tokens joined with single spaces."""
    return " ".join(tokens)


def template_id(level: str, template: str) -> str:
    """A stable id for a (level, template) pair: the same template gets the same id in every run."""
    return hashlib.blake2b(f"{level}\x1f{template}".encode("utf-8", "replace"), digest_size=6).hexdigest()


def extract_params(template: str, message: str) -> list[str]:
    """The parts of ``message`` that the template's ``<*>`` stand for, in order.

    The template comes from the message's own masked tokens, so tokens line up one to one; a token that holds a
    wildcard contributes the text around the template's constant pieces.
    """
    t_tokens = template.split()
    m_tokens = message.split()
    if len(t_tokens) != len(m_tokens):
        return [message] if WILDCARD in template else []
    params: list[str] = []
    for t_tok, m_tok in zip(t_tokens, m_tokens):
        if WILDCARD not in t_tok:
            continue
        if t_tok == WILDCARD:
            params.append(m_tok)
            continue
        pattern = "^" + "(.*?)".join(re.escape(p) for p in t_tok.split(WILDCARD)) + "$"
        match = re.match(pattern, m_tok)
        params.extend(match.groups() if match else [m_tok])
    return params


@dataclass(frozen=True)
class Mined:
    """What :func:`mine` returns: per-row template index, plus each template's level and text."""

    row_template: pa.Array  # int32 index into ``templates`` for every input row
    levels: list[str]
    templates: list[str]
    ids: list[str]


def shape_keys(messages: pa.Array | pa.ChunkedArray, levels: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    """Every row's ``level \x1f masked message`` key, dictionary-encoded (the distinct shapes are the dictionary).

    Identical messages are masked once: the messages are dictionary-encoded (a hash pass, far cheaper than the
    regex passes), the distinct ones masked, and the keys built for the distinct (message, level) pairs only.
    """
    message_codes, distinct_messages = _encoded(pc.fill_null(_combined(messages).cast(pa.large_string()), ""))
    level_codes, distinct_levels = _encoded(pc.fill_null(_combined(levels).cast(pa.large_string()), ""))
    masked = mask_messages(distinct_messages)
    width = max(len(distinct_levels), 1)
    pair_codes, pairs = _encoded(pc.add(pc.multiply(message_codes.cast(pa.int64()), width),
                                        level_codes.cast(pa.int64())))
    pair_message = pc.divide(pairs, width)
    pair_level = pc.subtract(pairs, pc.multiply(pair_message, width))
    pair_keys = pc.binary_join_element_wise(pc.take(distinct_levels, pair_level), pc.take(masked, pair_message),
                                            pa.scalar("\x1f", pa.large_string()))
    key_codes, keys = _encoded(pair_keys)
    row_keys = pc.take(key_codes, pair_codes) if len(pair_codes) else pa.array([], pa.int32())
    return pa.DictionaryArray.from_arrays(row_keys.cast(pa.int32()), keys)


def _combined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    return values


def _encoded(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(per-row code, distinct values) of a null-free array, distinct values in order of first appearance."""
    encoded = pc.dictionary_encode(values)
    return encoded.indices, encoded.dictionary


def cluster_keys(keys: Sequence[str], weights: Sequence[int], *, similarity: float = 0.5,
                 depth: int = 1) -> tuple[list[str], list[list[str]]]:
    """(level, template tokens) for each shape key made by :func:`shape_keys`, clustered with the given weights."""
    split = [key.split("\x1f", 1) for key in keys]
    levels = [s[0] for s in split]
    shapes = [s[1] if len(s) > 1 else "" for s in split]
    return levels, cluster_shapes(shapes, levels, weights, similarity=similarity, depth=depth)


def mine(messages: pa.Array | pa.ChunkedArray, levels: pa.Array | pa.ChunkedArray,
         *, similarity: float = 0.5, depth: int = 1) -> Mined:
    """Assign every (level, message) row to a template; cost is bulk masking plus clustering of distinct shapes."""
    encoded = shape_keys(messages, levels)
    dictionary = encoded.dictionary.to_pylist()
    counts = pc.value_counts(encoded.indices).to_pylist() if len(encoded) else []
    weights = [0] * len(dictionary)
    for item in counts:
        weights[item["values"]] = item["counts"]
    shape_levels, tokens = cluster_keys(dictionary, weights, similarity=similarity, depth=depth)
    return _number_templates(encoded.indices, shape_levels, tokens)


def _number_templates(indices: pa.Array, shape_levels: list[str], tokens: list[list[str]]) -> Mined:
    index_of: dict[tuple[str, str], int] = {}
    shape_to_template: list[int] = []
    levels: list[str] = []
    texts: list[str] = []
    for level, toks in zip(shape_levels, tokens):
        text = template_text(toks)
        key = (level, text)
        if key not in index_of:
            index_of[key] = len(texts)
            levels.append(level)
            texts.append(text)
        shape_to_template.append(index_of[key])
    mapping = pa.array(shape_to_template, pa.int32())
    row_template = pc.take(mapping, indices) if len(indices) else pa.array([], pa.int32())
    ids = [template_id(lv, tx) for lv, tx in zip(levels, texts)]
    return Mined(row_template=row_template, levels=levels, templates=texts, ids=ids)
