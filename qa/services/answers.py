"""Answers: posting, quality rating and curation into canonical answers."""
from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy.exc import IntegrityError

from qa.errors import Conflict, NotFound, ValidationError
from qa.extensions import begin_write, db
from qa.markup import render_markdown
from qa.models import RATING_CRITERIA, Answer, CanonicalAnswer, Question, Rating, User
from qa.permissions import can_answer, can_curate, can_rate, require
from qa.search.citations import record_citations
from qa.services.audit import enqueue_index, notify, record
from qa.services.follows import notify_followers
from qa.services.questions import validate_text
from qa.services.submissions import check_key, commit_or_earlier, earlier
from qa.timeutil import utcnow

COMMENT_MAX = 2000


def get_answer(answer_id: int) -> Answer:
    answer = db.session.get(Answer, answer_id)
    if answer is None:
        raise NotFound("答复不存在。")
    return answer


def post_answer(expert: User, question: Question, body: str, submission_key: str | None = None) -> Answer:
    """答复 by an expert assigned to the question; the asker is notified. A submission_key seen before
    from this expert returns that answer again (no duplicate)."""
    key = check_key(submission_key)
    if (replay := earlier(Answer, expert.id, key)) is not None:
        return replay
    require(can_answer(expert, question), "只有分派给您的未办结问题才能答复。")
    body = validate_text(body, "body", "答复内容", current_app.config["QA_BODY_MAX"])
    body_html = render_markdown(body)
    begin_write()
    now = utcnow()
    answer = Answer(question=question, author_id=expert.id, author_org_id=expert.org_id,
                    body_md=body, body_html=body_html, created_at=now, updated_at=now, submission_key=key)
    db.session.add(answer)
    if question.answered_at is None:
        question.answered_at = now
    if question.status in ("pending", "assigned"):
        question.status = "answered"
    question.updated_at = now
    record(expert, "answer.posted", answer, question=question)
    record_citations(question, "answer", answer.id, body)
    notify(question.asker, "answered", f"您的问题 {question.number}《{question.title}》收到了答复。", question)
    notify_followers(question, f"您关注的问题 {question.number}《{question.title}》有了新答复。",
                     exclude_ids={expert.id, question.asker_id})
    enqueue_index(question)
    return commit_or_earlier(Answer, expert.id, key) or answer


def _score(scores: dict, key: str) -> int:
    value = scores.get(key)
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ValidationError(key, f"{RATING_CRITERIA[key]}须为 1–5 的整数。")
    return value


def check_rating(moderator: User, answer: Answer, scores: dict, comment) -> tuple[dict, str]:
    """Permission and rubric checks shared by rating and revising a rating: (scores, comment)."""
    require(can_rate(moderator, answer), "只有质量评查员可以评定他人的答复。")
    values = {key: _score(scores, key) for key in RATING_CRITERIA}
    if comment is not None and not isinstance(comment, str):
        raise ValidationError("comment", "评语格式不正确。")
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationError("comment", f"评语不能超过 {COMMENT_MAX} 个字。")
    if min(values.values()) <= 2 and not comment:
        raise ValidationError("comment", "有评分为 2 分及以下时，须填写评语说明理由。")
    return values, comment


def rate_answer(moderator: User, answer: Answer, scores: dict, comment: str | None = None) -> Rating:
    """质量评定 on four criteria (1–5); a comment is required when any score is 2 or less.

    Raises PermissionDenied for non-moderators and for one's own answer, ValidationError for bad
    scores, Conflict when this moderator has already rated this answer.
    """
    values, comment = check_rating(moderator, answer, scores, comment)
    begin_write()
    if db.session.execute(db.select(Rating.id).filter_by(answer_id=answer.id, rater_id=moderator.id)).first():
        raise Conflict("您已评定过该答复。")
    rating = Rating(answer=answer, rater_id=moderator.id, comment=comment, **values)
    db.session.add(rating)
    question = answer.question
    record(moderator, "answer.rated", rating, question=question, answer_id=answer.id, comment=comment, **values)
    notify(answer.author, "rated", f"您对问题 {question.number} 的答复获得了质量评定。", question)
    enqueue_index(question)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("您已评定过该答复。") from None
    return rating


def mark_canonical(admin: User, answer: Answer, text: str | None = None,
                   effective_date: date | None = None) -> CanonicalAnswer:
    """权威答复 from one answer (the API's call); the editorial form is qa.services.knowledge.curate_canonical."""
    from qa.services.knowledge import curate_canonical

    require(can_curate(admin, answer), "只有管理员可以将他人的答复列为权威答复。")
    if text is not None and not isinstance(text, str):
        raise ValidationError("text", "权威答复文本格式不正确。")
    return curate_canonical(admin, answer.question, [answer.id], text=text if text and text.strip() else answer.body_md,
                            effective_date=effective_date)
