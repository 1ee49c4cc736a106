"""Asking, reading a thread, answering, accepting, rating, curating; the lists around them."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import and_, func
from sqlalchemy.orm import selectinload

from qa.errors import NotFound, ServiceError
from qa.extensions import db
from qa.forms import (
    AcceptForm,
    AnswerForm,
    AskForm,
    CanonicalForm,
    RatingForm,
    SupplementForm,
    attach_error,
    choices,
    form_error,
)
from qa.main.views import question_list_options
from qa.models import (
    OPEN_STATUSES,
    STATUS_NAMES,
    Answer,
    Assignment,
    AuditEvent,
    Category,
    Question,
    Rating,
)
from qa.permissions import Permission, can, can_answer, can_curate, can_rate, can_supplement, permission_required
from qa.services import answers as answer_service
from qa.services import questions as question_service
from qa.trail import TRAIL_LABELS

bp = Blueprint("questions", __name__)


@bp.before_request
@login_required
def require_login():
    """Nothing is visible without logging in (internal system)."""


def category_choices() -> list[tuple[str, str]]:
    categories = db.session.execute(db.select(Category).order_by(Category.position)).scalars()
    return [(c.code, ("　└ " if c.parent_code else "") + c.name) for c in categories]


def _page() -> int:
    page = request.args.get("page", 1, type=int)
    return min(max(page, 1), 10_000)


def _me():
    return current_user._get_current_object()


# Asking ----------------------------------------------------------------------------------


@bp.route("/ask", methods=["GET", "POST"])
@permission_required(Permission.ASK)
def ask():
    form = AskForm()
    form.category.choices = choices([("", "请选择业务条线")] + category_choices())
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                question = question_service.ask_question(
                    _me(), title=form.title.data, body=form.body.data, category=form.category.data,
                    tags=form.tags.data, case_deadline=form.case_deadline.data,
                    law_not_facts=form.law_not_facts.data, not_classified=form.not_classified.data,
                    submission_key=form.submission_key.data or None,
                )
            except ServiceError as error:
                db.session.rollback()
                attach_error(form, error)
                status = error.status
            else:
                if question.assignee is not None:
                    flash(f"问题已提交，编号 {question.number}，已分派给{question.assignee.org.name}"
                          f"{question.assignee.name}，请于答复期限内关注。", "success")
                else:
                    flash(f"问题已提交，编号 {question.number}。暂无对口答疑专家，已转管理员人工分派。", "warning")
                return redirect(url_for("questions.show", number=question.number))
        else:
            status = 422
    return render_template("questions/ask.html", form=form), status


# A thread --------------------------------------------------------------------------------


def load_thread(number: str) -> Question:
    try:
        question = question_service.get_question(number)
    except NotFound:
        abort(404)
    return question


def ordered_answers(question: Question) -> list[Answer]:
    """Canonical answers first, then the accepted one, then by time."""
    return sorted(question.answers,
                  key=lambda a: (not a.is_canonical, a.id != question.accepted_answer_id, a.id))


def render_thread(question: Question, status: int = 200, **forms):
    user = _me()
    trail = db.session.execute(
        db.select(AuditEvent).filter_by(question_id=question.id).where(AuditEvent.action.in_(TRAIL_LABELS))
        .order_by(AuditEvent.id)
        .options(selectinload(AuditEvent.actor), selectinload(AuditEvent.actor_org))
    ).scalars().all()
    my_ratings = set(db.session.execute(
        db.select(Rating.answer_id).join(Answer).where(Answer.question_id == question.id, Rating.rater_id == user.id)
    ).scalars())
    answer_form = forms.get("answer_form") or (AnswerForm() if can_answer(user, question) else None)
    supplement_form = forms.get("supplement_form") or (SupplementForm() if can_supplement(user, question) else None)
    from qa.permissions import can_moderate
    from qa.services.quality import helpful_counts, my_votes

    answers = ordered_answers(question)
    hidden_count = sum(1 for a in answers if a.is_hidden)
    if not can_moderate(user):
        answers = [a for a in answers if not a.is_hidden]
    ids = [a.id for a in answers]
    return render_template(
        "questions/show.html", question=question, answers=answers, trail=trail, hidden_count=hidden_count,
        helpful=helpful_counts(ids), my_votes=my_votes(user, ids),
        answer_form=answer_form, supplement_form=supplement_form, accept_form=AcceptForm(),
        my_ratings=my_ratings,
    ), status


@bp.route("/q/<number>")
def show(number: str):
    question = load_thread(number)
    if question.duplicate_of_id is not None and not request.args.get("stay"):
        from qa.services.quality import final_target

        target = final_target(question)
        flash(f"问题 {question.number} 已作为重复问题关闭，与问题 {target.number} 相同，已为您转到该问题。"
              f"（{question.close_note or ''}）", "info")
        return redirect(url_for("questions.show", number=target.number, _anchor=f"dup-{question.number}"))
    return render_thread(question)


@bp.route("/q/<number>/supplements", methods=["POST"])
def supplement(number: str):
    question = load_thread(number)
    form = SupplementForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        question_service.add_supplement(_me(), question, form.body.data, form.submission_key.data or None)
    except ServiceError as error:
        return render_thread(question, form_error(form, error), supplement_form=form)
    flash(f"已为问题 {question.number} 补充说明。", "success")
    return redirect(url_for("questions.show", number=number))


@bp.route("/q/<number>/answers", methods=["POST"])
def answer(number: str):
    question = load_thread(number)
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        posted = answer_service.post_answer(_me(), question, form.body.data,
                                              form.submission_key.data or None)
    except ServiceError as error:
        return render_thread(question, form_error(form, error), answer_form=form)
    flash(f"已答复问题 {question.number}，提问人已收到通知。", "success")
    return redirect(url_for("questions.show", number=number, _anchor=f"answer-{posted.id}"))


@bp.route("/q/<number>/accept", methods=["POST"])
def accept(number: str):
    question = load_thread(number)
    form = AcceptForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        answer_id = int(form.answer_id.data)
    except (TypeError, ValueError):
        answer_id = None  # the service says why, after checking who is asking
    question_service.accept_answer(_me(), question, answer_id)
    flash(f"已采纳答复，问题 {question.number} 已办结。", "success")
    return redirect(url_for("questions.show", number=number))


# Rating and curation ---------------------------------------------------------------------


def load_answer(answer_id: int) -> Answer:
    return db.get_or_404(Answer, answer_id)


@bp.route("/answers/<int:answer_id>/rate", methods=["GET", "POST"])
@permission_required(Permission.RATE)
def rate(answer_id: int):
    answer = load_answer(answer_id)
    if not can_rate(_me(), answer):
        abort(403)
    form = RatingForm()
    status = 200
    if form.is_submitted():
        scores = {key: getattr(form, key).data for key in ("accuracy", "basis", "relevance", "clarity")}
        try:
            answer_service.rate_answer(_me(), answer, scores, form.comment.data)
        except ServiceError as error:
            status = form_error(form, error)
        else:
            flash(f"已提交对问题 {answer.question.number} 答复的质量评定。", "success")
            return redirect(url_for("questions.show", number=answer.question.number, _anchor=f"answer-{answer.id}"))
    return render_template("questions/rate.html", form=form, answer=answer), status


@bp.route("/answers/<int:answer_id>/canonical", methods=["GET", "POST"])
@permission_required(Permission.CURATE)
def canonical(answer_id: int):
    answer = load_answer(answer_id)
    if not can_curate(_me(), answer):
        abort(403)
    form = CanonicalForm()
    if request.method == "GET":
        form.text.data = answer.body_md
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                answer_service.mark_canonical(_me(), answer, form.text.data, form.effective_date.data)
            except ServiceError as error:
                status = form_error(form, error)
            else:
                flash(f"问题 {answer.question.number} 的答复已列为权威答复。", "success")
                return redirect(url_for("questions.show", number=answer.question.number))
        else:
            status = 422
    return render_template("questions/canonical.html", form=form, answer=answer), status


# Lists -----------------------------------------------------------------------------------


@bp.route("/questions")
def browse():
    category = request.args.get("category") or None
    status = request.args.get("status") or None
    stmt = db.select(Question).options(*question_list_options()).order_by(Question.id.desc())
    if category:
        stmt = stmt.join(Category).where((Category.code == category) | (Category.parent_code == category))
    if status in STATUS_NAMES:
        stmt = stmt.where(Question.status == status)
    pagination = db.paginate(stmt, page=_page(), per_page=current_app.config["QA_PAGE_SIZE"],
                             max_per_page=100, error_out=False)
    return render_template("questions/list.html", pagination=pagination, categories=category_choices(),
                           category=category, status=status, title="全部问题", endpoint="questions.browse")


@bp.route("/my/questions")
def mine():
    stmt = (db.select(Question).filter_by(asker_id=current_user.id)
            .options(*question_list_options()).order_by(Question.id.desc()))
    pagination = db.paginate(stmt, page=_page(), per_page=current_app.config["QA_PAGE_SIZE"],
                             max_per_page=100, error_out=False)
    return render_template("questions/list.html", pagination=pagination, title="我的提问",
                           endpoint="questions.mine", categories=None)


@bp.route("/inbox")
@permission_required(Permission.ANSWER)
def inbox():
    """The expert's queue: questions they are responsible for, by due date (overdue first)."""
    stmt = (
        db.select(Question).join(Assignment, and_(Assignment.question_id == Question.id,
                                                  Assignment.active.is_(True)))
        .where(Assignment.expert_id == current_user.id, Question.status.in_(OPEN_STATUSES))
        .options(*question_list_options()).order_by(Question.due_at, Question.id)
    )
    items = db.session.execute(stmt).scalars().all()
    answered = db.session.execute(
        db.select(func.count(func.distinct(Answer.question_id))).filter_by(author_id=current_user.id)
    ).scalar_one()
    return render_template("questions/inbox.html", items=items, answered=answered)


@bp.app_template_global()
def may(permission_name: str) -> bool:
    return can(current_user, Permission[permission_name])
