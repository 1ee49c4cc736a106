"""In-app notifications: the bell's unread count and marking as read."""
from __future__ import annotations

from sqlalchemy import func, update

from qa.extensions import begin_write, db
from qa.models import Notification
from qa.timeutil import utcnow


def unread_count(user) -> int:
    return db.session.execute(
        db.select(func.count(Notification.id)).filter_by(user_id=user.id, read_at=None)
    ).scalar_one()


def mark_read(user, notification_ids=None) -> int:
    """Mark the user's notifications (all, or the given ids) as read; returns how many."""
    begin_write()
    stmt = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    if notification_ids is not None:
        stmt = stmt.where(Notification.id.in_(list(notification_ids)))
    count = db.session.execute(stmt).rowcount
    db.session.commit()
    return count
