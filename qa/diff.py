"""Side-by-side diffs that read well in Chinese: lines first, then words (jieba) within changed lines."""
from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass, field

import jieba

CONTEXT = 2  # unchanged lines shown around each change
_ready = False
# jieba keeps runs of Latin letters and digits whole; split its output further at punctuation.
_PIECES = re.compile(r"\s+|[A-Za-z]+|\d+(?:\.\d+)?|[^\sA-Za-z\d]")


@dataclass
class DiffRow:
    """One row of the side-by-side table: segments (op, text) with op in equal/delete/insert."""

    kind: str  # equal | replace | delete | insert | skip
    left: list[tuple[str, str]] = field(default_factory=list)
    right: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0


def tokens(text: str) -> list[str]:
    """Words for Chinese (jieba, no HMM: deterministic), whole Latin words and numbers, single marks."""
    global _ready
    if not _ready:
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _ready = True
    out: list[str] = []
    for word in jieba.cut(text, HMM=False):
        if len(word) == 1 or word.isalnum():
            out.append(word)
        else:
            out.extend(_PIECES.findall(word))
    return out


def inline_diff(old: str, new: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Word-level segments of the old and the new text."""
    a, b = tokens(old), tokens(new)
    left: list[tuple[str, str]] = []
    right: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            _add(left, "equal", "".join(a[i1:i2]))
            _add(right, "equal", "".join(b[j1:j2]))
        else:
            _add(left, "delete", "".join(a[i1:i2]))
            _add(right, "insert", "".join(b[j1:j2]))
    return left, right


def _add(segments: list[tuple[str, str]], op: str, text: str) -> None:
    if not text:
        return
    if segments and segments[-1][0] == op:
        segments[-1] = (op, segments[-1][1] + text)
    else:
        segments.append((op, text))


def side_by_side(old: str, new: str, context: int = CONTEXT) -> list[DiffRow]:
    """Rows for a two-column diff of old → new; long unchanged stretches are folded."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffRow] = []
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            lines = a[i1:i2]
            head = lines[:context] if index > 0 else []
            tail = lines[-context:] if index < len(opcodes) - 1 else []
            if len(head) + len(tail) >= len(lines):
                head, tail = lines, []
            for line in head:
                rows.append(DiffRow("equal", [("equal", line)], [("equal", line)]))
            hidden = len(lines) - len(head) - len(tail)
            if hidden:
                rows.append(DiffRow("skip", skipped=hidden))
            for line in tail:
                rows.append(DiffRow("equal", [("equal", line)], [("equal", line)]))
        elif op == "replace":
            left, right = inline_diff("\n".join(a[i1:i2]), "\n".join(b[j1:j2]))
            rows.append(DiffRow("replace", left, right))
        elif op == "delete":
            rows.append(DiffRow("delete", [("delete", "\n".join(a[i1:i2]))], []))
        else:
            rows.append(DiffRow("insert", [], [("insert", "\n".join(b[j1:j2]))]))
    return rows


def changed_words(rows: list[DiffRow]) -> tuple[list[str], list[str]]:
    """What was removed and what was added (for tests and summaries)."""
    removed = [t for r in rows for op, t in r.left if op == "delete"]
    added = [t for r in rows for op, t in r.right if op == "insert"]
    return removed, added
