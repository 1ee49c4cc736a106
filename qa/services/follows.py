"""关注: following a question or a business line, and telling followers of new (canonical) answers."""
from __future__ import annotations

from sqlalchemy import or_

from qa.errors import ValidationError
from qa.extensions import begin_write, db
from qa.models import Category, Follow, Question, User
from qa.services.audit import notify


def is_following(user, question: Question) -> bool:
    return db.session.execute(
        db.select(Follow.id).filter_by(user_id=user.id, question_id=question.id)
    ).first() is not None


def followed_categories(user) -> set[str]:
    return set(db.session.execute(
        db.select(Follow.category_code).where(Follow.user_id == user.id, Follow.category_code.is_not(None))
    ).scalars())


def set_question_follow(user: User, question: Question, follow: bool) -> bool:
    """Follow or stop following a question; returns the new state. Idempotent."""
    begin_write()
    existing = db.session.execute(
        db.select(Follow).filter_by(user_id=user.id, question_id=question.id)
    ).scalar_one_or_none()
    if follow and existing is None:
        db.session.add(Follow(user_id=user.id, question_id=question.id))
    elif not follow and existing is not None:
        db.session.delete(existing)
    db.session.commit()
    return follow


def set_category_follows(user: User, codes) -> set[str]:
    """Replace the business lines the user follows."""
    codes = {c for c in codes or () if isinstance(c, str) and c}
    known = set(db.session.execute(db.select(Category.code)).scalars())
    if codes - known:
        raise ValidationError("categories", "请选择有效的业务条线。")
    begin_write()
    current = {f.category_code: f for f in db.session.execute(
        db.select(Follow).where(Follow.user_id == user.id, Follow.category_code.is_not(None))).scalars()}
    for code in codes - current.keys():
        db.session.add(Follow(user_id=user.id, category_code=code))
    for code in current.keys() - codes:
        db.session.delete(current[code])
    db.session.commit()
    return codes


def notify_followers(question: Question, message: str, exclude_ids=()) -> int:
    """Tell everyone following the question or its business line (in the caller's transaction)."""
    lines = [question.category_code] + ([question.category.parent_code] if question.category.parent_code else [])
    users = db.session.execute(
        db.select(User).where(
            User.active.is_(True),
            User.id.in_(db.select(Follow.user_id).where(or_(Follow.question_id == question.id,
                                                            Follow.category_code.in_(lines)))),
            User.id.not_in(list(exclude_ids)),
        ).order_by(User.id)
    ).scalars().all()
    for user in users:
        notify(user, "followed", message, question)
    return len(users)
