"""API calls for handling a question: claim, transfer, decline and escalate (same services as the pages)."""
from __future__ import annotations

from flask import g, jsonify, request

from qa.api.schemas import iso, json_object, string_field, user_json
from qa.api.views import bp
from qa.errors import ValidationError
from qa.models import Question
from qa.services import handling
from qa.services.questions import get_question


def _handled(question: Question):
    """The question's new state: who is responsible, and by when."""
    return jsonify({"number": question.number, "status": question.status,
                    "assignee": user_json(question.assignee), "due_at": iso(question.due_at)})


@bp.post("/questions/<number>/claim")
def claim(number: str):
    question = get_question(number)
    json_object(request, allow_empty=True)
    handling.claim_question(g.api_user, question)
    return _handled(question)


@bp.post("/questions/<number>/transfer")
def transfer(number: str):
    question = get_question(number)
    data = json_object(request)
    to = string_field(data, "to", "接收专家的用户名")
    reason = string_field(data, "reason", "转交理由")
    handling.transfer_question(g.api_user, question, to, reason)
    return _handled(question)


@bp.post("/questions/<number>/decline")
def decline(number: str):
    question = get_question(number)
    data = json_object(request)
    reason = string_field(data, "reason", "退回理由")
    handling.decline_question(g.api_user, question, reason)
    return _handled(question)


@bp.post("/questions/<number>/escalate")
def escalate(number: str):
    question = get_question(number)
    data = json_object(request)
    reason = string_field(data, "reason", "提请理由")
    urgent = data.get("urgent", False)
    if not isinstance(urgent, bool):
        raise ValidationError("urgent", "urgent 须为布尔值 true 或 false。")
    handling.escalate_question(g.api_user, question, reason, urgent=urgent)
    return _handled(question)
