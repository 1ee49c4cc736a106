"""The knowledge base (知识库), canonical answers' editorial pages, and 集萃 batches with their exports."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from qa.errors import NotFound, ServiceError
from qa.extensions import db
from qa.forms import ConfirmForm, attach_error, choices
from qa.knowledge.forms import (
    AddItemForm,
    BatchForm,
    CorrectionForm,
    CurateForm,
    EditCanonicalForm,
    ItemForm,
    PublishForm,
    StatusForm,
)
from qa.models import Batch, BatchItem, CanonicalAnswer
from qa.permissions import Permission, can, can_curate
from qa.questions.views import category_choices, load_thread
from qa.services import batches as batch_service
from qa.services import knowledge as knowledge_service

bp = Blueprint("knowledge", __name__)


@bp.before_request
@login_required
def require_login():
    """Nothing is visible without logging in (internal system)."""


def _me():
    return current_user._get_current_object()


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int), 1), 10_000)


def _require_curator():
    if not can(current_user, Permission.CURATE):
        abort(403)


def _load_canonical(canonical_id: int) -> CanonicalAnswer:
    return db.get_or_404(CanonicalAnswer, canonical_id)


def _submit(form, service, status_on_error: int = 422):
    """Call the service for a submitted form; return None on success, else the HTTP status."""
    try:
        service()
    except ServiceError as error:
        if error.status in (403, 404):
            raise
        db.session.rollback()
        attach_error(form, error)
        return error.status
    return None


# The knowledge base ------------------------------------------------------------------------


@bp.route("/knowledge")
def index():
    """知识库: canonical answers by business line and topic, newest first."""
    category = request.args.get("category") or None
    topic = (request.args.get("topic") or "").strip()[:40] or None
    include_inactive = request.args.get("all") == "1"
    stmt = knowledge_service.knowledge_query(category, topic, include_inactive)
    pagination = db.paginate(stmt, page=_page(), per_page=current_app.config["QA_PAGE_SIZE"], max_per_page=100,
                             error_out=False)
    return render_template("knowledge/index.html", pagination=pagination, categories=category_choices(),
                           category=category, topic=topic, include_inactive=include_inactive,
                           topics=knowledge_service.topics(category))


@bp.route("/knowledge/<int:canonical_id>")
def show(canonical_id: int):
    canonical = _load_canonical(canonical_id)
    predecessors = db.session.execute(db.select(CanonicalAnswer).filter_by(superseded_by_id=canonical.id)).scalars().all()
    return render_template("knowledge/show.html", c=canonical, predecessors=predecessors)


@bp.route("/q/<number>/curate", methods=["GET", "POST"])
def curate(number: str):
    """An admin turns a thread into a canonical answer (merging answers if useful)."""
    _require_curator()
    question = load_thread(number)
    user = _me()
    candidates = [a for a in question.answers if can_curate(user, a) and not a.is_hidden]
    form = CurateForm()
    form.answers.choices = choices((a.id, f"{a.author.name}（{a.author.org.name}）的答复") for a in candidates)
    form.category.choices = choices(category_choices())
    status = 200
    if request.method == "GET":
        chosen = request.args.get("answer", type=int)
        picked = [a for a in candidates if a.id == chosen] or candidates[:1]
        form.answers.data = [a.id for a in picked]
        form.text.data = "\n\n".join(a.body_md for a in picked)
        form.title.data = question.title
        form.category.data = question.category_code
    elif form.validate_on_submit():
        supersedes = None
        if form.supersedes.data:
            supersedes = db.session.get(CanonicalAnswer, form.supersedes.data)
            if supersedes is None:
                form.supersedes.errors = ["该权威答复不存在。"]
                status = 422
        if status == 200:
            status = _submit(form, lambda: knowledge_service.curate_canonical(
                user, question, form.answers.data or [], text=form.text.data, title=form.title.data,
                legal_basis=form.legal_basis.data, effective_date=form.effective_date.data,
                category=form.category.data, topic=form.topic.data, supersedes=supersedes))
            if status is None:
                flash(f"问题 {question.number} 已整理为权威答复，进入知识库。", "success")
                return redirect(url_for("questions.show", number=question.number))
    else:
        status = 422
    return render_template("knowledge/curate.html", form=form, question=question, candidates=candidates), status


@bp.route("/knowledge/<int:canonical_id>/edit", methods=["GET", "POST"])
def edit(canonical_id: int):
    _require_curator()
    canonical = _load_canonical(canonical_id)
    if not can_curate(_me(), canonical.answer):
        abort(403)
    form = EditCanonicalForm()
    form.category.choices = choices(category_choices())
    status = 200
    if request.method == "GET":
        form.title.data, form.text.data, form.legal_basis.data = canonical.display_title, canonical.text_md, \
            canonical.legal_basis
        form.category.data = canonical.category_code or canonical.question.category_code
        form.topic.data, form.effective_date.data = canonical.topic, canonical.effective_date
    elif form.validate_on_submit():
        status = _submit(form, lambda: knowledge_service.edit_canonical(
            _me(), canonical, text=form.text.data, reason=form.reason.data, title=form.title.data,
            legal_basis=form.legal_basis.data, effective_date=form.effective_date.data,
            category=form.category.data, topic=form.topic.data))
        if status is None:
            flash("权威答复已修改，原文本保留在修订记录中。", "success")
            return redirect(url_for("knowledge.show", canonical_id=canonical.id))
    else:
        status = 422
    return render_template("knowledge/edit.html", form=form, c=canonical), status


@bp.route("/knowledge/<int:canonical_id>/status", methods=["GET", "POST"])
def change_status(canonical_id: int):
    _require_curator()
    canonical = _load_canonical(canonical_id)
    form = StatusForm()
    status = 200
    if form.is_submitted():
        status = _submit(form, lambda: knowledge_service.change_canonical_status(
            _me(), canonical, form.status.data, form.note.data, form.successor.data))
        if status is None:
            flash(f"权威答复已变更为“{canonical.status_name}”。", "success")
            return redirect(url_for("knowledge.show", canonical_id=canonical.id))
    others = db.session.execute(db.select(CanonicalAnswer).where(
        CanonicalAnswer.status == "in_force", CanonicalAnswer.id != canonical.id)
        .order_by(CanonicalAnswer.id.desc()).limit(200)).scalars().all()
    return render_template("knowledge/status.html", form=form, c=canonical, others=others), status


# 集萃 batches -------------------------------------------------------------------------------


def _load_batch(batch_id: int) -> Batch:
    """Published batches are for everyone; drafts only for admins (404 for others)."""
    batch = db.get_or_404(Batch, batch_id)
    if not batch.is_published and not can(current_user, Permission.CURATE):
        abort(404)
    return batch


def _load_draft_item(item_id: int):
    _require_curator()
    try:
        return batch_service.get_item(item_id)
    except NotFound:
        abort(404)


@bp.route("/batches")
def batches():
    stmt = db.select(Batch).order_by(Batch.number.desc().nulls_first(), Batch.id.desc())
    if not can(current_user, Permission.CURATE):
        stmt = stmt.where(Batch.status == "published")
    return render_template("knowledge/batches.html", batches=db.session.execute(stmt).scalars().all(),
                           form=BatchForm())


@bp.route("/batches/new", methods=["GET", "POST"])
def new_batch():
    _require_curator()
    form = BatchForm()
    status = 200
    if form.is_submitted():
        holder = {}
        status = _submit(form, lambda: holder.update(
            batch=batch_service.create_batch(_me(), form.title.data, form.editor_note.data)))
        if status is None:
            flash("已新建集萃草稿，发布时编定批次号。", "success")
            return redirect(url_for("knowledge.batch", batch_id=holder["batch"].id))
    return render_template("knowledge/batch_new.html", form=form), status


@bp.route("/batches/<int:batch_id>")
def batch(batch_id: int):
    batch = _load_batch(batch_id)
    context = {"batch": batch, "confirm": ConfirmForm()}
    if not batch.is_published and can(current_user, Permission.CURATE):
        in_batch = {i.canonical_id for i in batch.items}
        available = [c for c in db.session.execute(db.select(CanonicalAnswer).where(CanonicalAnswer.status == "in_force")
                                                   .order_by(CanonicalAnswer.id.desc()).limit(500)).scalars()
                     if c.id not in in_batch]
        add_form = AddItemForm()
        add_form.canonical_id.choices = choices((c.id, f"{c.display_title}（{c.question.number}）") for c in available)
        edit_form = BatchForm(formdata=None, obj=batch)
        context.update(add_form=add_form, edit_form=edit_form, publish_form=PublishForm(),
                       warnings=batch_service.batch_warnings(batch))
    return render_template("knowledge/batch.html", **context)


@bp.route("/batches/<int:batch_id>/edit", methods=["POST"])
def edit_batch(batch_id: int):
    _require_curator()
    batch = _load_batch(batch_id)
    form = BatchForm()
    batch_service.update_batch(_me(), batch, form.title.data, form.editor_note.data)
    flash("编者按已保存。", "success")
    return redirect(url_for("knowledge.batch", batch_id=batch.id))


@bp.route("/batches/<int:batch_id>/items", methods=["POST"])
def add_item(batch_id: int):
    _require_curator()
    batch = _load_batch(batch_id)
    form = AddItemForm()
    canonical = db.session.get(CanonicalAnswer, form.canonical_id.data) if isinstance(form.canonical_id.data, int) else None
    if canonical is None:
        flash("请选择一条权威答复。", "warning")
    else:
        batch_service.add_item(_me(), batch, canonical)
        flash("已加入本批。", "success")
    return redirect(url_for("knowledge.batch", batch_id=batch.id))


@bp.route("/batch-items/<int:item_id>", methods=["GET", "POST"])
def item(item_id: int):
    item = _load_draft_item(item_id)
    form = ItemForm(obj=item) if request.method == "GET" else ItemForm()
    status = 200
    if form.is_submitted():
        status = _submit(form, lambda: batch_service.edit_item(
            _me(), item, title=form.title.data, question_md=form.question_md.data, answer_md=form.answer_md.data,
            legal_basis=form.legal_basis.data))
        if status is None:
            flash("条目已保存。", "success")
            return redirect(url_for("knowledge.batch", batch_id=item.batch_id, _anchor=f"item-{item.id}"))
    return render_template("knowledge/item.html", form=form, item=item,
                           warnings=batch_service.item_warnings(item)), status


@bp.route("/batch-items/<int:item_id>/move", methods=["POST"])
def move_item(item_id: int):
    item = _load_draft_item(item_id)
    batch_service.move_item(_me(), item, -1 if request.form.get("direction") == "up" else 1)
    return redirect(url_for("knowledge.batch", batch_id=item.batch_id, _anchor=f"item-{item.id}"))


@bp.route("/batch-items/<int:item_id>/remove", methods=["POST"])
def remove_item(item_id: int):
    item = _load_draft_item(item_id)
    batch_id = item.batch_id
    batch_service.remove_item(_me(), item)
    flash("已从本批移除。", "success")
    return redirect(url_for("knowledge.batch", batch_id=batch_id))


@bp.route("/batch-items/<int:item_id>/deidentify", methods=["POST"])
def deidentify_item(item_id: int):
    item = _load_draft_item(item_id)
    count = batch_service.deidentify_item(_me(), item)
    flash(f"已替换提问人姓名和单位 {count} 处。请再核对其余提示。", "success")
    return redirect(url_for("knowledge.batch", batch_id=item.batch_id, _anchor=f"item-{item.id}"))


@bp.route("/batch-items/<int:item_id>/correct", methods=["GET", "POST"])
def correct_item(item_id: int):
    """勘误 of a published item: the published text stays visible as superseded."""
    _require_curator()
    item = db.get_or_404(BatchItem, item_id)
    if not item.batch.is_published:
        flash("草稿批次的条目请直接编辑，发布后才需要勘误。", "info")
        return redirect(url_for("knowledge.item", item_id=item.id))
    form = CorrectionForm(data={"answer_md": item.current_answer_md, "legal_basis": item.current_legal_basis}) \
        if request.method == "GET" else CorrectionForm()
    status = 200
    if form.is_submitted():
        status = _submit(form, lambda: batch_service.correct_item(
            _me(), item, answer_md=form.answer_md.data, legal_basis=form.legal_basis.data, note=form.note.data))
        if status is None:
            flash(f"已发布「{item.citation}」的勘误。", "success")
            return redirect(url_for("knowledge.batch", batch_id=item.batch_id, _anchor=f"item-{item.id}"))
    return render_template("knowledge/correct.html", form=form, item=item), status


@bp.route("/batches/<int:batch_id>/publish", methods=["POST"])
def publish(batch_id: int):
    _require_curator()
    batch = _load_batch(batch_id)
    form = PublishForm()
    try:
        batch_service.publish_batch(_me(), batch, bool(form.accept_warnings.data))
    except ServiceError as error:
        if error.status in (403, 404):
            raise
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("knowledge.batch", batch_id=batch.id))
    flash(f"{batch.label}已发布，编号自此固定，可引用为「{batch.label}·问题K」。", "success")
    return redirect(url_for("knowledge.batch", batch_id=batch.id))


@bp.route("/batches/<int:batch_id>/export.md")
def export_markdown(batch_id: int):
    batch = _load_batch(batch_id)
    name = f"{batch.label}.md"
    return Response(batch_service.export_markdown(batch), mimetype="text/markdown", headers={
        "Content-Disposition": f"attachment; filename=batch-{batch.id}.md; filename*=UTF-8''{quote(name)}"})


@bp.route("/batches/<int:batch_id>/print")
def print_batch(batch_id: int):
    """A print-ready A4 page with Chinese typography (use the browser's print / save as PDF)."""
    batch = _load_batch(batch_id)
    return render_template("knowledge/batch_print.html", batch=batch)


@bp.app_template_filter("md")
def markdown_filter(text: str):
    """Markdown rendered and sanitized for batch items (qa/markup.py), safe to insert."""
    from markupsafe import Markup

    from qa.markup import render_markdown

    return Markup(render_markdown(text or ""))  # noqa: S704 - sanitized by render_markdown (nh3)
