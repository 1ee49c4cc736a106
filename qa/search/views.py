"""Search pages: the search box and results, similar questions while asking, statute articles,
and the admins' dictionary page."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from qa.errors import ServiceError, ValidationError
from qa.extensions import db
from qa.models import STATUS_NAMES, Category
from qa.permissions import Permission, can
from qa.search import UNAVAILABLE, Filters, SearchUnavailable, run_search, similar_questions
from qa.search.citations import article_label, parse_statute
from qa.search.query import SORTS

bp = Blueprint("search", __name__)
PER_PAGE = 10


@bp.before_request
@login_required
def require_login():
    """Nothing is visible without logging in (internal system)."""


def _me():
    return current_user._get_current_object()


def _date(name: str) -> date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(name, "日期格式应为 YYYY-MM-DD。") from None


def filters_from_args(args) -> Filters:
    category = args.get("category") or None
    if category and db.session.get(Category, category) is None:
        category = None
    status = args.get("status") or None
    return Filters(category=category, canonical=args.get("canonical") in ("1", "true", "on", "yes"),
                   status=status if status in STATUS_NAMES else None,
                   date_from=_date("date_from"), date_to=_date("date_to"))


@bp.route("/search")
def search():
    q = request.args.get("q", "")
    sort = request.args.get("sort") if request.args.get("sort") in SORTS else "relevance"
    page = min(max(request.args.get("page", 1, type=int), 1), 1000)
    categories = db.session.execute(db.select(Category).order_by(Category.position)).scalars().all()
    error, results, status = None, None, 200
    try:
        filters = filters_from_args(request.args)
        results = run_search(q, filters, sort=sort, page=page, per_page=PER_PAGE, user=_me())
    except ValidationError as exc:
        error, status = exc.message, 400
    except SearchUnavailable:
        error, status = UNAVAILABLE, 503
    if results is not None and results.parsed and results.parsed.number and len(results.hits) == 1 \
            and not results.parsed.text:
        return redirect(url_for("questions.show", number=results.hits[0].number))
    return render_template("search/search.html", q=q, results=results, error=error, sort=sort, sorts=SORTS,
                           categories=categories, statuses=STATUS_NAMES, args=request.args), status


@bp.route("/search/similar")
def similar():
    """JSON for the ask form: similar answered threads as the title and body are typed (read-only GET)."""
    text = f"{request.args.get('title', '')}\n{request.args.get('text', '')}"[:2000]
    try:
        hits = similar_questions(text, limit=5, user=_me())
    except SearchUnavailable:
        return jsonify({"hits": [], "error": UNAVAILABLE}), 503
    return jsonify({"hits": [{
        "number": h.number, "title": h.question.title, "canonical": h.canonical,
        "url": url_for("questions.show", number=h.number), "category": h.question.category.name,
    } for h in hits]})


@bp.route("/laws/<law>/<article>")
def article(law: str, article: str):
    """A statute article: its text when laws are loaded, and the threads that cite it."""
    from qa.services.laws import citation_count, citing_questions, get_article

    parsed = parse_statute(f"{law}{article}")
    if parsed is None or parsed[1] is None:
        abort(404)
    name, number, sub = parsed
    if name != law:
        return redirect(url_for("search.article", law=name, article=article))
    law_row, article_row = get_article(name, number, sub)
    questions = citing_questions(name, number, sub)
    return render_template("search/article.html", law_name=name, label=article_label(number, sub),
                           law=law_row, article=article_row, questions=questions,
                           count=citation_count(name, number, sub), slug=article)


# Administration of the legal dictionary and synonyms ------------------------------------------


@bp.route("/admin/search/terms", methods=["GET", "POST"])
def admin_terms():
    if not can(current_user, Permission.ADMINISTER):
        abort(403)
    from flask_wtf import FlaskForm

    from qa.services.search_terms import add_search_term, list_search_terms

    form = FlaskForm()
    status, error = 200, None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            entry = add_search_term(_me(), request.form.get("kind", ""), request.form.get("word", ""),
                                    request.form.get("expansion", ""))
        except ServiceError as exc:
            if exc.status == 403:
                raise
            db.session.rollback()
            error, status = exc.message, exc.status
        else:
            flash(f"已添加词条“{entry.word}”。新增的词典词对此后写入索引的内容生效；"
                  "如需对全部历史内容生效，请执行 search rebuild。", "success")
            return redirect(url_for("search.admin_terms"))
    return render_template("search/admin_terms.html", form=form, entries=list_search_terms(), error=error,
                           values=request.form), status


@bp.route("/admin/search/terms/<int:entry_id>/delete", methods=["POST"])
def admin_delete_term(entry_id: int):
    if not can(current_user, Permission.ADMINISTER):
        abort(403)
    from flask_wtf import FlaskForm

    from qa.services.search_terms import remove_search_term

    if not FlaskForm().validate_on_submit():
        abort(400)
    remove_search_term(_me(), entry_id)
    flash("已删除词条。", "success")
    return redirect(url_for("search.admin_terms"))
