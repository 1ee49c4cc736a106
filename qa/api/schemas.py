"""Reading JSON request fields strictly, and turning models into JSON-ready dicts for the API."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from qa.errors import ServiceError, ValidationError
from qa.models import Answer, AuditEvent, CanonicalAnswer, Category, Question, Rating, User
from qa.timeutil import to_china
from qa.trail import trail_label

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INT_MAX = 2**31 - 1  # the database's integer columns: larger ids cannot exist (and would overflow)
MISSING = object()


class BadRequest(ServiceError):
    """The request body is not a JSON object (malformed JSON, an array, a bare value)."""

    status = 400
    code = "bad_request"


# Reading request fields -------------------------------------------------------------------


def json_object(request, allow_empty: bool = False) -> dict[str, Any]:
    """The request body as a dict; BadRequest for anything else (an empty body may mean {})."""
    if allow_empty and not request.get_data(cache=True):
        return {}
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise BadRequest("请求体须为 JSON 对象。")
    return data


def string_field(data: dict, field: str, label: str, required: bool = True) -> str | None:
    """A string value; None when optional and absent or null. Emptiness is left to the service."""
    value = data.get(field)
    if value is None:
        if required:
            raise ValidationError(field, f"请填写{label}。")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, f"{label}须为字符串。")
    return value


def int_field(data: dict, field: str, label: str) -> int:
    """A JSON integer (not a boolean, float or numeric string)."""
    value = data.get(field, MISSING)
    if value is MISSING or value is None:
        raise ValidationError(field, f"请填写{label}。")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"{label}须为整数。")
    if not -INT_MAX - 1 <= value <= INT_MAX:
        raise ValidationError(field, f"{label}超出范围。")
    return value


def date_field(data: dict, field: str, label: str) -> date | None:
    """An optional date written exactly as "YYYY-MM-DD"; None when absent or null."""
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise ValidationError(field, f"{label}须为 YYYY-MM-DD 格式的日期。")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(field, f"{label}不是有效的日期。") from None


def declarations_field(data: dict) -> tuple[bool, bool]:
    """The two declarations an asker must make, as JSON booleans inside a "declarations" object."""
    value = data.get("declarations")
    if not isinstance(value, dict):
        raise ValidationError("declarations", "请提交 declarations 对象，确认 law_not_facts 与 not_classified。")
    flags = []
    for key in ("law_not_facts", "not_classified"):
        flag = value.get(key, False)
        if not isinstance(flag, bool):
            raise ValidationError(f"declarations.{key}", "确认项须为布尔值 true 或 false。")
        flags.append(flag)
    return flags[0], flags[1]


# Writing responses -------------------------------------------------------------------------


def iso(value: datetime | date | None) -> str | None:
    """ISO 8601; datetimes in China time with their offset (+08:00), to the second."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_china(value).isoformat(timespec="seconds")
    return value.isoformat()


def user_json(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"username": user.username, "name": user.name, "procuratorate": user.org.name}


def category_json(category: Category) -> dict:
    return {"code": category.code, "name": category.name}


def question_created_json(question: Question, url: str) -> dict:
    return {
        "number": question.number,
        "status": question.status,
        "assignee": user_json(question.assignee),
        "due_at": iso(question.due_at),
        "url": url,
    }


def answer_json(answer: Answer, question: Question) -> dict:
    return {
        "id": answer.id,
        "author": user_json(answer.author),
        "body_html": answer.body_html,
        "created_at": iso(answer.created_at),
        "rating": {"average": answer.rating_average, "count": answer.rating_count},
        "accepted": question.accepted_answer_id == answer.id,
        "canonical": answer.is_canonical,
    }


def trail_json(event: AuditEvent) -> dict:
    actor = event.actor
    return {
        "at": iso(event.at),
        "action": event.action,
        "label": trail_label(event.action),
        "actor": actor.username if actor is not None else None,
        "actor_name": actor.name if actor is not None else None,
        "procuratorate": event.actor_org.name if event.actor_org is not None else None,
        "detail": event.detail or {},
    }


def question_json(question: Question, answers: list[Answer], trail: list[AuditEvent], url: str) -> dict:
    return {
        "number": question.number,
        "title": question.title,
        "body_html": question.body_html,
        "category": category_json(question.category),
        "tags": [tag.name for tag in question.tags],
        "status": question.status,
        "asker": user_json(question.asker),
        "assignee": user_json(question.assignee),
        "created_at": iso(question.created_at),
        "case_deadline": iso(question.case_deadline),
        "due_at": iso(question.due_at),
        "overdue": question.is_overdue(),
        "accepted_answer_id": question.accepted_answer_id,
        "url": url,
        "supplements": [{"at": iso(s.created_at), "body_html": s.body_html} for s in question.supplements],
        "answers": [answer_json(answer, question) for answer in answers],
        "trail": [trail_json(event) for event in trail],
    }


def rating_json(rating: Rating) -> dict:
    return {
        "id": rating.id,
        "answer_id": rating.answer_id,
        "rater": user_json(rating.rater),
        "accuracy": rating.accuracy,
        "basis": rating.basis,
        "relevance": rating.relevance,
        "clarity": rating.clarity,
        "comment": rating.comment,
        "created_at": iso(rating.created_at),
    }


def canonical_json(canonical: CanonicalAnswer) -> dict:
    return {
        "answer_id": canonical.answer_id,
        "canonical": True,
        "text_html": canonical.text_html,
        "effective_date": iso(canonical.effective_date),
    }


def inbox_item_json(question: Question) -> dict:
    return {
        "number": question.number,
        "title": question.title,
        "due_at": iso(question.due_at),
        "overdue": question.is_overdue(),
    }
