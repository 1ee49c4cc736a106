"""Editing questions and answers with every earlier revision kept, and the thread's revision history."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import selectinload

from qa.errors import Conflict
from qa.extensions import begin_write, db
from qa.markup import render_markdown
from qa.models import Answer, CanonicalAnswer, Question, Revision, User
from qa.permissions import can_edit_answer, can_edit_question, can_moderate, require
from qa.search.citations import record_citations, record_question_citations
from qa.services.audit import enqueue_index, notify, record
from qa.services.questions import validate_text
from qa.timeutil import utcnow

REASON_MAX = 500


def validate_reason(reason, field: str = "reason", label: str = "修改理由") -> str:
    return validate_text(reason, field, label, REASON_MAX)


def keep_revision(object_type: str, obj, question: Question, *, original_author_id: int,
                  original_at: datetime, old_title: str | None, old_body: str,
                  new_title: str | None, new_body: str, editor: User, reason: str, now: datetime) -> Revision:
    """Add the new version of a text; at its first edit the original is kept as version 1 first.

    Runs inside the caller's write transaction (begin_write() already called).
    """
    last = db.session.execute(
        db.select(Revision).filter_by(object_type=object_type, object_id=obj.id)
        .order_by(Revision.version.desc()).limit(1)
    ).scalar_one_or_none()
    if last is None:
        last = Revision(object_type=object_type, object_id=obj.id, question_id=question.id, version=1,
                        title=old_title, body_md=old_body, author_id=original_author_id, created_at=original_at,
                        reason="")
        db.session.add(last)
    revision = Revision(object_type=object_type, object_id=obj.id, question_id=question.id,
                        version=last.version + 1, title=new_title, body_md=new_body, author_id=editor.id,
                        created_at=now, reason=reason)
    db.session.add(revision)
    return revision


def edit_question(user: User, question: Question, *, title: str, body: str, reason: str) -> Revision:
    """Edit a question's title and text; the previous revision, its author, time and reason are kept.

    Raises PermissionDenied (not the asker of an open question, nor an admin), ValidationError,
    Conflict when nothing changed.
    """
    require(can_edit_question(user, question), "只有提问人（问题未关闭时）或管理员可以修改问题。")
    cfg = current_app.config
    title = validate_text(title, "title", "标题", cfg["QA_TITLE_MAX"])
    body = validate_text(body, "body", "问题内容", cfg["QA_BODY_MAX"])
    reason = validate_reason(reason)
    if title == question.title and body == question.body_md:
        raise Conflict("内容没有变化。")
    body_html = render_markdown(body)
    begin_write()
    now = utcnow()
    revision = keep_revision("question", question, question, original_author_id=question.asker_id,
                             original_at=question.created_at, old_title=question.title, old_body=question.body_md,
                             new_title=title, new_body=body, editor=user, reason=reason, now=now)
    question.title, question.body_md, question.body_html, question.updated_at = title, body, body_html, now
    record(user, "question.edited", question, version=revision.version, reason=reason)
    record_question_citations(question)
    if user.id != question.asker_id:
        notify(question.asker, "edited", f"您的问题 {question.number} 已被{user.name}修改：{reason}", question)
    enqueue_index(question)
    db.session.commit()
    return revision


def edit_answer(user: User, answer: Answer, *, body: str, reason: str) -> Revision:
    """The answering expert edits their answer; earlier revisions are kept. Raises as edit_question."""
    require(can_edit_answer(user, answer), "只有答复人本人可以在问题关闭前修改答复。")
    body = validate_text(body, "body", "答复内容", current_app.config["QA_BODY_MAX"])
    reason = validate_reason(reason)
    if body == answer.body_md:
        raise Conflict("内容没有变化。")
    body_html = render_markdown(body)
    begin_write()
    now = utcnow()
    question = answer.question
    revision = keep_revision("answer", answer, question, original_author_id=answer.author_id,
                             original_at=answer.created_at, old_title=None, old_body=answer.body_md,
                             new_title=None, new_body=body, editor=user, reason=reason, now=now)
    answer.body_md, answer.body_html, answer.updated_at = body, body_html, now
    question.updated_at = now
    record(user, "answer.edited", answer, question=question, version=revision.version, reason=reason)
    record_citations(question, "answer", answer.id, body)
    if question.asker_id != user.id:
        notify(question.asker, "edited", f"问题 {question.number} 的答复已由答复人修改：{reason}", question)
    enqueue_index(question)
    db.session.commit()
    return revision


# History ------------------------------------------------------------------------------------


@dataclass
class TextHistory:
    """The versions of one text, oldest first, with the diff from each to the next."""

    object_type: str
    object_id: int
    label: str
    versions: list[Revision] = field(default_factory=list)
    hidden: bool = False

    def steps(self):
        """(older, newer, rows) for each edit; newest edit first."""
        from qa.diff import side_by_side

        pairs = list(zip(self.versions, self.versions[1:], strict=False))
        for older, newer in reversed(pairs):
            yield older, newer, side_by_side(_text(older), _text(newer))


def _text(revision: Revision) -> str:
    if revision.title is not None:
        return f"标题：{revision.title}\n\n{revision.body_md}"
    return revision.body_md


def thread_history(viewer: User, question: Question) -> list[TextHistory]:
    """Every edited text of a thread (question, answers, canonical texts) with its versions.

    Revisions of hidden answers are shown to moderators and admins only.
    """
    revisions = db.session.execute(
        db.select(Revision).filter_by(question_id=question.id)
        .options(selectinload(Revision.author).selectinload(User.org))
        .order_by(Revision.object_type, Revision.object_id, Revision.version)
    ).scalars().all()
    answers = {a.id: a for a in question.answers}
    canonicals = {c.id: c for c in db.session.execute(
        db.select(CanonicalAnswer).filter_by(question_id=question.id)).scalars()}
    order = {"question": 0, "answer": 1, "canonical": 2}
    groups: dict[tuple[str, int], TextHistory] = {}
    for r in revisions:
        key = (r.object_type, r.object_id)
        if key not in groups:
            label, hidden = "问题", False
            if r.object_type == "answer":
                answer = answers.get(r.object_id)
                hidden = answer is not None and answer.is_hidden
                label = f"{answer.author.name}的答复" if answer else "答复"
            elif r.object_type == "canonical":
                canonical = canonicals.get(r.object_id)
                label = f"权威答复《{canonical.display_title}》" if canonical else "权威答复"
            groups[key] = TextHistory(r.object_type, r.object_id, label, hidden=hidden)
        groups[key].versions.append(r)
    visible = [g for g in groups.values() if not g.hidden or can_moderate(viewer)]
    return sorted(visible, key=lambda g: (order[g.object_type], g.object_id))
