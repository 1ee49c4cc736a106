"""Queries: the query syntax, the Whoosh query plan, ranking, visibility re-check and snippets."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from whoosh import query as Q

from qa.errors import ValidationError
from qa.extensions import db
from qa.models import CATEGORIES, STATUS_NAMES, Answer, Question
from qa.search import sql_backend
from qa.search.analysis import STOPWORDS, expansions, main_words, segment
from qa.search.citations import parse_statute, statute_key
from qa.search.index import get_searcher, index_root, is_searchable, thread_text, visible_answers
from qa.services.search_terms import sync_admin_entries
from qa.timeutil import CHINA

NUMBER_RE = re.compile(r"^JD\d{4}-[0-9A-Za-z]{1,12}-\d{5,}$", re.IGNORECASE)
TOKEN_RE = re.compile(r'(?P<neg>-)?(?:(?P<field>[\w\u4e00-\u9fff]{1,6})[:：])?(?:["“”](?P<phrase>[^"“”]*)["“”]|(?P<word>[^\s"“”]+))')
FIELD_ALIASES = {
    "类别": "category", "条线": "category", "业务": "category", "category": "category",
    "法条": "statute", "法律": "statute", "statute": "statute",
    "标签": "tag", "tag": "tag",
    "状态": "status", "status": "status",
    "编号": "number", "number": "number",
}
SORTS = {"relevance": "相关度", "newest": "最新", "quality": "质量评分"}
RERANK = 50  # the top hits re-ranked by canonical status and quality
TITLE_BOOST = 0.25  # the title is in content too: a light extra weight (chosen by bench/search_quality.py)
EXPANSION_BOOST = 0.6
TITLE_PHRASE_BOOST = 2.0  # the whole short query, in order, in a title (chosen by bench/search_quality.py)
TITLE_PHRASE_MAX = 40  # characters: longer queries are descriptions, not titles
MAX_TERMS = 32  # query terms kept (highest idf first): bounds the work of long, chatty queries
CN_QUOTE_PHRASES_MAX = 40  # “…” marks a phrase only in short queries
USE_SYNONYMS = True  # the benchmark switches these off to measure what they bring
USE_RERANK = True
COMMON_DF = 0.5  # terms in more than this share of documents are dropped when rarer ones exist
COUNT_EXACT_MAX = 1000  # matches counted one by one for the result count; beyond, an estimate (约 N)


@dataclass
class ParsedQuery:
    text: list[str] = field(default_factory=list)  # free text chunks
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    statutes: list[tuple[str, int | None, int]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    number: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.text or self.phrases or self.categories or self.statutes or self.tags or self.number
                    or self.statuses)


def category_code(value: str) -> str | None:
    """民事 / 民事检察 / civil → civil."""
    value = value.strip()
    for code, name, _parent in CATEGORIES:
        if value in (code, name):
            return code
    for code, name, _parent in CATEGORIES:
        if value and value in name:
            return code
    return None


def status_code(value: str) -> str | None:
    for code, name in STATUS_NAMES.items():
        if value in (code, name):
            return code
    return None


def parse_query(raw: str) -> ParsedQuery:
    """Parse `"quoted phrases"`, `-exclude`, `类别:民事`, `法条:刑法133`, `标签:x`, question numbers.

    Raises ValidationError for an over-long query (parsing cost grows quickly with length).
    """
    raw = (raw or "").strip()
    limit = current_app.config.get("QA_SEARCH_QUERY_MAX", 200)
    if len(raw) > limit:
        raise ValidationError("q", f"检索词过长：最多 {limit} 个字（当前 {len(raw)} 个），请精简后再试。")
    parsed = ParsedQuery()
    if len(raw) > CN_QUOTE_PHRASES_MAX:  # long natural text quotes with “”: only ASCII quotes are syntax there
        raw = raw.replace("“", " ").replace("”", " ")
    for match in TOKEN_RE.finditer(raw):
        neg, fname, phrase, word = match.group("neg"), match.group("field"), match.group("phrase"), match.group("word")
        value = phrase if phrase is not None else word
        kind = FIELD_ALIASES.get((fname or "").lower())
        if fname and kind is None:  # not a known field: keep it as text
            value, phrase = f"{fname}:{value}" if value else fname, None
        if not value or not value.strip():
            continue
        value = value.strip()
        if kind == "category":
            code = category_code(value)
            if code:
                parsed.categories.append(code)
            continue
        if kind == "statute":
            statute = parse_statute(value)
            if statute:
                parsed.statutes.append(statute)
            continue
        if kind == "tag":
            parsed.tags.append(value.lower())
            continue
        if kind == "status":
            code = status_code(value)
            if code:
                parsed.statuses.append(code)
            continue
        if kind == "number" or NUMBER_RE.match(value):
            parsed.number = value.upper()
            continue
        if neg:
            parsed.excluded.append(value)
        elif phrase is not None:
            parsed.phrases.append(value)
        else:
            parsed.text.append(value)
    return parsed


# Query plan ----------------------------------------------------------------------------------


def _term_query(term: str, boost: float = 1.0) -> Q.Query:
    return Q.Or([Q.Term("title", term, boost=boost * TITLE_BOOST), Q.Term("content", term, boost=boost)])


def _select_terms(searcher, terms: list[str]) -> list[str]:
    """Drop terms no document has, and very common ones when rarer terms exist; keep the rarest."""
    total = max(searcher.doc_count(), 1)
    scored = []
    for term in terms:
        df = searcher.doc_frequency("content", term)
        if df:
            scored.append((df, term))
    if not scored:
        return []
    rare = [(df, t) for df, t in scored if df <= COMMON_DF * total]
    chosen = rare if rare else scored
    chosen.sort()
    return [t for _df, t in chosen[:MAX_TERMS]]


def _text_query(searcher, text: str) -> tuple[Q.Query | None, list[str]]:
    """An OR of the text's words (with dictionary sub-words) and synonym expansions."""
    terms = list(dict.fromkeys(w for w, *_ in segment(text)))
    chosen = _select_terms(searcher, terms)
    extra = [t for t in expansions(text) if t not in chosen] if USE_SYNONYMS else []
    extra = [t for t in extra if searcher.doc_frequency("content", t)]
    parts = [_term_query(t) for t in chosen] + [_term_query(t, EXPANSION_BOOST) for t in extra]
    if not parts:
        return None, []
    if len(text) <= TITLE_PHRASE_MAX and len(chosen) > 1:  # a pasted title: its thread first
        phrase = _phrase_query(text, ("title",), TITLE_PHRASE_BOOST)
        if phrase is not None:
            parts.append(phrase)
    return Q.Or(parts), chosen + extra


def _phrase_query(phrase: str, fields: tuple[str, ...] = ("title", "content"), boost: float = 1.0) -> Q.Query | None:
    """Whole words in order; stopwords were dropped from the index, so allow their gaps (slop)."""
    by_pos: dict[int, str] = {}
    for word, pos, _start, _end in segment(phrase):
        by_pos[pos] = word  # the whole word comes last for its position
    if not by_pos:
        return None
    positions = sorted(by_pos)
    words = [by_pos[p] for p in positions]
    if len(words) == 1:
        return Q.Or([Q.Term(f, words[0], boost=boost) for f in fields])
    slop = 1 + max(b - a - 1 for a, b in zip(positions, positions[1:], strict=False))
    return Q.Or([Q.Phrase(f, words, slop=slop, boost=boost) for f in fields])


def _statute_query(law: str, article: int | None, sub: int) -> Q.Query:
    if article is None:
        return Q.Prefix("statutes", f"{law}:")
    return Q.Term("statutes", statute_key(law, article, sub))


def _day_start(day: date) -> int:
    return int(datetime.combine(day, time.min, tzinfo=CHINA).timestamp())


@dataclass
class Filters:
    category: str | None = None
    canonical: bool = False
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def build_query(searcher, parsed: ParsedQuery, filters: Filters) -> tuple[Q.Query | None, Q.Query | None, list[str]]:
    """(scored query, filter query, highlight terms)."""
    must: list[Q.Query] = []
    highlight: list[str] = []
    scored: Q.Query | None = None
    if parsed.text:
        scored, highlight = _text_query(searcher, " ".join(parsed.text))
        if scored is None and not parsed.phrases:
            return Q.NullQuery, None, []
    for phrase in parsed.phrases:
        pq = _phrase_query(phrase)
        if pq is not None:
            must.append(pq)
            highlight.append(phrase)
    if parsed.number:
        must.append(Q.Term("number", parsed.number))
    for law, article, sub in parsed.statutes:
        must.append(_statute_query(law, article, sub))
    for tag in parsed.tags:
        must.append(Q.Term("tags", tag))
    wanted = [c for c in [filters.category, *parsed.categories] if c]
    for code in wanted:
        must.append(Q.Term("category", code))
    statuses = [s for s in [filters.status, *parsed.statuses] if s]
    if statuses:
        must.append(Q.Or([Q.Term("status", s) for s in statuses]))
    if filters.canonical:
        must.append(Q.Term("canonical", "1"))
    if filters.date_from or filters.date_to:
        start = _day_start(filters.date_from) if filters.date_from else None
        end = _day_start(filters.date_to + timedelta(days=1)) - 1 if filters.date_to else None
        must.append(Q.NumericRange("asked", start, end))
    excluded = []
    for text in parsed.excluded:
        words = [w for w in main_words(text) if w not in STOPWORDS]
        if words:
            excluded.append(Q.And([Q.Or([Q.Term("title", w), Q.Term("content", w)]) for w in words]))
    query_parts = ([scored] if scored is not None else []) + must
    if not query_parts:
        return None, None, []
    query = query_parts[0] if len(query_parts) == 1 else Q.And(query_parts)
    if excluded:
        query = Q.AndNot(query, Q.Or(excluded))
    return query, None, highlight


# Results -------------------------------------------------------------------------------------


@dataclass
class Hit:
    question: Question
    score: float
    canonical: bool
    superseded: bool
    quality: float
    title_html: Markup
    snippet_html: Markup

    @property
    def number(self) -> str:
        return self.question.number


@dataclass
class SearchResults:
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    parsed: ParsedQuery | None = None
    terms: list[str] = field(default_factory=list)
    total_is_estimate: bool = False  # many matches: counted up to COUNT_EXACT_MAX, then extrapolated

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1


def final_score(score: float, fields: dict) -> float:
    """Relevance first, then: canonical in force ×1.5, superseded ×0.6, quality ±4% a point."""
    factor = 1.0
    if fields.get("canonical") == "1":
        factor *= 1.5
    if fields.get("superseded") == "1":
        factor *= 0.6
    quality = (fields.get("quality") or 0) / 10
    if quality:
        factor *= 1 + 0.04 * (quality - 3)
    return score * factor


def run_search(raw: str, filters: Filters | None = None, sort: str = "relevance", page: int = 1,
               per_page: int = 10, user=None, snippets: bool = True, exact_total: bool = True) -> SearchResults:
    """The search behind the page and the API. Raises ValidationError for an over-long query and
    SearchUnavailable when the index cannot be read."""
    if sql_backend.enabled():
        from qa.search.sql_query import run_search as sql_search

        return sql_search(raw, filters, sort, page, per_page, user, snippets, exact_total)
    filters = filters or Filters()
    parsed = parse_query(raw)
    page = max(1, min(page, 1000))
    if parsed.empty and not (filters.category or filters.canonical or filters.status or filters.date_from
                             or filters.date_to):
        return SearchResults([], 0, page, per_page, parsed)
    sync_admin_entries()
    searcher = get_searcher(index_root())
    query, _filter, terms = build_query(searcher, parsed, filters)
    if query is None:
        query = Q.Every()
    offset = (page - 1) * per_page
    need = offset + per_page
    if sort == "newest":
        results = searcher.search(query, limit=need, sortedby="asked", reverse=True)
        order = [(hit.docnum, hit.score or 0.0, hit.fields()) for hit in results]
    elif sort == "quality":
        results = searcher.search(query, limit=need, sortedby=["quality", "asked"], reverse=True)
        order = [(hit.docnum, hit.score or 0.0, hit.fields()) for hit in results]
    else:
        results = searcher.search(query, limit=max(need, RERANK))
        order = [(hit.docnum, hit.score or 0.0, hit.fields()) for hit in results]
        head = sorted(order[:RERANK], key=lambda item: -final_score(item[1], item[2])) if USE_RERANK \
            else order[:RERANK]
        order = head + order[RERANK:]
    if results.has_exact_length():  # sorted searches and small ones count as they collect
        total, estimate = len(results), False
    elif exact_total:
        total, estimate = count_matches(searcher, query)
    else:
        total, estimate = results.estimated_length(), True
    window = order[offset:offset + per_page]
    hits = _to_hits(window, terms, snippets, user)
    return SearchResults(hits, total, page, per_page, parsed, terms, total_is_estimate=estimate)


def count_matches(searcher, query: Q.Query) -> tuple[int, bool]:
    """(count, is_estimate). The top hits are scored with block skipping, which does not count the
    rest; counting every match of a common word costs more than the search. Count up to
    COUNT_EXACT_MAX; beyond, extrapolate from how far through the index (document order) the
    count got, which is close when matches are spread evenly, as they are by date."""
    count = 0
    for docnum in searcher.docs_for_query(query):
        count += 1
        if count >= COUNT_EXACT_MAX:
            estimate = count * searcher.doc_count_all() / (docnum + 1)
            return max(count, int(float(f"{estimate:.2g}"))), True  # two significant digits: 约 3,400
    return count, False


def _to_hits(window, terms, snippets: bool, user) -> list[Hit]:
    ids = [int(fields["id"]) for _docnum, _score, fields in window]
    if not ids:
        return []
    rows = db.session.execute(  # three queries (a round trip each on PostgreSQL)
        select(Question).where(Question.id.in_(ids)).options(
            selectinload(Question.answers).joinedload(Answer.canonical),
            selectinload(Question.supplements), joinedload(Question.category),
        )
    ).unique().scalars().all()
    by_id = {q.id: q for q in rows}
    hits = []
    for _docnum, score, fields in window:
        question = by_id.get(int(fields["id"]))
        if question is None or not is_visible(question, user):
            continue  # the index may lag the database: never show what the database hides now
        hits.append(Hit(
            question=question, score=round(score, 4),
            canonical=any(a.is_canonical for a in visible_answers(question)),
            superseded=fields.get("superseded") == "1", quality=(fields.get("quality") or 0) / 10,
            title_html=highlight(question.title, terms, 200),
            snippet_html=snippet(thread_text(question), terms) if snippets else Markup(""),
        ))
    return hits


def is_visible(question: Question, user) -> bool:
    """Search shows answered threads to every active user (internal system, all may read)."""
    if user is not None and not getattr(user, "active", True):
        return False
    return is_searchable(question)


# Snippets: from the database text, no re-segmentation; everything escaped --------------------


def _term_pattern(terms: list[str]) -> re.Pattern | None:
    usable = sorted({t for t in terms if t and (len(t) > 1 or not t.isascii())}, key=len, reverse=True)
    if not usable:
        return None
    return re.compile("|".join(re.escape(t) for t in usable), re.IGNORECASE)


def highlight(text: str, terms: list[str], limit: int = 200) -> Markup:
    text = text[:limit]
    pattern = _term_pattern(terms)
    if pattern is None:
        return Markup(escape(text))
    out, cursor = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[cursor:match.start()]))
        out.append(Markup("<mark>") + escape(match.group(0)) + Markup("</mark>"))
        cursor = match.end()
    out.append(escape(text[cursor:]))
    return Markup("").join(out)


def snippet(text: str, terms: list[str], width: int = 140) -> Markup:
    """A window of the text around the densest cluster of query terms, terms marked."""
    text = re.sub(r"\s+", " ", text).strip()
    pattern = _term_pattern(terms)
    start = 0
    if pattern is not None:
        positions = [m.start() for m in pattern.finditer(text)]
        if positions:
            best, best_count = positions[0], 0
            j = 0
            for i, pos in enumerate(positions):
                while positions[j] < pos - width // 2:
                    j += 1
                if i - j + 1 > best_count:
                    best_count, best = i - j + 1, positions[j]
            start = max(0, best - 20)
    window = text[start:start + width]
    body = highlight(window, terms, width)
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(text) else ""
    return Markup(escape(prefix)) + body + Markup(escape(suffix))


# Similar questions -----------------------------------------------------------------------------


def similar_questions(text: str, limit: int = 5, user=None, exclude_id: int | None = None) -> list[Hit]:
    """Up to `limit` answered threads like the text being typed (title and body), canonical first
    among equals."""
    if sql_backend.enabled():
        from qa.search.sql_query import similar_questions as sql_similar

        return sql_similar(text, limit, user, exclude_id)
    text = (text or "")[:current_app.config.get("QA_SIMILAR_TEXT_MAX", 2000)]
    if len(text.strip()) < 2:
        return []
    sync_admin_entries()
    searcher = get_searcher(index_root())
    query, terms = _text_query(searcher, text)
    if query is None:
        return []
    results = searcher.search(query, limit=limit + 10)
    order = [(hit.docnum, hit.score or 0.0, hit.fields()) for hit in results]
    order.sort(key=lambda item: -final_score(item[1], item[2]))
    if exclude_id is not None:
        order = [o for o in order if o[2]["id"] != str(exclude_id)]
    return _to_hits(order[:limit], terms, snippets=False, user=user)
