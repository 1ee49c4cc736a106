"""Quality pages: the moderation queue, rating revisions, votes, flags, hiding, edits, history, closing."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from qa.errors import ServiceError
from qa.extensions import db
from qa.forms import ConfirmForm, attach_error
from qa.models import LEVEL_NAMES, RATING_CRITERIA, AnswerFlag
from qa.permissions import (
    Permission,
    can,
    can_close,
    can_edit_answer,
    can_edit_question,
    can_moderate,
    can_rate,
)
from qa.quality.forms import (
    CloseForm,
    EditAnswerForm,
    EditQuestionForm,
    FlagForm,
    ReasonForm,
    ResolveFlagForm,
    ReviseRatingForm,
)
from qa.questions.views import category_choices, load_answer, load_thread
from qa.services import quality
from qa.services.revisions import edit_answer as edit_answer_service
from qa.services.revisions import edit_question as edit_question_service
from qa.services.revisions import thread_history

bp = Blueprint("quality", __name__)


@bp.before_request
@login_required
def require_login():
    """Nothing is visible without logging in (internal system)."""


def _me():
    return current_user._get_current_object()


def _back(answer, anchor: bool = True):
    return redirect(url_for("questions.show", number=answer.question.number,
                            _anchor=f"answer-{answer.id}" if anchor else None))


def _form_page(form, template: str, service, success: str, target, **context):
    """GET shows the form; POST calls the service; its errors go next to the fields."""
    status = 200
    if form.is_submitted():
        try:
            service()
        except ServiceError as error:
            if error.status in (403, 404):
                raise
            db.session.rollback()
            attach_error(form, error)
            status = error.status
        else:
            flash(success, "success")
            return redirect(target)
    return render_template(template, form=form, **context), status


# The moderation queue ----------------------------------------------------------------------


@bp.route("/moderation")
def moderation():
    """质量评查: answers waiting for this moderator's rating (unrated first, newest first) and open flags."""
    user = _me()
    if not can_moderate(user):
        abort(403)
    category = request.args.get("category") or None
    level = request.args.get("level", type=int)
    level = level if level in LEVEL_NAMES else None
    pagination = None
    if can(user, Permission.RATE):
        page = min(max(request.args.get("page", 1, type=int), 1), 10_000)
        pagination = db.paginate(quality.moderation_queue(user, category, level), page=page,
                                 per_page=current_app.config["QA_PAGE_SIZE"], max_per_page=100, error_out=False)
    return render_template("quality/moderation.html", pagination=pagination, flags=quality.open_flags(category, level),
                           categories=category_choices(), category=category, level=level,
                           levels=[(k, v) for k, v in LEVEL_NAMES.items() if k < 4], resolve_form=ResolveFlagForm())


@bp.route("/flags/<int:flag_id>/resolve", methods=["POST"])
def resolve_flag(flag_id: int):
    flag = db.get_or_404(AnswerFlag, flag_id)
    form = ResolveFlagForm()
    quality.resolve_flag(_me(), flag, form.decision.data == "upheld", form.note.data)
    flash(f"已处理对问题 {flag.answer.question.number} 答复的举报。", "success")
    return redirect(url_for("quality.moderation"))


# Ratings, votes, flags ---------------------------------------------------------------------


@bp.route("/answers/<int:answer_id>/rating/revise", methods=["GET", "POST"])
def revise_rating(answer_id: int):
    answer = load_answer(answer_id)
    user = _me()
    if not can_rate(user, answer):
        abort(403)
    rating = quality.my_rating(user, answer)
    if rating is None:
        return redirect(url_for("questions.rate", answer_id=answer.id))
    form = ReviseRatingForm()
    if request.method == "GET":
        for key in RATING_CRITERIA:
            getattr(form, key).data = str(getattr(rating, key))
        form.comment.data = rating.comment

    def service():
        scores = {key: getattr(form, key).data for key in RATING_CRITERIA}
        quality.revise_rating(user, answer, scores, form.comment.data, form.reason.data)

    return _form_page(form, "quality/revise_rating.html", service, f"已修订对问题 {answer.question.number} 答复的质量评定。",
                      url_for("questions.show", number=answer.question.number, _anchor=f"answer-{answer.id}"),
                      answer=answer, rating=rating, history=quality.rating_history(rating))


@bp.route("/answers/<int:answer_id>/helpful", methods=["POST"])
def helpful(answer_id: int):
    answer = load_answer(answer_id)
    ConfirmForm()  # CSRF is checked by CSRFProtect for every POST
    quality.vote_helpful(_me(), answer)
    flash("感谢您的反馈：已标记该答复“有用”。", "success")
    return _back(answer)


@bp.route("/answers/<int:answer_id>/helpful/withdraw", methods=["POST"])
def helpful_withdraw(answer_id: int):
    answer = load_answer(answer_id)
    ConfirmForm()  # CSRF is checked by CSRFProtect for every POST
    quality.withdraw_helpful(_me(), answer)
    flash("已撤回您对该答复的“有用”标记。", "success")
    return _back(answer)


@bp.route("/answers/<int:answer_id>/flag", methods=["GET", "POST"])
def flag(answer_id: int):
    answer = load_answer(answer_id)
    form = FlagForm()

    def service():
        quality.flag_answer(_me(), answer, form.kind.data, form.reason.data)

    if answer.author_id == _me().id:
        abort(403)
    return _form_page(form, "quality/flag.html", service, "举报已提交，质量评查员将予核查。",
                      url_for("questions.show", number=answer.question.number, _anchor=f"answer-{answer.id}"),
                      answer=answer)


# Hiding and reviewing ----------------------------------------------------------------------


@bp.route("/answers/<int:answer_id>/hide", methods=["GET", "POST"])
def hide(answer_id: int):
    answer = load_answer(answer_id)
    if not can_moderate(_me()) or answer.author_id == _me().id:
        abort(403)
    form = ReasonForm()

    def service():
        quality.hide_answer(_me(), answer, form.reason.data)

    return _form_page(form, "quality/hide.html", service, "答复已隐藏（未删除，质量评查员和管理员仍可查看）。",
                      url_for("questions.show", number=answer.question.number, _anchor=f"answer-{answer.id}"),
                      answer=answer)


@bp.route("/answers/<int:answer_id>/unhide", methods=["POST"])
def unhide(answer_id: int):
    answer = load_answer(answer_id)
    form = ReasonForm()
    quality.unhide_answer(_me(), answer, form.reason.data or "恢复显示")
    flash("答复已恢复显示。", "success")
    return _back(answer)


@bp.route("/answers/<int:answer_id>/review", methods=["POST"])
def review(answer_id: int):
    answer = load_answer(answer_id)
    quality.mark_reviewed(_me(), answer)
    flash("已标记为“经业务部门审核”。", "success")
    return _back(answer)


# Edits and their history -------------------------------------------------------------------


@bp.route("/q/<number>/edit", methods=["GET", "POST"])
def edit_question(number: str):
    question = load_thread(number)
    if not can_edit_question(_me(), question):
        abort(403)
    form = EditQuestionForm()
    if request.method == "GET":
        form.title.data, form.body.data = question.title, question.body_md

    def service():
        edit_question_service(_me(), question, title=form.title.data, body=form.body.data, reason=form.reason.data)

    return _form_page(form, "quality/edit_question.html", service, f"问题 {question.number} 已修改，原文保留在修订记录中。",
                      url_for("questions.show", number=question.number), question=question)


@bp.route("/answers/<int:answer_id>/edit", methods=["GET", "POST"])
def edit_answer(answer_id: int):
    answer = load_answer(answer_id)
    if not can_edit_answer(_me(), answer):
        abort(403)
    form = EditAnswerForm()
    if request.method == "GET":
        form.body.data = answer.body_md

    def service():
        edit_answer_service(_me(), answer, body=form.body.data, reason=form.reason.data)

    return _form_page(form, "quality/edit_answer.html", service, "答复已修改，原文保留在修订记录中。",
                      url_for("questions.show", number=answer.question.number, _anchor=f"answer-{answer.id}"),
                      answer=answer)


@bp.route("/q/<number>/history")
def history(number: str):
    """修订记录: every version of the thread's texts with side-by-side diffs."""
    question = load_thread(number)
    return render_template("quality/history.html", question=question, histories=thread_history(_me(), question))


# Closing -----------------------------------------------------------------------------------


@bp.route("/q/<number>/close", methods=["GET", "POST"])
def close(number: str):
    question = load_thread(number)
    user = _me()
    if not can_close(user, question):
        abort(403)
    form = CloseForm()
    if not can_moderate(user):
        form.reason.choices = [c for c in form.reason.choices if c.value in ("", "withdrawn")]

    def service():
        quality.close_question(user, question, form.reason.data, form.note.data, form.duplicate_of.data)

    return _form_page(form, "quality/close.html", service, f"问题 {question.number} 已关闭。",
                      url_for("questions.show", number=question.number, stay=1), question=question)


# Template helpers for the thread page ------------------------------------------------------


@bp.app_context_processor
def quality_helpers():
    from qa.permissions import can_flag, can_review, can_vote

    return {"can_moderate": can_moderate, "can_vote": can_vote, "can_flag": can_flag, "can_review": can_review,
            "can_edit_question": can_edit_question, "can_edit_answer": can_edit_answer, "can_close": can_close,
            "duplicates_of": _duplicates_of, "canonicals_of": _canonicals_of}


def _duplicates_of(question):
    from qa.models import Question

    return db.session.execute(db.select(Question).filter_by(duplicate_of_id=question.id).order_by(Question.id)).scalars().all()


def _canonicals_of(question):
    from qa.models import CanonicalAnswer

    return db.session.execute(db.select(CanonicalAnswer).filter_by(question_id=question.id)
                              .order_by(CanonicalAnswer.id)).scalars().all()
