"""API search calls: GET /api/v1/search and GET /api/v1/similar (registered on the API blueprint)."""
from __future__ import annotations

from flask import g, jsonify, request

from qa.api.views import bp
from qa.errors import ServiceError, ValidationError
from qa.search import UNAVAILABLE, Filters, SearchUnavailable, run_search, similar_questions
from qa.search.query import category_code

PER_PAGE = 10
SIMILAR_TEXT_MAX = 2000


class Unavailable(ServiceError):
    status = 503
    code = "search_unavailable"


def _hit_json(hit, snippet: bool = True) -> dict:
    data = {
        "number": hit.number,
        "title": hit.question.title,
        "category": hit.question.category_code,
        "canonical": hit.canonical,
        "score": hit.score,
    }
    if snippet:
        data["snippet"] = str(hit.snippet_html)  # HTML: text escaped, query terms in <mark>
    return data


def _flag(value: str | None) -> bool:
    if value in (None, "", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValidationError("canonical", "canonical 须为 true 或 false。")


@bp.get("/search")
def search():
    page = request.args.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= 1000:
        raise ValidationError("page", "page 须为 1–1000 的整数。")
    category = request.args.get("category") or None
    if category is not None:
        category = category_code(category)
        if category is None:
            raise ValidationError("category", "category 须为业务条线代码或名称，见 GET /api/v1/categories。")
    filters = Filters(category=category, canonical=_flag(request.args.get("canonical")))
    try:
        results = run_search(request.args.get("q", ""), filters, page=int(page), per_page=PER_PAGE,
                             user=g.api_user)
    except SearchUnavailable:
        raise Unavailable(UNAVAILABLE) from None
    return jsonify({"total": results.total, "total_is_estimate": results.total_is_estimate, "page": results.page,
                    "hits": [_hit_json(h) for h in results.hits]})


@bp.get("/similar")
def similar():
    text = request.args.get("text", "")
    if len(text) > SIMILAR_TEXT_MAX:
        raise ValidationError("text", f"text 最多 {SIMILAR_TEXT_MAX} 个字。")
    try:
        hits = similar_questions(text, limit=5, user=g.api_user)
    except SearchUnavailable:
        raise Unavailable(UNAVAILABLE) from None
    return jsonify({"hits": [_hit_json(h, snippet=False) for h in hits]})
