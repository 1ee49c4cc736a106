"""Chinese analysis: jieba with the legal dictionary, stopwords and the synonym (colloquial) table.

The segmenter is jieba-rs (the Rust port of jieba, through rjieba): the same dictionary and
algorithm, about 7× faster than the Python original on this machine (2.6 M vs 0.38 M characters/s),
which is what makes a full rebuild of 100,000 threads fit in minutes. It holds the GIL while it
cuts, so adding words between cuts is safe from any thread.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path

import rjieba
from whoosh.analysis import LowercaseFilter, Token, Tokenizer

DATA_DIR = Path(__file__).parent / "data"
WORD_CHAR = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")
SPLIT_LIST = re.compile(r"[、\s]+")
SUBWORD_MAX = 4  # sub-words of long terms emitted for recall: 2..4 characters, when in the dictionary

# Bump when segmentation changes (segmenter, its version, how sub-words are made): every indexed
# document then reads as stale to `search check`, which re-indexes it (or run `search rebuild`).
ANALYSIS_VERSION = "rjieba-0.2.2/1"

_init_lock = threading.Lock()
_ready = False
_jieba: rjieba.Jieba | None = None
_admin_terms: set[str] = set()
_admin_synonyms: dict[str, list[str]] = {}


def _data_lines(name: str) -> list[str]:
    lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def parse_synonym_line(line: str) -> tuple[list[str], list[str]]:
    """`醉驾、喝酒开车 = 危险驾驶罪 醉酒驾驶` → (["醉驾", "喝酒开车"], ["危险驾驶罪", "醉酒驾驶"])."""
    left, _, right = line.partition("=")
    keys = [w for w in SPLIT_LIST.split(left.strip()) if w]
    terms = [w for w in SPLIT_LIST.split(right.strip()) if w]
    return keys, terms


def packaged_terms() -> list[str]:
    """Charges (罪名) and legal terms from the package's data files."""
    terms = _data_lines("charges.txt") + _data_lines("legal_terms.txt")
    out: list[str] = []
    for term in terms:
        # 生产、销售伪劣产品罪: jieba never sees the 、, so keep the pieces and the joined form.
        parts = [p for p in term.split("、") if p]
        out.extend(parts if len(parts) == 1 else parts + ["".join(parts)])
    return out


def packaged_synonyms() -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for line in _data_lines("synonyms.txt"):
        keys, terms = parse_synonym_line(line)
        for key in keys:
            table.setdefault(key, [])
            table[key].extend(t for t in terms if t not in table[key])
    return table


_PACKAGED_SYNONYMS: dict[str, list[str]] | None = None
STOPWORDS: frozenset[str] = frozenset(_data_lines("stopwords.txt"))


def ensure_ready() -> None:
    """Load jieba's dictionary and the legal dictionary once per process (~0.3 s)."""
    global _ready, _PACKAGED_SYNONYMS, _jieba
    if _ready:
        return
    with _init_lock:
        if _ready:
            return
        _jieba = rjieba.Jieba()
        _PACKAGED_SYNONYMS = packaged_synonyms()
        words = set(packaged_terms())
        for terms in _PACKAGED_SYNONYMS.values():  # the legal side only: colloquial keys match as text
            words.update(terms)
        for word in sorted(words):
            _add_word(word)
        _ready = True


def _add_word(word: str) -> None:
    if len(word) < 2 or _jieba is None:
        return
    _jieba.add_word(word, _jieba.suggest_freq(word), None)  # never below the word's present frequency


def set_admin_entries(terms: set[str], synonyms: dict[str, list[str]]) -> None:
    """Install the admins' additions (from the database) into this process."""
    ensure_ready()
    global _admin_synonyms
    for word in sorted(terms - _admin_terms):
        _add_word(word)
        _admin_terms.add(word)
    for values in synonyms.values():
        for value in values:
            _add_word(value)
    forget_words()
    _admin_synonyms = dict(synonyms)


def synonym_table() -> dict[str, list[str]]:
    ensure_ready()
    table = {k: list(v) for k, v in (_PACKAGED_SYNONYMS or {}).items()}
    for key, values in _admin_synonyms.items():
        table.setdefault(key, [])
        table[key].extend(v for v in values if v not in table[key])
    return table


_SKIP = ()  # punctuation and spaces: no position
_STOP = (None, ())  # a stopword: takes a position, indexes nothing
_WORDS: dict[str, tuple] = {}  # jieba's token → _SKIP, _STOP or (indexed form, its sub-words)
_WORDS_MAX = 500_000


def _word_info(word: str) -> tuple:
    """What a token indexes as: its lower-cased form (Latin) and the dictionary words of 2-4
    characters inside it (for recall on long terms), with their offsets."""
    if not WORD_CHAR.search(word):
        return _SKIP
    n = len(word)
    if n > 1 and word.isascii():
        word = word.lower()
    if word in STOPWORDS:
        return _STOP
    found = []
    if n > 2:
        known = _jieba.has_word
        for size in range(2, min(SUBWORD_MAX, n - 1) + 1):
            for i in range(n - size + 1):
                sub = word[i:i + size]
                if sub not in STOPWORDS and known(sub):
                    found.append((sub, i, i + size))
    return (word, tuple(found))


def forget_words() -> None:
    """The dictionary changed: sub-words are looked up again."""
    _WORDS.clear()


def segment(text: str) -> list[tuple[str, int, int, int]]:
    """(word, position, start, end) for indexing and querying: jieba's default cut plus the
    dictionary sub-words (2-4 characters) of long words, which share the position of their word so
    that phrases of whole words still match. Stopwords and punctuation are dropped.
    (The hot loop of indexing: each distinct token is analysed once, then looked up.)"""
    ensure_ready()
    out: list[tuple[str, int, int, int]] = []
    append = out.append
    known = _WORDS
    if len(known) > _WORDS_MAX:
        known.clear()
    pos = -1
    start = 0
    for token in _jieba.cut(text, False):
        info = known.get(token)
        if info is None:
            info = known[token] = _word_info(token)
        end = start + len(token)
        if info:
            pos += 1
            word, subs = info
            if word is not None:
                for sub, i, j in subs:
                    append((sub, pos, start + i, start + j))
                append((word, pos, start, end))
        start = end
    return out


def words(text: str) -> list[str]:
    """The distinct indexable words of a text, in order of first appearance."""
    seen: dict[str, None] = {}
    for word, *_ in segment(text):
        seen.setdefault(word, None)
    return list(seen)


def main_words(text: str) -> list[str]:
    """jieba's whole words only (no sub-words), stopwords dropped: the terms of a phrase."""
    by_pos: dict[int, str] = {}
    for word, pos, _start, _end in segment(text):
        by_pos[pos] = word  # the whole word comes last for its position
    return [by_pos[p] for p in sorted(by_pos)]


def expansions(text: str) -> list[str]:
    """Legal terms for colloquial wording found anywhere in the text (longest keys first)."""
    table = synonym_table()
    found: list[str] = []
    remaining = text
    for key in sorted(table, key=len, reverse=True):
        if key in remaining:
            remaining = remaining.replace(key, " ")
            for term in table[key]:
                if term not in found:
                    found.append(term)
    return found


class JiebaTokenizer(Tokenizer):
    """A Whoosh tokenizer around `segment()` (not jieba.analyse.ChineseAnalyzer: 100 MB less)."""

    def __eq__(self, other):
        return other is not None and type(other) is type(self)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for word, pos, start, end in segment(value):
            token.text = word
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


def legal_analyzer():
    return JiebaTokenizer() | LowercaseFilter()
