"""Home page, notifications and the Markdown preview used by the editors."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from qa.extensions import db
from qa.forms import ConfirmForm
from qa.markup import render_markdown
from qa.models import OPEN_STATUSES, Answer, Assignment, CanonicalAnswer, Notification, Question
from qa.services.notifications import mark_read

bp = Blueprint("main", __name__)

PREVIEW_MAX = 20_000


@bp.before_request
@login_required
def require_login():
    """Nothing is visible without logging in (internal system)."""


def question_list_options():
    return (selectinload(Question.category), selectinload(Question.asker), selectinload(Question.org),
            selectinload(Question.assignments).selectinload(Assignment.expert), selectinload(Question.tags))


@bp.route("/")
def index():
    latest_answered = db.session.execute(
        db.select(Question).where(Question.status.in_(("answered", "resolved")))
        .order_by(Question.answered_at.desc(), Question.id.desc()).limit(10)
        .options(*question_list_options())
    ).scalars().all()
    canonical = db.session.execute(
        db.select(CanonicalAnswer).where(CanonicalAnswer.status == "in_force")
        .order_by(CanonicalAnswer.created_at.desc()).limit(8)
        .options(selectinload(CanonicalAnswer.answer).selectinload(Answer.question).selectinload(Question.category))
    ).scalars().all()
    mine = db.session.execute(
        db.select(Question).filter_by(asker_id=current_user.id).order_by(Question.id.desc()).limit(5)
        .options(*question_list_options())
    ).scalars().all()
    inbox = []
    if current_user.has_role("expert"):
        inbox = db.session.execute(
            db.select(Question).join(Assignment)
            .where(Assignment.expert_id == current_user.id, Assignment.active.is_(True),
                   Question.status.in_(OPEN_STATUSES))
            .order_by(Question.due_at).limit(5).options(*question_list_options())
        ).scalars().all()
    return render_template("main/index.html", latest_answered=latest_answered, canonical=canonical,
                           mine=mine, inbox=inbox)


@bp.route("/notifications")
def notifications():
    page = request.args.get("page", 1, type=int)
    pagination = db.paginate(
        db.select(Notification).filter_by(user_id=current_user.id).order_by(Notification.id.desc())
        .options(selectinload(Notification.question)),
        page=min(max(page, 1), 10_000), per_page=30, max_per_page=100, error_out=False,
    )
    return render_template("main/notifications.html", pagination=pagination, form=ConfirmForm())


@bp.route("/notifications/read", methods=["POST"])
def notifications_read():
    form = ConfirmForm()
    if form.validate_on_submit():
        mark_read(current_user._get_current_object())
    return redirect(url_for("main.notifications"))


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
def follow_notification(notification_id: int):
    """Mark a notification read and go to its question (a POST: reading it changes state)."""
    note = db.get_or_404(Notification, notification_id)
    form = ConfirmForm()
    if note.user_id != current_user.id:
        abort(404)
    if not form.validate_on_submit():
        return redirect(url_for("main.notifications"))
    mark_read(current_user._get_current_object(), [note.id])
    if note.question is not None:
        return redirect(url_for("questions.show", number=note.question.number))
    return redirect(url_for("main.notifications"))


@bp.route("/markdown/preview", methods=["POST"])
def markdown_preview():
    """Render Markdown exactly as it will be stored (sanitized), for the live preview."""
    data = request.get_json(silent=True) or {}
    text = data.get("text", "")
    if not isinstance(text, str) or len(text) > PREVIEW_MAX:
        return jsonify({"error": {"code": "validation_error", "message": "内容过长，无法预览。"}}), 422
    return jsonify({"html": render_markdown(text)})
