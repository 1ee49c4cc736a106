"""Queries on the SQL backend: the parsed query (query.parse_query) as an FTS5 MATCH expression,
filters and sorts in SQL, then the shared re-ranking, visibility re-check and escaped snippets of
query.py (the same code paths as Whoosh for everything after the engine)."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from qa.search import query as shared
from qa.search.analysis import STOPWORDS, expansions, main_words, segment
from qa.search.citations import statute_key
from qa.search.index import SearchUnavailable
from qa.search.sql_backend import PREFIX, doc_frequencies, document_count_cached, engine, ensure_tables, key_token
from qa.services.search_terms import sync_admin_entries

TEXT_COLUMNS = "{title body subs}"
BM25_WEIGHTS = (2.0, 1.0, 0.1, 0.0)  # title, body, sub-words, keys (chosen by bench/search_quality.py)
# The rarest query words kept: bm25 costs (matching documents × words), and at 100,000 threads the
# median query matches half of them; 8 words halve the p95 and cost nothing on the dev sets
# (bench/search_speed.py, bench/search_quality.py).
MAX_TERMS = 8


def _fts(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class Plan:
    """The engine expression (AND of parts), SQL conditions on sx_doc, and the highlight terms."""

    def __init__(self):
        self.scored: str | None = None
        self.must: list[str] = []
        self.exclude: list[str] = []
        self.where: list[str] = []
        self.params: dict = {}
        self.terms: list[str] = []
        self.nothing = False

    def param(self, value) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"


def _select_terms(terms: list[str], df: dict[str, int], total: int) -> list[str]:
    """As the Whoosh plan: drop absent terms and very common ones when rarer exist; keep the rarest."""
    scored = [(df[t], t) for t in terms if df.get(t)]
    rare = [(n, t) for n, t in scored if n <= shared.COMMON_DF * max(total, 1)]
    chosen = sorted(rare or scored)
    return [t for _n, t in chosen[:MAX_TERMS]]


def text_terms(raw: str) -> tuple[list[str], list[str]]:
    """(chosen words, synonym expansions present in the index), from one frequency lookup."""
    words = list(dict.fromkeys(w for w, *_ in segment(raw)))
    candidates = [t for t in expansions(raw) if t not in words] if shared.USE_SYNONYMS else []
    df, total = doc_frequencies(words + candidates)
    chosen = _select_terms(words, df, total)
    return chosen, [t for t in candidates if df.get(t)]


def _or(terms: list[str]) -> str:
    return TEXT_COLUMNS + ": (" + " OR ".join(_fts(t) for t in terms) + ")"


def _scored(plan: Plan, raw: str, chosen: list[str], extra: list[str]) -> None:
    """The OR of the words; a short text (a pasted title) also scores as a phrase in titles (one
    more phrase for bm25)."""
    plan.scored = _or(chosen + extra)
    plan.terms = chosen + extra
    if len(raw) <= shared.TITLE_PHRASE_MAX and len(chosen) > 1:
        words = main_words(raw)
        if len(words) > 1:
            plan.scored = f"({plan.scored} OR {{title}}: {_fts(' '.join(words))})"


def _phrase(words: list[str]) -> str:
    """SQLite: the body holds whole words without gaps, so a phrase is adjacent words."""
    if len(words) == 1:
        return TEXT_COLUMNS + ": " + _fts(words[0])
    return "{body}: " + _fts(" ".join(words))


def _key(token: str, prefix: bool = False) -> str:
    return "{keys}: " + _fts(token) + (" *" if prefix else "")


def build_plan(parsed, filters) -> Plan:
    plan = Plan()
    if parsed.text:
        chosen, extra = text_terms(" ".join(parsed.text))
        if chosen or extra:
            _scored(plan, " ".join(parsed.text), chosen, extra)
        elif not parsed.phrases:
            plan.nothing = True
            return plan
    for phrase in parsed.phrases:
        words = main_words(phrase)
        if words:
            plan.must.append(_phrase(words))
            plan.terms.append(phrase)
    if parsed.number:
        plan.where.append(f"d.number = {plan.param(parsed.number.upper())}")
    for law, article, sub in parsed.statutes:
        if article is None:
            plan.must.append(_key(key_token("s", f"{law}:"), prefix=True))
        else:
            plan.must.append(_key(key_token("s", statute_key(law, article, sub))))
    for tag in parsed.tags:
        plan.must.append(_key(key_token("t", tag.lower())))
    for code in [c for c in [filters.category, *parsed.categories] if c]:
        plan.must.append(_key(key_token("c", code)))
    statuses = [s for s in [filters.status, *parsed.statuses] if s]
    if statuses:
        plan.where.append("d.status IN (" + ", ".join(plan.param(s) for s in statuses) + ")")
    if filters.canonical:
        plan.where.append("d.canonical = 1")
    if filters.date_from:
        plan.where.append(f"d.asked >= {plan.param(shared._day_start(filters.date_from))}")
    if filters.date_to:
        plan.where.append(f"d.asked <= {plan.param(shared._day_start(filters.date_to + timedelta(days=1)) - 1)}")
    for raw in parsed.excluded:
        words = [w for w in main_words(raw) if w not in STOPWORDS]
        if words:
            plan.exclude.append(" AND ".join(_or([w]) for w in words))
    return plan


def _match_expression(plan: Plan) -> str | None:
    parts = ([plan.scored] if plan.scored else []) + plan.must
    if not parts:
        return None
    expression = " AND ".join(f"({p})" for p in parts)
    for excluded in plan.exclude:
        expression = f"({expression}) NOT ({excluded})"
    return expression


def fetch(plan: Plan, sort: str, limit: int) -> tuple[list[tuple[float, dict]], int, bool]:
    """(score, fields) of the first `limit` hits in the engine's order, the total and whether the
    total is an estimate."""
    ensure_tables()
    try:
        with engine().connect() as conn:  # not the session's snapshot: see the latest drained batch
            rows, total, estimate = _fetch(conn, plan, sort, limit)
    except DBAPIError as error:  # damaged or missing search tables: a clean 503, `search rebuild` repairs
        raise SearchUnavailable(str(error.orig)) from error
    out = [(float(r.score or 0.0), {"id": str(r.qid), "canonical": str(r.canonical), "superseded": str(r.superseded),
                                    "quality": r.quality}) for r in rows]
    return out, total, estimate


COLUMNS = "d.qid, d.canonical, d.superseded, d.quality, d.asked"
ORDERS = {"newest": "d.asked DESC, d.qid DESC", "quality": "d.quality DESC, d.asked DESC, d.qid DESC"}


def _fetch(conn: Connection, plan: Plan, sort: str, limit: int):
    """Relevance without column filters: the top `limit` inside FTS5 (bm25 of each match, no join),
    then the few rows joined. Otherwise the matches join sx_doc for filters and sorts."""
    expression = _match_expression(plan)
    filters = list(plan.where)  # conditions on sx_doc
    params = dict(plan.params, limit=limit)
    if expression:
        params["m"] = expression
    elif plan.exclude:  # only exclusions beside filters: drop their matches
        params["x"] = " OR ".join(f"({e})" for e in plan.exclude)
        filters.append(f"d.qid NOT IN (SELECT rowid FROM {PREFIX}fts WHERE {PREFIX}fts MATCH :x)")
    matched = f"d.qid IN (SELECT rowid FROM {PREFIX}fts WHERE {PREFIX}fts MATCH :m)"
    rank = f"-bm25({PREFIX}fts, {', '.join(map(str, BM25_WEIGHTS))})" if plan.scored else "0.0"
    if expression and sort not in ORDERS:
        top = f"SELECT rowid AS qid, {rank} AS score FROM {PREFIX}fts WHERE {PREFIX}fts MATCH :m"
        if filters:
            sql = (f"SELECT {COLUMNS}, m.score FROM ({top}) m JOIN {PREFIX}doc d ON d.qid = m.qid "
                   f"WHERE {' AND '.join(filters)} ORDER BY m.score DESC, d.qid DESC LIMIT :limit")
        else:
            sql = (f"SELECT {COLUMNS}, m.score FROM ({top} ORDER BY score DESC, rowid DESC LIMIT :limit) m "
                   f"JOIN {PREFIX}doc d ON d.qid = m.qid ORDER BY m.score DESC, d.qid DESC")
    else:  # newest / quality, or filters only: walk sx_doc in order, keeping the matches
        where = ([matched] if expression else []) + filters
        sql = (f"SELECT {COLUMNS}, 0.0 AS score FROM {PREFIX}doc d" + (" WHERE " + " AND ".join(where) if where else "")
               + f" ORDER BY {ORDERS.get(sort, 'd.asked DESC, d.qid DESC')} LIMIT :limit")
    rows = conn.execute(text(sql), params).all()
    if len(rows) < limit:
        return rows, len(rows), False
    if expression and not filters:
        first = f"SELECT rowid AS qid FROM {PREFIX}fts WHERE {PREFIX}fts MATCH :m ORDER BY rowid LIMIT :cap"
    else:
        where = ([matched] if expression else []) + filters
        first = (f"SELECT d.qid FROM {PREFIX}doc d" + (" WHERE " + " AND ".join(where) if where else "")
                 + " ORDER BY d.qid LIMIT :cap")
    return rows, *_count(conn, first, params)


def _count(conn: Connection, first: str, params: dict) -> tuple[int, bool]:
    """Matches (`first`: their ids in document order) counted up to COUNT_EXACT_MAX; beyond,
    extrapolated from how far through the documents the count got (as on Whoosh): 约 N."""
    cap = shared.COUNT_EXACT_MAX
    count, last = conn.execute(text(f"SELECT count(*), max(qid) FROM ({first})"), dict(params, cap=cap)).one()
    if count < cap:
        return count, False
    through = conn.execute(text(f"SELECT count(*) FROM {PREFIX}doc WHERE qid <= :last"), {"last": last}).scalar()
    estimate = count * document_count_cached() / max(through, 1)
    return max(count, int(float(f"{estimate:.2g}"))), True  # two significant digits: 约 3,400


def run_search(raw: str, filters=None, sort: str = "relevance", page: int = 1, per_page: int = 10, user=None,
               snippets: bool = True, exact_total: bool = True):
    filters = filters or shared.Filters()
    parsed = shared.parse_query(raw)
    page = max(1, min(page, 1000))
    if parsed.empty and not (filters.category or filters.canonical or filters.status or filters.date_from
                             or filters.date_to):
        return shared.SearchResults([], 0, page, per_page, parsed)
    sync_admin_entries()
    plan = build_plan(parsed, filters)
    if plan.nothing:
        return shared.SearchResults([], 0, page, per_page, parsed, [])
    offset = (page - 1) * per_page
    need = offset + per_page
    if sort in ORDERS:
        order, total, estimate = fetch(plan, sort, need)
    else:
        order, total, estimate = fetch(plan, "relevance", max(need, shared.RERANK))
        head = order[:shared.RERANK]
        if shared.USE_RERANK:
            head = sorted(head, key=lambda item: -shared.final_score(item[0], item[1]))
        order = head + order[shared.RERANK:]
    if total and len(order) <= offset and page > 1:
        total = max(total, len(order))
    window = [(None, score, fields) for score, fields in order[offset:offset + per_page]]
    hits = shared._to_hits(window, plan.terms, snippets, user)
    return shared.SearchResults(hits, total, page, per_page, parsed, plan.terms, total_is_estimate=estimate)


def similar_questions(text_: str, limit: int = 5, user=None, exclude_id: int | None = None):
    text_ = (text_ or "")[:current_app.config.get("QA_SIMILAR_TEXT_MAX", 2000)]
    if len(text_.strip()) < 2:
        return []
    sync_admin_entries()
    chosen, extra = text_terms(text_)
    if not (chosen or extra):
        return []
    plan = Plan()
    _scored(plan, text_, chosen, extra)
    order, _total, _estimate = fetch(plan, "relevance", limit + 10)
    order.sort(key=lambda item: -shared.final_score(item[0], item[1]))
    if exclude_id is not None:
        order = [o for o in order if o[1]["id"] != str(exclude_id)]
    return shared._to_hits([(None, s, f) for s, f in order[:limit]], plan.terms, snippets=False, user=user)
