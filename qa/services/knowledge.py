"""Canonical answers as an editorial workflow: curate (merging answers), edit with revisions, supersede, withdraw."""
from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from qa.errors import Conflict, NotFound, ValidationError
from qa.extensions import begin_write, db
from qa.markup import render_markdown
from qa.models import Answer, CanonicalAnswer, CanonicalSource, Category, Question, User
from qa.permissions import Permission, can, can_curate, require
from qa.search.citations import record_citations
from qa.services.audit import enqueue_index, notify, record
from qa.services.follows import notify_followers
from qa.services.questions import get_category, validate_text
from qa.services.revisions import keep_revision, validate_reason
from qa.timeutil import utcnow

BASIS_MAX = 2000
TOPIC_MAX = 40


def get_canonical(canonical_id: int) -> CanonicalAnswer:
    canonical = db.session.get(CanonicalAnswer, canonical_id)
    if canonical is None:
        raise NotFound("权威答复不存在。")
    return canonical


def _optional(value, field: str, label: str, max_len: int) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError(field, f"{label}格式不正确。")
    value = (value or "").strip()
    if len(value) > max_len:
        raise ValidationError(field, f"{label}不能超过 {max_len} 个字。")
    return value


def _effective(value) -> date | None:
    if value is not None and not isinstance(value, date):
        raise ValidationError("effective_date", "生效日期格式不正确。")
    return value


def revision_text(text: str, legal_basis: str) -> str:
    """What a canonical revision keeps: the curated text and its legal basis."""
    return f"{text}\n\n【法律依据】\n{legal_basis}" if legal_basis else text


def curate_canonical(admin: User, question: Question, answer_ids, *, text: str | None = None,
                     title: str | None = None, legal_basis: str | None = "", effective_date: date | None = None,
                     category: str | None = None, topic: str | None = "",
                     supersedes: CanonicalAnswer | None = None) -> CanonicalAnswer:
    """权威答复: an admin turns a thread into a canonical answer — a curated text that may merge several
    answers, its legal basis, effective date, business line and topic. Optionally it supersedes an
    older canonical answer, which then points to it.

    Raises PermissionDenied (not an admin, or one of the answers is the admin's own), ValidationError,
    Conflict (the first answer already has a canonical answer).
    """
    require(can(admin, Permission.CURATE), "只有管理员可以整理权威答复。")
    ids = [i for i in dict.fromkeys(answer_ids or []) if isinstance(i, int) and not isinstance(i, bool)]
    answers = [a for a in (db.session.get(Answer, i) for i in ids) if a is not None and a.question_id == question.id]
    if not answers or len(answers) != len(ids):
        raise ValidationError("answers", "请选择本问题下的答复作为权威答复的来源。")
    for answer in answers:
        require(can_curate(admin, answer), "只有管理员可以将他人的答复列为权威答复。")
        if answer.is_hidden:
            raise ValidationError("answers", "已隐藏的答复不能列为权威答复。")
    primary = answers[0]
    if text is None or (isinstance(text, str) and not text.strip()):
        text = "\n\n".join(a.body_md for a in answers)
    if not isinstance(text, str):
        raise ValidationError("text", "权威答复文本格式不正确。")
    text = validate_text(text, "text", "权威答复文本", current_app.config["QA_BODY_MAX"])
    title = _optional(title, "title", "标题", current_app.config["QA_TITLE_MAX"]) or question.title
    legal_basis = _optional(legal_basis, "legal_basis", "法律依据", BASIS_MAX)
    topic = _optional(topic, "topic", "专题", TOPIC_MAX)
    cat = get_category(category) if category else question.category
    effective_date = _effective(effective_date)
    if primary.canonical is not None:
        raise Conflict("该答复已是权威答复。")
    if supersedes is not None and supersedes.status != "in_force":
        raise ValidationError("supersedes", "只能替代现行有效的权威答复。")
    text_html = render_markdown(text)
    begin_write()
    now = utcnow()
    canonical = CanonicalAnswer(answer=primary, question_id=question.id, text_md=text, text_html=text_html,
                                curated_by_id=admin.id, effective_date=effective_date, title=title,
                                legal_basis=legal_basis, category_code=cat.code, topic=topic, created_at=now,
                                updated_at=now)
    db.session.add(canonical)
    db.session.flush()
    for answer in answers:
        db.session.add(CanonicalSource(canonical_id=canonical.id, answer_id=answer.id))
    record(admin, "answer.canonical", canonical, question=question, answer_id=primary.id,
           merged=[a.id for a in answers], category=cat.code, topic=topic,
           effective_date=effective_date.isoformat() if effective_date else None)
    record_citations(question, "canonical", canonical.id, revision_text(text, legal_basis))
    if supersedes is not None:
        _supersede(admin, supersedes, canonical, f"由《{title}》替代", now)
    for author in {a.author_id: a.author for a in answers}.values():
        notify(author, "canonical", f"您对问题 {question.number} 的答复已列为权威答复。", question)
    if question.asker_id not in {a.author_id for a in answers}:
        notify(question.asker, "canonical", f"您的问题 {question.number} 已有权威答复。", question)
    notify_followers(question, f"您关注的问题 {question.number}《{question.title}》有了权威答复。",
                     exclude_ids={admin.id, question.asker_id, *(a.author_id for a in answers)})
    enqueue_index(question)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("该答复已是权威答复。") from None
    return canonical


def edit_canonical(admin: User, canonical: CanonicalAnswer, *, text: str, reason: str, title: str | None = None,
                   legal_basis: str | None = "", effective_date: date | None = None, category: str | None = None,
                   topic: str | None = "") -> CanonicalAnswer:
    """Edit a canonical answer in force; the previous text is kept as a revision with author, time, reason."""
    require(can(admin, Permission.CURATE) and can_curate(admin, canonical.answer),
            "只有管理员可以修改他人答复整理成的权威答复。")
    if canonical.status != "in_force":
        raise Conflict("只有现行有效的权威答复可以修改；已替代或已撤回的保持原样。")
    text = validate_text(text, "text", "权威答复文本", current_app.config["QA_BODY_MAX"])
    title = _optional(title, "title", "标题", current_app.config["QA_TITLE_MAX"]) or canonical.display_title
    legal_basis = _optional(legal_basis, "legal_basis", "法律依据", BASIS_MAX)
    topic = _optional(topic, "topic", "专题", TOPIC_MAX)
    cat = get_category(category) if category else (canonical.category or canonical.question.category)
    effective_date = _effective(effective_date)
    reason = validate_reason(reason)
    unchanged = (text == canonical.text_md and title == canonical.display_title
                 and legal_basis == canonical.legal_basis and topic == canonical.topic
                 and cat.code == canonical.category_code and effective_date == canonical.effective_date)
    if unchanged:
        raise Conflict("内容没有变化。")
    text_html = render_markdown(text)
    begin_write()
    now = utcnow()
    question = canonical.question
    revision = None
    if (text, title, legal_basis) != (canonical.text_md, canonical.display_title, canonical.legal_basis):
        revision = keep_revision(
            "canonical", canonical, question, original_author_id=canonical.curated_by_id,
            original_at=canonical.created_at, old_title=canonical.display_title,
            old_body=revision_text(canonical.text_md, canonical.legal_basis), new_title=title,
            new_body=revision_text(text, legal_basis), editor=admin, reason=reason, now=now)
    canonical.text_md, canonical.text_html, canonical.title = text, text_html, title
    canonical.legal_basis, canonical.topic, canonical.category_code = legal_basis, topic, cat.code
    canonical.effective_date, canonical.updated_at = effective_date, now
    record(admin, "canonical.edited", canonical, question=question, reason=reason,
           version=revision.version if revision else None, category=cat.code, topic=topic,
           effective_date=effective_date.isoformat() if effective_date else None)
    record_citations(question, "canonical", canonical.id, revision_text(text, legal_basis))
    enqueue_index(question)
    db.session.commit()
    return canonical


def _supersede(admin: User, old: CanonicalAnswer, successor: CanonicalAnswer, note: str, now) -> None:
    old.status, old.superseded_by_id, old.status_note, old.status_changed_at = "superseded", successor.id, note, now
    record(admin, "canonical.superseded", old, question=old.question, successor=successor.id, note=note)
    enqueue_index(old.question)


def change_canonical_status(admin: User, canonical: CanonicalAnswer, status: str, note: str,
                            successor_id: int | None = None) -> CanonicalAnswer:
    """in force → superseded (pointing to a successor in force) or withdrawn; withdrawn → in force again.

    Superseded answers stay readable with a banner pointing to the successor. Raises PermissionDenied,
    ValidationError (note, successor), Conflict (a transition that is not allowed).
    """
    require(can(admin, Permission.CURATE), "只有管理员可以变更权威答复的效力状态。")
    note = validate_text(note, "note", "说明", 1000)
    allowed = {"in_force": {"superseded", "withdrawn"}, "withdrawn": {"in_force"}}
    if status not in allowed.get(canonical.status, set()):
        raise Conflict(f"权威答复当前为“{canonical.status_name}”，不能变更为该状态。")
    successor = None
    if status == "superseded":
        valid_id = isinstance(successor_id, int) and not isinstance(successor_id, bool)
        successor = db.session.get(CanonicalAnswer, successor_id) if valid_id else None
        if successor is None or successor.id == canonical.id or successor.status != "in_force":
            raise ValidationError("successor", "请选择另一条现行有效的权威答复作为替代者。")
    begin_write()
    now = utcnow()
    if successor is not None:
        _supersede(admin, canonical, successor, note, now)
        enqueue_index(successor.question)
    else:
        canonical.status, canonical.status_note, canonical.status_changed_at = status, note, now
        action = "canonical.withdrawn" if status == "withdrawn" else "canonical.reinstated"
        record(admin, action, canonical, question=canonical.question, note=note)
        enqueue_index(canonical.question)
    db.session.commit()
    return canonical


# Browsing ----------------------------------------------------------------------------------


def knowledge_query(category: str | None = None, topic: str | None = None, include_inactive: bool = False):
    """Canonical answers by business line (with sub-lines) and topic, newest first; in force only by default."""
    stmt = (
        db.select(CanonicalAnswer)
        .options(selectinload(CanonicalAnswer.question).selectinload(Question.category),
                 selectinload(CanonicalAnswer.category), selectinload(CanonicalAnswer.curated_by),
                 selectinload(CanonicalAnswer.successor))
        .order_by(CanonicalAnswer.created_at.desc(), CanonicalAnswer.id.desc())
    )
    if not include_inactive:
        stmt = stmt.where(CanonicalAnswer.status == "in_force")
    if category:
        codes = db.select(Category.code).where((Category.code == category) | (Category.parent_code == category))
        stmt = stmt.where(CanonicalAnswer.category_code.in_(codes))
    if topic:
        stmt = stmt.where(CanonicalAnswer.topic == topic)
    return stmt


def topics(category: str | None = None) -> list[tuple[str, int]]:
    """The topics in use (in force), with counts, for the knowledge base's topic list."""
    stmt = (db.select(CanonicalAnswer.topic, func.count()).where(CanonicalAnswer.status == "in_force",
                                                                 CanonicalAnswer.topic != "")
            .group_by(CanonicalAnswer.topic).order_by(func.count().desc(), CanonicalAnswer.topic))
    if category:
        codes = db.select(Category.code).where((Category.code == category) | (Category.parent_code == category))
        stmt = stmt.where(CanonicalAnswer.category_code.in_(codes))
    return [(t, n) for t, n in db.session.execute(stmt).all()]
