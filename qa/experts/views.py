"""Expert directory, claimable questions, handling actions, the admins' expert pool, notification settings."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import or_

from qa.errors import ServiceError
from qa.experts.forms import (
    ConsultantForm,
    EscalateForm,
    ExpertForm,
    FollowForm,
    NotificationSettingsForm,
    ReasonForm,
    TransferForm,
)
from qa.extensions import db
from qa.forms import ConfirmForm, attach_error, choices, form_error
from qa.main.views import question_list_options
from qa.models import (
    Category,
    ExpertProfile,
    ExpertSpeciality,
    Notification,
    Procuratorate,
    Question,
    User,
    UserRole,
)
from qa.permissions import Permission, can_moderate, permission_required
from qa.services import experts as expert_service
from qa.services import follows, handling, mail
from qa.services.notifications import mark_read
from qa.services.orgs import subtree_ids
from qa.services.questions import get_question
from qa.services.routing import covering_codes, pool_orgs
from qa.timeutil import china_today

bp = Blueprint("experts", __name__)


@bp.before_request
@login_required
def require_login():
    """Nothing is visible without logging in (internal system)."""


def _me():
    return current_user._get_current_object()


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int), 1), 10_000)


def _question(number: str) -> Question:
    try:
        return get_question(number)
    except ServiceError:
        abort(404)


def _back(question: Question):
    return redirect(url_for("questions.show", number=question.number, _anchor="handling"))


def _act(question: Question, form, action, success: str):
    """Run a handling service for a POSTed form: 403 stays 403, other errors are flashed."""
    if not form.validate_on_submit():
        abort(400)
    try:
        action()
    except ServiceError as error:
        db.session.rollback()
        if error.status == 403:
            raise
        flash(error.message, "danger")
        return _back(question)
    flash(success, "success")
    return _back(question)


# Template helpers --------------------------------------------------------------------------


@bp.app_template_global()
def case_deadline_near(question: Question) -> bool:
    """Open, and the case deadline (办案期限) is within QA_CASE_DEADLINE_NEAR_DAYS."""
    if question.case_deadline is None or question.status not in ("pending", "assigned"):
        return False
    return question.case_deadline <= china_today() + timedelta(days=current_app.config["QA_CASE_DEADLINE_NEAR_DAYS"])


@bp.app_context_processor
def handling_helpers():
    return {"can_handle": handling.can_handle, "can_decline": handling.can_decline, "can_escalate": handling.can_escalate,
            "can_claim": handling.can_claim, "can_add_consultant": handling.can_add_consultant,
            "can_reopen": handling.can_reopen,
            "is_following": follows.is_following,
            "handling_forms": handling_forms, "transfer_candidates": transfer_candidates}


def handling_forms() -> dict:
    return {"transfer": TransferForm(prefix="transfer"), "decline": ReasonForm(prefix="decline"),
            "escalate": EscalateForm(prefix="escalate"), "consult": ConsultantForm(prefix="consult"),
            "follow": FollowForm(prefix="follow"), "claim": ConfirmForm(prefix="claim"),
            "reopen": ReasonForm(prefix="reopen")}


# Handling actions on a question ------------------------------------------------------------


@bp.route("/q/<number>/claim", methods=["POST"])
@permission_required(Permission.ANSWER)
def claim(number: str):
    question = _question(number)
    return _act(question, ConfirmForm(prefix="claim"), lambda: handling.claim_question(_me(), question),
                f"已认领问题 {question.number}，请于答复期限内答复。")


@bp.route("/q/<number>/transfer", methods=["POST"])
@permission_required(Permission.ANSWER)
def transfer(number: str):
    question = _question(number)
    if not handling.can_handle(_me(), question):
        abort(403)
    form = TransferForm(prefix="transfer")
    return _act(question, form, lambda: handling.transfer_question(_me(), question, form.to.data, form.reason.data),
                f"问题 {question.number} 已转交。")


@bp.route("/q/<number>/decline", methods=["POST"])
@permission_required(Permission.ANSWER)
def decline(number: str):
    question = _question(number)
    if not handling.can_decline(_me(), question):
        abort(403)
    form = ReasonForm(prefix="decline")
    return _act(question, form, lambda: handling.decline_question(_me(), question, form.reason.data),
                f"已退回问题 {question.number}，系统已重新分派。")


@bp.route("/q/<number>/escalate", methods=["POST"])
def escalate(number: str):
    question = _question(number)
    me = _me()
    if not handling.can_escalate(me, question):
        abort(403)
    form = EscalateForm(prefix="escalate")
    return _act(question, form,
                lambda: handling.escalate_question(me, question, form.reason.data, urgent=bool(form.urgent.data)),
                f"问题 {question.number} 已提请上级院办理。")


@bp.route("/q/<number>/reopen", methods=["POST"])
def reopen(number: str):
    question = _question(number)
    me = _me()
    if not (can_moderate(me) or question.asker_id == me.id):  # the rest (state, window) is the service's
        abort(403)
    form = ReasonForm(prefix="reopen")
    return _act(question, form, lambda: handling.reopen_question(me, question, form.reason.data),
                f"问题 {question.number} 已重新开启。")


@bp.route("/q/<number>/consultants", methods=["POST"])
def consult(number: str):
    question = _question(number)
    if not handling.can_add_consultant(_me(), question):
        abort(403)
    form = ConsultantForm(prefix="consult")
    return _act(question, form, lambda: handling.add_consultant(_me(), question, form.to.data),
                f"已邀请会商专家参与办理问题 {question.number}。")


@bp.route("/q/<number>/follow", methods=["POST"])
def follow(number: str):
    question = _question(number)
    form = FollowForm(prefix="follow")
    if not form.validate_on_submit() or form.action.data not in ("follow", "unfollow"):
        abort(400)
    on = form.action.data == "follow"
    follows.set_question_follow(_me(), question, on)
    flash("已关注该问题，有新答复时会通知您。" if on else "已取消关注该问题。", "success")
    return redirect(url_for("questions.show", number=question.number))


# Lists -------------------------------------------------------------------------------------


@bp.route("/experts")
def directory():
    """答疑专家名录: who answers, where, in what, with their quality and timeliness beside the count."""
    category = request.args.get("category") or None
    per_page = current_app.config["QA_PAGE_SIZE"]
    page = _page()
    rows = expert_service.pool_rows(category=category, limit=per_page + 1, offset=(page - 1) * per_page)
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    stats = expert_service.directory_stats([r.user.id for r in rows])
    categories = db.session.execute(db.select(Category).where(Category.parent_code.is_(None))
                                    .order_by(Category.position)).scalars().all()
    return render_template("experts/directory.html", rows=rows, stats=stats, categories=categories,
                           category=category, page=page, has_next=has_next)


@bp.route("/experts/claimable")
@permission_required(Permission.ANSWER)
def claimable():
    """Unassigned questions in my specialities from procuratorates below mine, case deadline first."""
    me = _me()
    lines = set(me.specialities)
    covered = db.select(Category.code).where(or_(Category.code.in_(lines), Category.parent_code.in_(lines)))
    below = [i for i in subtree_ids(me.org) if i != me.org_id or me.org.parent_id is None]
    stmt = (
        db.select(Question)
        .where(Question.status == "pending", Question.category_code.in_(covered), Question.org_id.in_(below),
               Question.asker_id != me.id)
        .options(*question_list_options())
        .order_by(Question.case_deadline.is_(None), Question.case_deadline, Question.id)
        .limit(200)
    )
    items = [q for q in db.session.execute(stmt).scalars() if handling.claim_problem(me, q) is None]
    return render_template("experts/claimable.html", items=items, claim_form=ConfirmForm(prefix="claim"),
                           unavailable=handling.unavailable_reason(me))


# Admin: the expert pool --------------------------------------------------------------------


@bp.route("/admin/experts")
@permission_required(Permission.ADMINISTER)
def pool():
    """Experts of this admin's procuratorate and those below it, by level."""
    category = request.args.get("category") or None
    rows = expert_service.pool_rows(org_ids=subtree_ids(current_user.org), category=category, limit=500)
    categories = db.session.execute(db.select(Category).order_by(Category.position)).scalars().all()
    return render_template("experts/pool.html", rows=rows, categories=categories, category=category)


@bp.route("/admin/experts/<expert_username>", methods=["GET", "POST"])
@permission_required(Permission.ADMINISTER)
def edit_expert(expert_username: str):
    user = db.first_or_404(db.select(User).filter_by(username=expert_username))
    if user.org_id not in subtree_ids(current_user.org) or not user.has_role("expert"):
        abort(404)
    profile = db.session.get(ExpertProfile, user.id)
    form = ExpertForm()
    form.specialities.choices = choices(
        (c.code, c.full_name) for c in db.session.execute(db.select(Category).order_by(Category.position)).scalars())
    if request.method == "GET":
        form.capacity.data = profile.capacity if profile else None
        form.leave_until.data = profile.leave_until if profile else None
        form.term_start.data = profile.term_start if profile else None
        form.term_end.data = profile.term_end if profile else None
        form.note.data = profile.note if profile else ""
        form.specialities.data = sorted(user.specialities)
        form.tags.data = "，".join(expert_service.expert_tags(user))
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                expert_service.update_expert(
                    _me(), user, capacity=form.capacity.data, leave_until=form.leave_until.data,
                    term_start=form.term_start.data, term_end=form.term_end.data, tags=form.tags.data or "",
                    specialities=form.specialities.data or [], note=form.note.data)
            except ServiceError as error:
                status = form_error(form, error)
            else:
                flash(f"已保存答疑专家 {user.name} 的设置。", "success")
                return redirect(url_for("experts.pool"))
        else:
            status = 422
    load = handling.open_load_of(user)
    return render_template("experts/edit.html", form=form, user=user, load=load), status


# Notifications -----------------------------------------------------------------------------


@bp.route("/settings/notifications", methods=["GET", "POST"])
def settings():
    me = _me()
    pref = mail.preference_of(me)
    form = NotificationSettingsForm()
    form.categories.choices = choices(
        (c.code, c.full_name) for c in db.session.execute(db.select(Category).order_by(Category.position)).scalars())
    if request.method == "GET":
        form.email.data = pref.email or ""
        form.email_mode.data = pref.email_mode
        form.categories.data = sorted(follows.followed_categories(me))
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                mail.update_preferences(me, email=form.email.data, mode=form.email_mode.data)
                follows.set_category_follows(me, form.categories.data or [])
            except ServiceError as error:
                db.session.rollback()
                attach_error(form, error)
                status = error.status
            else:
                flash("通知设置已保存。", "success")
                return redirect(url_for("experts.settings"))
        else:
            status = 422
    return render_template("experts/settings.html", form=form, mail_enabled=mail.mail_enabled()), status


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
def notification_read(notification_id: int):
    """Mark one notification read without leaving the list."""
    note = db.get_or_404(Notification, notification_id)
    if note.user_id != current_user.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        mark_read(_me(), [note.id])
    return redirect(url_for("main.notifications"))


def transfer_candidates(question: Question) -> list[User]:
    """Experts a question may be handed to (for a datalist): active experts of the pool
    procuratorates whose specialities cover the question's business line."""
    return list(db.session.execute(
        db.select(User).join(UserRole, (UserRole.user_id == User.id) & (UserRole.role == "expert"))
        .join(Procuratorate, Procuratorate.id == User.org_id)
        .where(User.active.is_(True), User.org_id.in_([o.id for o in pool_orgs(question.org)]),
               User.id != question.asker_id,
               db.exists().where(ExpertSpeciality.user_id == User.id,
                                 ExpertSpeciality.category_code.in_(covering_codes(question.category))))
        .order_by(Procuratorate.level.desc(), User.id).limit(200)
    ).scalars())
