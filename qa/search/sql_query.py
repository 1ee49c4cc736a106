"""Queries on the SQL backend: the parsed query (query.parse_query) as an FTS5 MATCH expression or a
PostgreSQL tsquery, filters and sorts in SQL, then the shared re-ranking, visibility re-check and
escaped snippets of query.py (the same code paths as Whoosh for everything after the engine)."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from qa.extensions import db
from qa.search import query as shared
from qa.search.analysis import STOPWORDS, expansions, main_words, segment
from qa.search.citations import statute_key
from qa.search.index import SearchUnavailable
from qa.search.sql_backend import PREFIX, dialect, doc_frequencies, ensure_tables, key_token
from qa.services.search_terms import sync_admin_entries

TEXT_COLUMNS = "{title body subs}"
BM25_WEIGHTS = (0.25, 1.0, 1.0, 0.0)  # title, body, sub-words, keys (the title is in the body too)
PG_WEIGHTS = "{0.0, 0.4, 0.4, 1.0}"  # D keys, C sub-words, B body, A title (a title match counts most)


def _fts(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _pg(term: str, weights: str = "ABC", prefix: bool = False) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "':" + ("*" if prefix else "") + weights


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
        self.bonus: str | None = None  # PostgreSQL: a tsquery whose match multiplies the score

    def param(self, value) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"


def _select_terms(terms: list[str]) -> list[str]:
    """As the Whoosh plan: drop absent terms and very common ones when rarer exist; keep the rarest."""
    df, total = doc_frequencies(terms)
    scored = [(df[t], t) for t in terms if df.get(t)]
    rare = [(n, t) for n, t in scored if n <= shared.COMMON_DF * max(total, 1)]
    chosen = sorted(rare or scored)
    return [t for _n, t in chosen[:shared.MAX_TERMS]]


def text_terms(raw: str) -> tuple[list[str], list[str]]:
    """(chosen words, synonym expansions present in the index)."""
    words = list(dict.fromkeys(w for w, *_ in segment(raw)))
    chosen = _select_terms(words)
    extra = [t for t in expansions(raw) if t not in chosen] if shared.USE_SYNONYMS else []
    if extra:
        df, _total = doc_frequencies(extra)
        extra = [t for t in extra if df.get(t)]
    return chosen, extra


def _or(terms: list[str]) -> str:
    if dialect() == "postgresql":
        return "(" + " | ".join(_pg(t) for t in terms) + ")"
    return TEXT_COLUMNS + ": (" + " OR ".join(_fts(t) for t in terms) + ")"


def _pg_phrase(text_: str, weights: str) -> str | None:
    """Whole words in order at their distances (stopwords leave gaps in positions, as in the index)."""
    by_pos: dict[int, str] = {}
    for word, pos, _start, _end in segment(text_):
        by_pos[pos] = word  # the whole word comes last for its position
    positions = sorted(by_pos)
    if not positions:
        return None
    out = _pg(by_pos[positions[0]], weights)
    for before, pos in zip(positions, positions[1:], strict=False):
        out += f" <{pos - before}> " + _pg(by_pos[pos], weights)
    return f"({out})"


def _scored(plan: Plan, raw: str, chosen: list[str], extra: list[str]) -> None:
    """The OR of the words; a short text (a pasted title) also scores as a phrase in titles: one
    more phrase for bm25 on SQLite, a ×(1 + TITLE_PHRASE_BOOST) factor on PostgreSQL."""
    plan.scored = _or(chosen + extra)
    plan.terms = chosen + extra
    if len(raw) <= shared.TITLE_PHRASE_MAX and len(chosen) > 1:
        words = main_words(raw)
        if len(words) > 1:
            if dialect() == "postgresql":
                plan.bonus = _pg_phrase(raw, "A")
            else:
                plan.scored = f"({plan.scored} OR {{title}}: {_fts(' '.join(words))})"


def _phrase(words: list[str]) -> str:
    """SQLite: the body holds whole words without gaps, so a phrase is adjacent words."""
    if len(words) == 1:
        return TEXT_COLUMNS + ": " + _fts(words[0])
    return "{body}: " + _fts(" ".join(words))


def _key(token: str, prefix: bool = False) -> str:
    if dialect() == "postgresql":
        return _pg(token, "D", prefix)
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
            plan.must.append(_pg_phrase(phrase, "ABC" if len(words) == 1 else "B") if dialect() == "postgresql"
                             else _phrase(words))
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
            plan.exclude.append(" AND ".join(_or([w]) for w in words) if dialect() != "postgresql"
                                else "(" + " & ".join(_pg(w) for w in words) + ")")
    return plan


def _match_expression(plan: Plan) -> str | None:
    parts = ([plan.scored] if plan.scored else []) + plan.must
    if dialect() == "postgresql":
        if not parts:
            return None
        expression = " & ".join(parts)
        for excluded in plan.exclude:
            expression = f"({expression}) & !{excluded}"
        return expression
    return " AND ".join(f"({p})" for p in parts) if parts else None


def fetch(plan: Plan, sort: str, limit: int) -> tuple[list[tuple[float, dict]], int]:
    """(score, fields) of the first `limit` hits in the engine's order, and the exact total."""
    ensure_tables()
    expression = _match_expression(plan)
    where = list(plan.where)
    params = dict(plan.params)
    columns = "d.qid, d.canonical, d.superseded, d.quality, d.asked"
    if dialect() == "postgresql":
        source = f"{PREFIX}doc d"
        score = "0.0"
        if expression:
            params["tsq"] = expression
            where.insert(0, "d.tsv @@ CAST(:tsq AS tsquery)")
            if plan.scored:
                score = f"ts_rank_cd('{PG_WEIGHTS}', d.tsv, CAST(:tsq AS tsquery), 1)"
                if plan.bonus:
                    params["bonus"] = plan.bonus
                    score += (f" * (CASE WHEN d.tsv @@ CAST(:bonus AS tsquery) THEN {1 + shared.TITLE_PHRASE_BOOST}"
                              " ELSE 1 END)")
        elif plan.exclude:
            params["tsx"] = " | ".join(plan.exclude)
            where.append("NOT (d.tsv @@ CAST(:tsx AS tsquery))")
    else:
        if expression:  # bm25() only works in a plain query over the FTS table: match first, then join
            rank = f"-bm25({PREFIX}fts, {', '.join(map(str, BM25_WEIGHTS))})" if plan.scored else "0.0"
            source = (f"(SELECT rowid AS qid, {rank} AS rank FROM {PREFIX}fts WHERE {PREFIX}fts MATCH :m) m "
                      f"JOIN {PREFIX}doc d ON d.qid = m.qid")
            params["m"] = expression
            score = "m.rank"
        else:
            source, score = f"{PREFIX}doc d", "0.0"
        if plan.exclude:
            params["x"] = " OR ".join(f"({e})" for e in plan.exclude)
            where.append(f"d.qid NOT IN (SELECT rowid FROM {PREFIX}fts WHERE {PREFIX}fts MATCH :x)")
    order = {"newest": "d.asked DESC, d.qid DESC", "quality": "d.quality DESC, d.asked DESC, d.qid DESC"}.get(
        sort, "score DESC, d.qid DESC")
    sql = (f"SELECT {columns}, {score} AS score, count(*) OVER () AS total FROM {source}"
           + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order} LIMIT :limit")
    params["limit"] = limit
    try:
        with db.engine.connect() as conn:  # not the session's snapshot: see the latest drained batch
            rows = conn.execute(text(sql), params).all()
    except DBAPIError as error:  # damaged or missing search tables: a clean 503, `search rebuild` repairs
        raise SearchUnavailable(str(error.orig)) from error
    total = rows[0].total if rows else 0
    if not rows and limit > 0:
        total = 0
    out = [(float(r.score or 0.0), {"id": str(r.qid), "canonical": str(r.canonical), "superseded": str(r.superseded),
                                    "quality": r.quality}) for r in rows]
    return out, total


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
    if sort in ("newest", "quality"):
        order, total = fetch(plan, sort, need)
    else:
        order, total = fetch(plan, "relevance", max(need, shared.RERANK))
        head = order[:shared.RERANK]
        if shared.USE_RERANK:
            head = sorted(head, key=lambda item: -shared.final_score(item[0], item[1]))
        order = head + order[shared.RERANK:]
    if total and len(order) <= offset and page > 1:
        total = max(total, len(order))
    window = [(None, score, fields) for score, fields in order[offset:offset + per_page]]
    hits = shared._to_hits(window, plan.terms, snippets, user)
    return shared.SearchResults(hits, total, page, per_page, parsed, plan.terms)


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
    order, _total = fetch(plan, "relevance", limit + 10)
    order.sort(key=lambda item: -shared.final_score(item[0], item[1]))
    if exclude_id is not None:
        order = [o for o in order if o[1]["id"] != str(exclude_id)]
    return shared._to_hits([(None, s, f) for s, f in order[:limit]], plan.terms, snippets=False, user=user)
