"""Roles, permissions and object-level checks, shared by services, views and templates."""
from __future__ import annotations

import enum
from functools import wraps

from flask import abort
from flask_login import current_user

from qa.errors import PermissionDenied

ROLE_NAMES = {"asker": "提问人", "expert": "答疑专家", "moderator": "质量评查员", "admin": "管理员"}
ASSIGNABLE_ROLES = ("expert", "moderator", "admin")  # every active user is an asker


class Permission(enum.Enum):
    ASK = "ask"
    ANSWER = "answer"
    RATE = "rate"
    CURATE = "curate"
    ADMINISTER = "administer"


ROLE_PERMISSIONS: dict[str, set[Permission]] = {
    "asker": {Permission.ASK},
    "expert": {Permission.ANSWER},
    "moderator": {Permission.RATE},
    "admin": {Permission.CURATE, Permission.ADMINISTER},
}


def can(user, permission: Permission) -> bool:
    """True when the user is logged in, active and holds a role granting the permission."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    return any(permission in ROLE_PERMISSIONS.get(role, ()) for role in user.roles)


def permission_required(permission: Permission):
    """View decorator: 403 unless the current user has the permission (login is checked first)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def require(allowed: bool, message: str = "您无权进行此操作。") -> None:
    """Raise PermissionDenied unless allowed; services call this again whatever the view did."""
    if not allowed:
        raise PermissionDenied(message)


# Object-level checks ---------------------------------------------------------------------


def can_answer(user, question) -> bool:
    """An expert answers the questions assigned to them while the question is open for answers."""
    if not can(user, Permission.ANSWER) or question.status in ("closed", "resolved"):
        return False
    return any(a.active and a.expert_id == user.id for a in question.assignments)


def can_supplement(user, question) -> bool:
    return can(user, Permission.ASK) and question.asker_id == user.id and question.status != "closed"


def can_accept(user, question, answer) -> bool:
    """The asker accepts an answer to their own question; never their own answer."""
    return (
        can(user, Permission.ASK)
        and question.asker_id == user.id
        and answer.question_id == question.id
        and answer.author_id != user.id
        and question.status in ("answered", "resolved")
        and getattr(answer, "hidden_at", None) is None  # hidden answers cannot be accepted
    )


def can_rate(user, answer) -> bool:
    """Moderators rate answers; nobody rates their own."""
    return can(user, Permission.RATE) and answer.author_id != user.id


def can_curate(user, answer) -> bool:
    """Admins turn answers into canonical ones; never their own."""
    return can(user, Permission.CURATE) and answer.author_id != user.id


def can_assign(user) -> bool:
    return can(user, Permission.ADMINISTER)


def can_manage_org(user, org) -> bool:
    """Admins act for their own procuratorate and every one below it (users, tokens, statistics)."""
    if org is None or not can(user, Permission.ADMINISTER):
        return False
    return org.id == user.org_id or any(parent.id == user.org_id for parent in org.ancestors())


def can_view_stats(user, org) -> bool:
    """Admins read the statistics of their own procuratorate and of every one below it."""
    return can_manage_org(user, org)


# Quality, revisions and the knowledge base (issue 5) -------------------------------------


def can_moderate(user) -> bool:
    """质量评查员 and admins: hide answers, handle flags, mark duplicates, close questions."""
    return can(user, Permission.RATE) or can(user, Permission.ADMINISTER)


def can_vote(user, answer) -> bool:
    """有用: any active user, on a visible answer, never their own."""
    return can(user, Permission.ASK) and answer.author_id != user.id and answer.hidden_at is None


def can_flag(user, answer) -> bool:
    return can(user, Permission.ASK) and answer.author_id != user.id


def can_review(user, answer) -> bool:
    """Mark an answer 经业务部门审核: moderators and admins, never their own."""
    return can_moderate(user) and answer.author_id != user.id


def can_edit_question(user, question) -> bool:
    """The asker while the question is not closed; admins always (every edit is kept as a revision)."""
    if can(user, Permission.ADMINISTER):
        return True
    return can(user, Permission.ASK) and question.asker_id == user.id and question.status != "closed"


def can_edit_answer(user, answer) -> bool:
    """The expert who wrote it, while the question is not closed and the answer not hidden."""
    return (can(user, Permission.ANSWER) and answer.author_id == user.id
            and answer.question.status != "closed" and answer.hidden_at is None)


def can_close(user, question, reason: str | None = None) -> bool:
    """Moderators and admins close for any reason; the asker may withdraw their own open question."""
    if question.status == "closed":
        return False
    if can_moderate(user):
        return True
    return (can(user, Permission.ASK) and question.asker_id == user.id and reason in (None, "withdrawn")
            and question.status in ("pending", "assigned", "answered"))


def can_curate_thread(user) -> bool:
    return can(user, Permission.CURATE)
