"""Quality: revising ratings, helpful votes, flags, hiding and reviewing answers, closing and duplicates."""
from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from qa.errors import Conflict, NotFound, ValidationError
from qa.extensions import begin_write, db
from qa.models import (
    CLOSE_REASONS,
    FLAG_KINDS,
    RATING_CRITERIA,
    Answer,
    AnswerFlag,
    Category,
    HelpfulVote,
    Procuratorate,
    Question,
    Rating,
    RatingRevision,
    User,
)
from qa.permissions import (
    can_close,
    can_flag,
    can_moderate,
    can_review,
    can_vote,
    require,
)
from qa.services.answers import check_rating
from qa.services.audit import enqueue_index, notify, record
from qa.services.questions import get_question, validate_text
from qa.services.revisions import validate_reason
from qa.timeutil import utcnow

NOTE_MAX = 1000
MAX_DUPLICATE_HOPS = 10


# Ratings -----------------------------------------------------------------------------------


def my_rating(moderator: User, answer: Answer) -> Rating | None:
    return db.session.execute(
        db.select(Rating).filter_by(answer_id=answer.id, rater_id=moderator.id)).scalar_one_or_none()


def rating_history(rating: Rating) -> list[RatingRevision]:
    return list(db.session.execute(
        db.select(RatingRevision).filter_by(rating_id=rating.id).order_by(RatingRevision.id)).scalars())


def revise_rating(moderator: User, answer: Answer, scores: dict, comment: str | None, reason: str) -> Rating:
    """A moderator revises their own rating; the earlier version is kept with the reason for the change.

    Raises PermissionDenied (not a moderator, or one's own answer), NotFound (not rated yet),
    ValidationError (scores, comment, reason), Conflict (nothing changed).
    """
    values, comment = check_rating(moderator, answer, scores, comment)
    reason = validate_reason(reason, label="修订理由")
    begin_write()
    rating = my_rating(moderator, answer)
    if rating is None:
        raise NotFound("您尚未评定该答复。")
    if all(getattr(rating, k) == v for k, v in values.items()) and rating.comment == comment:
        raise Conflict("评定没有变化。")
    history = rating_history(rating)
    now = utcnow()
    db.session.add(RatingRevision(
        rating_id=rating.id, comment=rating.comment, rated_at=history[-1].replaced_at if history else rating.created_at,
        replaced_at=now, reason=reason, **{k: getattr(rating, k) for k in RATING_CRITERIA}))
    before = {k: getattr(rating, k) for k in RATING_CRITERIA}
    for key, value in values.items():
        setattr(rating, key, value)
    rating.comment = comment
    question = answer.question
    record(moderator, "answer.rating_revised", rating, question=question, answer_id=answer.id, reason=reason,
           before=before, comment=comment, **values)
    notify(answer.author, "rated", f"您对问题 {question.number} 的答复的质量评定已修订。", question)
    enqueue_index(question)
    db.session.commit()
    return rating


# Helpful votes -----------------------------------------------------------------------------


def vote_helpful(user: User, answer: Answer) -> HelpfulVote:
    """有用: once per user per answer, never on one's own answer (PermissionDenied / Conflict)."""
    require(can_vote(user, answer), "不能为本人的答复投“有用”。")
    begin_write()
    if db.session.execute(db.select(HelpfulVote.id).filter_by(answer_id=answer.id, user_id=user.id)).first():
        raise Conflict("您已为该答复投过“有用”。")
    vote = HelpfulVote(answer_id=answer.id, user_id=user.id)
    db.session.add(vote)
    record(user, "answer.helpful", vote, question=answer.question, answer_id=answer.id)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("您已为该答复投过“有用”。") from None
    return vote


def withdraw_helpful(user: User, answer: Answer) -> None:
    """撤回“有用”: the voter takes their vote back (Conflict when there is none); the count drops by one."""
    require(can_vote(user, answer), "不能为本人的答复投“有用”，也无从撤回。")
    begin_write()
    vote = db.session.execute(db.select(HelpfulVote).filter_by(answer_id=answer.id, user_id=user.id)
                              ).scalar_one_or_none()
    if vote is None:
        raise Conflict("您尚未为该答复投“有用”，无需撤回。")
    record(user, "answer.helpful_withdrawn", answer, question=answer.question, answer_id=answer.id,
           vote_id=vote.id, voted_at=vote.created_at.isoformat())
    db.session.delete(vote)
    db.session.commit()


def helpful_counts(answer_ids) -> dict[int, int]:
    ids = list(answer_ids)
    if not ids:
        return {}
    rows = db.session.execute(db.select(HelpfulVote.answer_id, func.count()).where(HelpfulVote.answer_id.in_(ids))
                              .group_by(HelpfulVote.answer_id))
    return dict(rows.all())


def my_votes(user: User, answer_ids) -> set[int]:
    ids = list(answer_ids)
    if not ids:
        return set()
    return set(db.session.execute(db.select(HelpfulVote.answer_id).where(
        HelpfulVote.user_id == user.id, HelpfulVote.answer_id.in_(ids))).scalars())


# Flags -------------------------------------------------------------------------------------


def flag_answer(user: User, answer: Answer, kind: str, reason: str) -> AnswerFlag:
    """Report an answer (wrong law cited, outdated, abusive) with a reason; it lands in the moderation queue."""
    require(can_flag(user, answer), "不能举报本人的答复。")
    if kind not in FLAG_KINDS:
        raise ValidationError("kind", "请选择举报类型。")
    reason = validate_text(reason, "reason", "举报理由", NOTE_MAX)
    begin_write()
    if db.session.execute(db.select(AnswerFlag.id).filter_by(answer_id=answer.id, reporter_id=user.id, kind=kind)).first():
        raise Conflict("您已就此类问题举报过该答复。")
    flag = AnswerFlag(answer_id=answer.id, reporter_id=user.id, kind=kind, reason=reason)
    db.session.add(flag)
    record(user, "answer.flagged", flag, question=answer.question, answer_id=answer.id, kind=kind, reason=reason)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("您已就此类问题举报过该答复。") from None
    return flag


def resolve_flag(moderator: User, flag: AnswerFlag, upheld: bool, note: str) -> AnswerFlag:
    """A moderator upholds or dismisses a flag with a note; the reporter is told. Never on one's own answer."""
    require(can_moderate(moderator) and flag.answer.author_id != moderator.id, "只有质量评查员或管理员可以处理他人答复的举报。")
    note = validate_text(note, "note", "处理意见", NOTE_MAX)
    if flag.status != "open":
        raise Conflict("该举报已处理。")
    begin_write()
    flag.status = "upheld" if upheld else "dismissed"
    flag.handled_by_id, flag.handled_at, flag.handling_note = moderator.id, utcnow(), note
    question = flag.answer.question
    record(moderator, "answer.flag_resolved", flag, question=question, answer_id=flag.answer_id,
           upheld=upheld, note=note)
    notify(flag.reporter, "flag", f"您对问题 {question.number} 答复的举报已处理（{flag.status_name}）：{note}", question)
    db.session.commit()
    return flag


# Hiding and reviewing ----------------------------------------------------------------------


def hide_answer(moderator: User, answer: Answer, reason: str) -> None:
    """Hide an answer with a reason (never deleted; moderators still see it). Not one's own answer."""
    require(can_moderate(moderator) and answer.author_id != moderator.id, "只有质量评查员或管理员可以隐藏他人的答复。")
    reason = validate_text(reason, "reason", "隐藏理由", NOTE_MAX)
    if answer.is_hidden:
        raise Conflict("该答复已隐藏。")
    begin_write()
    answer.hidden_at, answer.hidden_by_id, answer.hidden_reason = utcnow(), moderator.id, reason
    question = answer.question
    record(moderator, "answer.hidden", answer, question=question, reason=reason)
    notify(answer.author, "hidden", f"您对问题 {question.number} 的答复已被隐藏：{reason}", question)
    enqueue_index(question)
    db.session.commit()


def unhide_answer(moderator: User, answer: Answer, reason: str) -> None:
    require(can_moderate(moderator) and answer.author_id != moderator.id, "只有质量评查员或管理员可以恢复他人的答复。")
    reason = validate_text(reason, "reason", "恢复理由", NOTE_MAX)
    if not answer.is_hidden:
        raise Conflict("该答复未被隐藏。")
    begin_write()
    answer.hidden_at = answer.hidden_by_id = None
    answer.hidden_reason = None
    record(moderator, "answer.unhidden", answer, reason=reason)
    enqueue_index(answer.question)
    db.session.commit()


def mark_reviewed(user: User, answer: Answer) -> None:
    """经业务部门审核: a moderator or admin raises an answer's authority tier. Never one's own."""
    require(can_review(user, answer), "只有质量评查员或管理员可以审核他人的答复。")
    if answer.is_hidden:
        raise Conflict("已隐藏的答复不能审核。")
    if answer.reviewed_at is not None:
        raise Conflict("该答复已经业务部门审核。")
    begin_write()
    answer.reviewed_at, answer.reviewed_by_id = utcnow(), user.id
    record(user, "answer.reviewed", answer)
    enqueue_index(answer.question)
    db.session.commit()


# Closing and duplicates --------------------------------------------------------------------


def final_target(question: Question) -> Question:
    """The thread a duplicate leads to, following chains of duplicates."""
    seen = {question.id}
    current = question
    for _ in range(MAX_DUPLICATE_HOPS):
        if current.duplicate_of is None or current.duplicate_of.id in seen:
            break
        current = current.duplicate_of
        seen.add(current.id)
    return current


def close_question(user: User, question: Question, reason: str, note: str,
                   duplicate_of: str | None = None) -> Question:
    """Close a question with a reason and a note; for duplicates, point it at the thread to read.

    Reasons: duplicate, withdrawn (the asker, or a moderator), facts (涉及事实认定，不予解答),
    classified. The number is kept; /q/<number> of a duplicate leads to the other thread.
    Raises PermissionDenied, ValidationError, Conflict (already closed).
    """
    if reason not in CLOSE_REASONS:
        raise ValidationError("reason", "请选择关闭原因。")
    if question.status == "closed":
        raise Conflict("该问题已关闭。")
    require(can_close(user, question, reason), "只有质量评查员、管理员或提问人（撤回）可以关闭问题。")
    note = validate_text(note, "note", "说明", NOTE_MAX)
    target = None
    if reason == "duplicate":
        number = (duplicate_of or "").strip() if isinstance(duplicate_of, str) else ""
        if not number:
            raise ValidationError("duplicate_of", "请填写与之重复的问题编号。")
        try:
            target = final_target(get_question(number))
        except NotFound:
            raise ValidationError("duplicate_of", f"问题编号 {number} 不存在。") from None
        if target.id == question.id:
            raise ValidationError("duplicate_of", "不能标记为与自身重复。")
    begin_write()
    now = utcnow()
    question.status, question.close_reason, question.close_note = "closed", reason, note
    question.closed_at, question.closed_by_id, question.updated_at = now, user.id, now
    question.duplicate_of_id = target.id if target is not None else None
    for assignment in question.assignments:
        if assignment.active:
            assignment.active, assignment.ended_at = False, now
            if assignment.expert_id != user.id:
                notify(assignment.expert, "closed", f"问题 {question.number} 已关闭（{CLOSE_REASONS[reason]}）。", question)
    record(user, "question.closed", question, reason=reason, note=note,
           duplicate_of=target.number if target is not None else None)
    if question.asker_id != user.id:
        notify(question.asker, "closed", f"您的问题 {question.number} 已关闭（{CLOSE_REASONS[reason]}）：{note}", question)
    enqueue_index(question)
    db.session.commit()
    return question


# The moderation queue ----------------------------------------------------------------------


def _category_codes(code: str | None) -> list[str] | None:
    if not code:
        return None
    return list(db.session.execute(db.select(Category.code).where(
        (Category.code == code) | (Category.parent_code == code))).scalars())


def moderation_queue(moderator: User, category: str | None = None, level: int | None = None):
    """Answers waiting for this moderator's rating: unrated ones first, newest first; never their own.

    Filters: the question's business line (with its sub-lines) and the answering procuratorate's level.
    """
    rated_by_me = db.select(Rating.answer_id).where(Rating.rater_id == moderator.id)
    rated_at_all = db.select(Rating.answer_id)
    stmt = (
        db.select(Answer).join(Question, Question.id == Answer.question_id)
        .where(Answer.author_id != moderator.id, Answer.id.not_in(rated_by_me), Answer.hidden_at.is_(None))
        .options(selectinload(Answer.question).selectinload(Question.category), selectinload(Answer.author),
                 selectinload(Answer.ratings))
        .order_by(Answer.id.in_(rated_at_all), Answer.id.desc())
    )
    codes = _category_codes(category)
    if codes is not None:
        stmt = stmt.where(Question.category_code.in_(codes))
    if level:
        stmt = stmt.join(Procuratorate, Procuratorate.id == Answer.author_org_id).where(Procuratorate.level == level)
    return stmt


def open_flags(category: str | None = None, level: int | None = None) -> list[AnswerFlag]:
    stmt = (
        db.select(AnswerFlag).join(Answer, Answer.id == AnswerFlag.answer_id)
        .join(Question, Question.id == Answer.question_id)
        .where(AnswerFlag.status == "open")
        .options(selectinload(AnswerFlag.answer).selectinload(Answer.question), selectinload(AnswerFlag.reporter),
                 selectinload(AnswerFlag.answer).selectinload(Answer.author))
        .order_by(AnswerFlag.id.desc())
    )
    codes = _category_codes(category)
    if codes is not None:
        stmt = stmt.where(Question.category_code.in_(codes))
    if level:
        stmt = stmt.join(Procuratorate, Procuratorate.id == Answer.author_org_id).where(Procuratorate.level == level)
    return list(db.session.execute(stmt.limit(200)).scalars())
