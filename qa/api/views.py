"""API routes: bearer-token authentication, then the same services as the pages, as JSON."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request, url_for
from sqlalchemy.orm import selectinload

from qa.api.schemas import (
    canonical_json,
    category_json,
    date_field,
    declarations_field,
    inbox_item_json,
    int_field,
    json_object,
    question_created_json,
    question_json,
    rating_json,
    string_field,
)
from qa.errors import ServiceError, ValidationError
from qa.extensions import db
from qa.models import OPEN_STATUSES, RATING_CRITERIA, Answer, Assignment, AuditEvent, Category, Question
from qa.permissions import can_moderate
from qa.services import answers as answer_service
from qa.services import questions as question_service
from qa.services.accounts import user_for_token
from qa.trail import TRAIL_LABELS

bp = Blueprint("api", __name__)


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


# Authentication and errors -----------------------------------------------------------------


def _bearer_token() -> str:
    scheme, _, raw = request.headers.get("Authorization", "").strip().partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def bearer_user():
    """The owner of this request's bearer token, or None; looked up once per request (the
    per-user rate limit asks before the blueprint authenticates)."""
    if "qa.api_user" not in request.environ:
        raw = _bearer_token()
        request.environ["qa.api_user"] = user_for_token(raw) if raw else None
    return request.environ["qa.api_user"]


@bp.before_request
def authenticate():
    """Every call needs `Authorization: Bearer <token>`; session cookies are never looked at."""
    if not _bearer_token():
        raise Unauthorized("缺少访问令牌：请在 Authorization 请求头中提供 Bearer 令牌。")
    user = bearer_user()
    if user is None:
        raise Unauthorized("访问令牌无效或已撤销，或账号已停用。")
    g.api_user = user


@bp.errorhandler(ServiceError)
def service_error(error: ServiceError):
    """Like the application's JSON errors, plus the offending field and the bearer challenge."""
    db.session.rollback()
    body = {"code": error.code, "message": error.message}
    if error.field:
        body["field"] = error.field
    response = jsonify({"error": body})
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="jianda"'
    return response


def _question_url(number: str) -> str:
    return url_for("questions.show", number=number, _external=True)


# Calls -------------------------------------------------------------------------------------


@bp.get("/categories")
def categories():
    rows = db.session.execute(db.select(Category).order_by(Category.position, Category.code)).scalars()
    return jsonify([category_json(c) for c in rows])


# The service names the declarations by their keyword; the API by their place in the body.
_ASK_FIELDS = {"law_not_facts": "declarations.law_not_facts", "not_classified": "declarations.not_classified",
               "submission_key": "Idempotency-Key"}


@bp.post("/questions")
def ask():
    data = json_object(request)
    title = string_field(data, "title", "标题")
    body = string_field(data, "body", "问题内容")
    category = string_field(data, "category", "业务条线")
    tags = data.get("tags")
    if tags is not None and not isinstance(tags, (str, list)):
        raise ValidationError("tags", "标签须为字符串数组。")
    case_deadline = date_field(data, "case_deadline", "办案期限")
    law_not_facts, not_classified = declarations_field(data)
    try:
        question = question_service.ask_question(
            g.api_user, title=title, body=body, category=category, tags=tags, case_deadline=case_deadline,
            law_not_facts=law_not_facts, not_classified=not_classified,
            submission_key=request.headers.get("Idempotency-Key"),
        )
    except ValidationError as error:
        error.field = _ASK_FIELDS.get(error.field, error.field)
        raise
    url = _question_url(question.number)
    response = jsonify(question_created_json(question, url))
    response.status_code = 201
    response.headers["Location"] = url
    return response


@bp.get("/questions/<number>")
def question(number: str):
    q = question_service.get_question(number)
    answers = db.select(Answer).filter_by(question_id=q.id).order_by(Answer.id).options(
        selectinload(Answer.author), selectinload(Answer.ratings), selectinload(Answer.canonical))
    if not can_moderate(g.api_user):  # as on the page: hidden answers only for moderators and admins
        answers = answers.where(Answer.hidden_at.is_(None))
    # The handling trail as on the page: who voted or flagged stays in the audit log.
    trail = db.session.execute(
        db.select(AuditEvent).filter_by(question_id=q.id).where(AuditEvent.action.in_(TRAIL_LABELS))
        .order_by(AuditEvent.id).options(selectinload(AuditEvent.actor), selectinload(AuditEvent.actor_org))
    ).scalars().all()
    return jsonify(question_json(q, db.session.execute(answers).scalars().all(), trail, _question_url(q.number)))


@bp.post("/questions/<number>/answers")
def answer(number: str):
    q = question_service.get_question(number)
    data = json_object(request)
    body = string_field(data, "body", "答复内容")
    posted = answer_service.post_answer(g.api_user, q, body, request.headers.get("Idempotency-Key"))
    return jsonify({"id": posted.id}), 201


@bp.post("/answers/<int(max=2147483647):answer_id>/ratings")
def rate(answer_id: int):
    target = answer_service.get_answer(answer_id)
    data = json_object(request)
    scores = {key: int_field(data, key, name) for key, name in RATING_CRITERIA.items()}
    comment = string_field(data, "comment", "评语", required=False)
    rating = answer_service.rate_answer(g.api_user, target, scores, comment)
    return jsonify(rating_json(rating)), 201


@bp.post("/questions/<number>/accept")
def accept(number: str):
    q = question_service.get_question(number)
    data = json_object(request)
    answer_id = int_field(data, "answer_id", "答复编号")
    question_service.accept_answer(g.api_user, q, answer_id)
    return jsonify({"number": q.number, "status": q.status, "accepted_answer_id": q.accepted_answer_id})


@bp.post("/answers/<int(max=2147483647):answer_id>/canonical")
def canonical(answer_id: int):
    target = answer_service.get_answer(answer_id)
    data = json_object(request, allow_empty=True)
    text = string_field(data, "text", "权威答复文本", required=False)
    effective_date = date_field(data, "effective_date", "生效日期")
    entry = answer_service.mark_canonical(g.api_user, target, text, effective_date)
    return jsonify(canonical_json(entry))


@bp.get("/inbox")
def inbox():
    """Open questions the caller is currently responsible for, soonest due first."""
    mine = db.select(Assignment.question_id).where(Assignment.expert_id == g.api_user.id, Assignment.active.is_(True))
    stmt = (
        db.select(Question)
        .where(Question.id.in_(mine), Question.status.in_(OPEN_STATUSES))
        .order_by(Question.due_at, Question.id)
    )
    items = db.session.execute(stmt).scalars().all()
    return jsonify({"items": [inbox_item_json(q) for q in items]})
