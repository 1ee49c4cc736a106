"""Audit events and notifications, written inside the caller's transaction (never committed here)."""
from __future__ import annotations

from flask import has_request_context, request

from qa.extensions import db
from qa.models import AuditEvent, IndexTask, Notification
from qa.services.mail import queue_notification_mail


def record(actor, action: str, obj, question=None, **detail) -> AuditEvent:
    """Add an audit event for `action` on `obj` by `actor` (None: the system) to the session."""
    question = question if question is not None else getattr(obj, "question", None)
    if question is None and type(obj).__name__ == "Question":
        question = obj
    db.session.flush()  # objects need their ids before they are referred to
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_roles=",".join(sorted(actor.roles)) if actor is not None else "system",
        actor_org_id=actor.org_id if actor is not None else None,
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=str(getattr(obj, "id", "") or getattr(obj, "code", "") or ""),
        question_id=question.id if question is not None else None,
        question_number=question.number if question is not None else None,
        detail=detail,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


def notify(user, kind: str, message: str, question=None) -> None:
    """Queue an in-app notification for `user` in the caller's transaction (and its email, if wanted)."""
    if user is None:
        return
    note = Notification(user_id=user.id, kind=kind, message=message,
                        question_id=question.id if question is not None else None)
    db.session.add(note)
    queue_notification_mail(note, user.id)


def enqueue_index(question) -> None:
    """Record that the question's search document must be refreshed (the outbox)."""
    db.session.add(IndexTask(question_id=question.id, op="upsert"))
