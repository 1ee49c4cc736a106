"""Administration: users, roles and specialities, the unassigned queue, the procuratorate tree."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_
from sqlalchemy.orm import selectinload

from qa.admin.index_status import index_status
from qa.errors import ServiceError
from qa.extensions import db
from qa.forms import AssignForm, ConfirmForm, UserForm, attach_error, choices
from qa.main.views import question_list_options
from qa.models import Category, Procuratorate, Question, User, UserRole
from qa.permissions import ASSIGNABLE_ROLES, ROLE_NAMES, Permission, can, can_manage_org
from qa.services import accounts
from qa.services.orgs import subtree_ids
from qa.services.questions import assign_manually
from qa.services.routing import open_load, pool_orgs

bp = Blueprint("admin", __name__)
bp.add_app_template_global(index_status, "search_index_status")


@bp.before_request
@login_required
def require_admin():
    if not can(current_user, Permission.ADMINISTER):
        abort(403)


def _me():
    return current_user._get_current_object()


def _fill_choices(form: UserForm) -> None:
    form.roles.choices = choices((r, ROLE_NAMES[r]) for r in ASSIGNABLE_ROLES)
    form.specialities.choices = choices(
        (c.code, c.name) for c in db.session.execute(db.select(Category).order_by(Category.position)).scalars()
    )


@bp.route("/")
def index():
    return redirect(url_for("admin.users"))


@bp.route("/users")
def users():
    q = (request.args.get("q") or "").strip()[:50]
    role = request.args.get("role") or None
    stmt = (db.select(User).where(User.org_id.in_(subtree_ids(current_user.org)))  # own procuratorate and below
            .options(selectinload(User.org)).order_by(User.id))
    if q:
        like = f"%{q}%"
        stmt = stmt.join(Procuratorate, Procuratorate.id == User.org_id).where(
            or_(User.username.ilike(like), User.name.ilike(like), Procuratorate.name.ilike(like),
                Procuratorate.code == q))
    if role in ASSIGNABLE_ROLES:
        stmt = stmt.where(User.id.in_(db.select(UserRole.user_id).filter_by(role=role)))
    page = min(max(request.args.get("page", 1, type=int), 1), 10_000)
    pagination = db.paginate(stmt, page=page, per_page=30, max_per_page=100, error_out=False)
    return render_template("admin/users.html", pagination=pagination, q=q, role=role)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = UserForm()
    _fill_choices(form)
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                _me(), username=form.username.data, name=form.name.data, org_code=form.org_code.data,
                roles=form.roles.data, specialities=form.specialities.data,
                password=form.password.data or None,
            )
        except ServiceError as error:
            db.session.rollback()
            attach_error(form, error)
            status = error.status
        else:
            flash(f"已创建用户 {user.username}（{user.name}）。", "success")
            return redirect(url_for("admin.edit_user", username=user.username))
    elif form.is_submitted():
        status = 422
    return render_template("admin/user_form.html", form=form, user=None, orgs=_org_hints()), status


@bp.route("/users/<username>", methods=["GET", "POST"])
def edit_user(username: str):
    user = db.first_or_404(db.select(User).filter_by(username=username))
    if not can_manage_org(current_user, user.org):
        abort(403)
    form = UserForm(obj=user if request.method == "GET" else None)
    _fill_choices(form)
    if request.method == "GET":
        form.org_code.data = user.org.code
        form.roles.data = sorted(user.roles - {"asker"})
        form.specialities.data = sorted(user.specialities)
        form.active.data = user.active
    status = 200
    if form.validate_on_submit():
        try:
            accounts.update_user(_me(), user, name=form.name.data, org_code=form.org_code.data,
                                 roles=form.roles.data, specialities=form.specialities.data,
                                 active=form.active.data)
        except ServiceError as error:
            db.session.rollback()
            attach_error(form, error)
            status = error.status
        else:
            flash(f"已保存用户 {user.username} 的设置。", "success")
            return redirect(url_for("admin.edit_user", username=user.username))
    elif form.is_submitted():
        status = 422
    return render_template("admin/user_form.html", form=form, user=user, orgs=_org_hints(),
                           reset_form=ConfirmForm()), status


@bp.route("/users/<username>/password", methods=["POST"])
def reset_password(username: str):
    user = db.first_or_404(db.select(User).filter_by(username=username))
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    password = accounts.reset_password(_me(), user)
    return render_template("admin/password_reset.html", user=user, password=password)


def _org_hints() -> list[Procuratorate]:
    """Procuratorates for the code picker (datalist); the tree can be large, so levels 1-3 only."""
    return db.session.execute(
        db.select(Procuratorate).where(Procuratorate.level <= 3).order_by(Procuratorate.code).limit(500)
    ).scalars().all()


# The unassigned queue --------------------------------------------------------------------


def _visible_origin_ids() -> list[int]:
    return subtree_ids(current_user.org)


@bp.route("/queue")
def queue():
    """Questions no expert could be found for, from this admin's procuratorate and below."""
    items = db.session.execute(
        db.select(Question).where(Question.status == "pending", Question.org_id.in_(_visible_origin_ids()))
        .options(*question_list_options()).order_by(Question.id)
    ).scalars().all()
    forms = {}
    for question in items:
        form = AssignForm(prefix=f"q{question.id}")
        form.expert.choices = choices(expert_choices(question))
        forms[question.id] = form
    return render_template("admin/queue.html", items=items, forms=forms)


def expert_choices(question: Question) -> list[tuple[str, str]]:
    """Active experts of the procuratorates above the question's origin, least loaded first."""
    load = open_load()
    org_ids = [o.id for o in pool_orgs(question.org)]
    rows = db.session.execute(
        db.select(User, func.coalesce(load.c.load, 0))
        .join(UserRole, (UserRole.user_id == User.id) & (UserRole.role == "expert"))
        .outerjoin(load, load.c.expert_id == User.id)
        .where(User.active.is_(True), User.org_id.in_(org_ids), User.id != question.asker_id)
        .order_by(func.coalesce(load.c.load, 0), User.id)
        .options(selectinload(User.org))
    ).all()
    names = {c.code: c.name for c in db.session.execute(db.select(Category)).scalars()}
    return [
        (u.username, f"{u.name}（{u.org.name}；{'、'.join(names.get(s, s) for s in sorted(u.specialities)) or '未设专业'}；"
                     f"在办 {n}）")
        for u, n in rows
    ]


@bp.route("/queue/<number>/assign", methods=["POST"])
def assign(number: str):
    question = db.first_or_404(db.select(Question).filter_by(number=number))
    if question.org_id not in _visible_origin_ids():
        abort(403)
    form = AssignForm(prefix=f"q{question.id}")
    form.expert.choices = choices(expert_choices(question))
    if not form.validate_on_submit():
        flash("请选择一位答疑专家。", "danger")
        return redirect(url_for("admin.queue"))
    assign_manually(_me(), question, form.expert.data)
    flash(f"问题 {question.number} 已分派给 {question.assignee.name}。", "success")
    return redirect(url_for("admin.queue"))


# The procuratorate tree ------------------------------------------------------------------


@bp.route("/orgs")
def orgs():
    counts = dict(db.session.execute(db.select(User.org_id, func.count(User.id)).group_by(User.org_id)).all())
    roots = db.session.execute(
        db.select(Procuratorate).where(Procuratorate.parent_id.is_(None)).order_by(Procuratorate.code)
    ).scalars().all()
    total = db.session.execute(db.select(func.count(Procuratorate.id))).scalar_one()
    depth_limit = 4 if total <= 300 else 3
    return render_template("admin/orgs.html", roots=roots, counts=counts, depth_limit=depth_limit, total=total,
                           page_size=current_app.config["QA_PAGE_SIZE"])
