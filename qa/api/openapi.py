"""GET /api/v1/openapi.json: the OpenAPI 3.0 description of /api/v1, built from the limits the code enforces.

The document is assembled from the same constants the views and services check (length limits from
the configuration, tag limits, rating criteria, business lines, error codes, statistics figures), so
it cannot drift from them; tests/test_openapi.py checks it against the URL map and runs Schemathesis
against the application. Like every /api/v1 call it needs a bearer token.
"""
from __future__ import annotations

from flask import current_app, jsonify

from qa.api.schemas import INT_MAX
from qa.api.search import PER_PAGE, SIMILAR_TEXT_MAX
from qa.api.stats import FIGURE_KEYS
from qa.api.views import bp
from qa.app_setup import ERROR_CODES
from qa.models import RATING_CRITERIA, STATUS_NAMES
from qa.models.categories import CATEGORIES
from qa.services.answers import COMMENT_MAX
from qa.services.handling import REASON_MAX
from qa.services.questions import TAG_LEN, TAG_MAX

JSON = "application/json"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def _object(properties: dict, required: list[str] | None = None, strict: bool = True) -> dict:
    """A response object: every key always present, no others (strict)."""
    schema = {"type": "object", "properties": properties,
              "required": list(properties) if required is None else required}
    if strict:
        schema["additionalProperties"] = False
    return schema


def _body(properties: dict, required: list[str], description: str = "", optional: bool = False) -> dict:
    """A JSON request body; unknown keys are ignored by the server, so they are allowed here."""
    schema = {"type": "object", "properties": properties}
    if required:  # OpenAPI 3.0 does not allow an empty list
        schema["required"] = required
    return {"required": not optional, "description": description, "content": {JSON: {"schema": schema}}}


DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
DATETIME = {"type": "string", "format": "date-time", "description": "ISO 8601，中国时间（+08:00），精确到秒"}
STATUS = {"type": "string", "enum": list(STATUS_NAMES), "description": "问题状态：" + "、".join(
    f"{k}={v}" for k, v in STATUS_NAMES.items())}
QUERY_DATE = {"type": "string", "pattern": r"^(\d{4}-\d{2}-\d{2})?$", "description": "YYYY-MM-DD；空值视为未给出"}
RATE = _nullable({"type": "number", "minimum": 0, "maximum": 1, "description": "比例（0–1），无分母时为 null"})

# Which errors each kind of call can answer with (beyond 400, 401, 429 and 500, which every call can).
ERROR_TEXT = {
    400: "请求有误：请求体不是 JSON 对象（格式错误、数组或单个值），或请求含不允许的控制字符（NUL）。",
    401: "缺少访问令牌，或令牌无效、已撤销，或账号已停用。",
    403: "无权进行此操作。",
    404: "对象不存在。",
    409: "操作与当前状态冲突（如重复评定、问题已被认领）。",
    413: "请求体超过大小上限。",
    422: "字段内容不符合要求；error.field 指出哪个字段。",
    429: "请求过于频繁，请稍后再试。",
    500: "服务器内部错误；error.correlation_id 供管理员查找日志。",
    503: "检索服务暂时不可用。",
}


def _schemas() -> dict:
    user = _nullable(_object({"username": {"type": "string"}, "name": {"type": "string"},
                              "procuratorate": {"type": "string"}}))
    category = _object({"code": {"type": "string"}, "name": {"type": "string"}})
    figures = {key: {"type": "integer", "minimum": 0} for key in FIGURE_KEYS}
    figures.update({
        "answer_rate": RATE, "on_time_rate": RATE, "accepted_rate": RATE,
        "median_hours_to_first_answer": _nullable({"type": "number"}),
        "p90_hours_to_first_answer": _nullable({"type": "number"}),
        "rating": _object({"average": _nullable({"type": "number", "minimum": 1, "maximum": 5}),
                           "count": {"type": "integer", "minimum": 0}}),
    })
    rating_average = _nullable({"type": "number", "minimum": 1, "maximum": 5})
    hit = {"number": {"type": "string"}, "title": {"type": "string"}, "category": {"type": "string"},
           "canonical": {"type": "boolean"}, "score": {"type": "number"}}
    return {
        "Error": _object({"error": _object(
            {"code": {"type": "string", "enum": sorted({*ERROR_CODES.values(), "search_unavailable"})},
             "message": {"type": "string", "description": "给用户看的中文说明"},
             "field": {"type": "string", "description": "出错的字段（仅 422）"},
             "correlation_id": _nullable({"type": "string", "description": "日志编号（仅 500）"})},
            required=["code", "message"])}),
        "User": user,
        "Category": category,
        "Handled": _object({"number": {"type": "string"}, "status": STATUS, "assignee": _ref("User"),
                            "due_at": _nullable(DATETIME)}),
        "QuestionCreated": _object({"number": {"type": "string"}, "status": STATUS, "assignee": _ref("User"),
                                    "due_at": _nullable(DATETIME), "url": {"type": "string", "format": "uri"}}),
        "Question": _object({
            "number": {"type": "string"}, "title": {"type": "string"},
            "body_html": {"type": "string", "description": "经白名单净化的 HTML"},
            "category": _ref("Category"), "tags": {"type": "array", "items": {"type": "string"}},
            "status": STATUS, "asker": _ref("User"), "assignee": _ref("User"), "created_at": DATETIME,
            "case_deadline": _nullable(DATE), "due_at": _nullable(DATETIME), "overdue": {"type": "boolean"},
            "accepted_answer_id": _nullable({"type": "integer"}), "url": {"type": "string", "format": "uri"},
            "supplements": {"type": "array", "items": _object({"at": DATETIME, "body_html": {"type": "string"}})},
            "answers": {"type": "array", "items": _object({
                "id": {"type": "integer"}, "author": _ref("User"), "body_html": {"type": "string"},
                "created_at": DATETIME,
                "rating": _object({"average": rating_average, "count": {"type": "integer", "minimum": 0}}),
                "accepted": {"type": "boolean"}, "canonical": {"type": "boolean"}})},
            "trail": {"type": "array", "description": "办理留痕，按时间先后", "items": _object({
                "at": DATETIME, "action": {"type": "string"}, "label": {"type": "string"},
                "actor": _nullable({"type": "string"}), "actor_name": _nullable({"type": "string"}),
                "procuratorate": _nullable({"type": "string"}), "detail": {"type": "object"}})},
        }),
        "Rating": _object({"id": {"type": "integer"}, "answer_id": {"type": "integer"}, "rater": _ref("User"),
                           **{key: {"type": "integer", "minimum": 1, "maximum": 5} for key in RATING_CRITERIA},
                           "comment": {"type": "string"}, "created_at": DATETIME}),
        "Canonical": _object({"answer_id": {"type": "integer"}, "canonical": {"type": "boolean", "enum": [True]},
                              "text_html": {"type": "string"}, "effective_date": _nullable(DATE)}),
        "Figures": _object(figures),
        "Stats": _object({
            "scope": _object({"code": {"type": "string"}, "name": {"type": "string"},
                              "level": {"type": "integer"}, "level_name": {"type": "string"}}),
            "period": _object({"from": DATE, "to": DATE, "timezone": {"type": "string", "enum": ["Asia/Shanghai"]}}),
            "as_of": DATETIME, **figures,
            "by_category": {"type": "array", "items": _object(
                {"code": {"type": "string"}, "name": {"type": "string"}, **figures})},
            "by_org": {"type": "array", "items": _object(
                {"code": {"type": "string"}, "name": {"type": "string"}, "level": {"type": "integer"},
                 "own": {"type": "boolean"}, **figures})},
        }),
        "SearchResults": _object({"total": {"type": "integer", "minimum": 0},
                                  "total_is_estimate": {"type": "boolean", "description":
                                                        "true：匹配很多时 total 为估计值（约数）"},
                                  "page": {"type": "integer", "minimum": 1},
                                  "hits": {"type": "array", "maxItems": PER_PAGE, "items": _object(
                                      {**hit, "snippet": {"type": "string",
                                                          "description": "HTML：正文已转义，检索词以 <mark> 标出"}})}}),
        "SimilarResults": _object({"hits": {"type": "array", "maxItems": 5, "items": _object(hit)}}),
    }


def _responses(ok: int, schema: dict, ok_text: str, errors: tuple[int, ...]) -> dict:
    responses = {str(ok): {"description": ok_text, "content": {JSON: {"schema": schema}}}}
    for status in sorted({*errors, 400, 401, 429, 500}):
        responses[str(status)] = {"description": ERROR_TEXT[status], "content": {JSON: {"schema": _ref("Error")}}}
    return responses


NUMBER = {"name": "number", "in": "path", "required": True, "description": "问题编号，如 JD2026-110105-00001",
          "schema": {"type": "string"}}
ANSWER_ID = {"name": "answer_id", "in": "path", "required": True, "description": "答复编号",
             "schema": {"type": "integer", "minimum": 0, "maximum": INT_MAX}}
BODY_ERRORS = (400, 413, 422)


def _reason(label: str) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": REASON_MAX, "description": f"{label}（去除首尾空白后不能为空）"}


def _operations(config) -> dict[str, dict[str, dict]]:
    """{path: {method: operation}}, paths relative to /api/v1."""
    title_max, body_max = config["QA_TITLE_MAX"], config["QA_BODY_MAX"]
    handled = ("认领", "转交", "退回", "提请上级院")
    question_body = {
        "title": {"type": "string", "minLength": 1, "maxLength": title_max, "description": "标题"},
        "body": {"type": "string", "minLength": 1, "maxLength": body_max, "description": "问题内容（Markdown）"},
        "category": {"type": "string", "enum": [code for code, _name, _parent in CATEGORIES],
                     "description": "业务条线代码，见 GET /categories"},
        "tags": {"oneOf": [
            {"type": "array", "maxItems": TAG_MAX, "items": {"type": "string", "maxLength": TAG_LEN}},
            {"type": "string", "description": "以逗号、顿号或空格分隔"}],
            "nullable": True, "description": f"标签，最多 {TAG_MAX} 个，每个不超过 {TAG_LEN} 个字"},
        "case_deadline": _nullable({**DATE, "description": "办案期限，不早于今天（中国时间）"}),
        "declarations": {"type": "object", "required": ["law_not_facts", "not_classified"],
                         "description": "提问人须确认两项声明，均须为 true",
                         "properties": {"law_not_facts": {"type": "boolean", "enum": [True],
                                                          "description": "所问为法律适用问题，不涉及具体案件事实认定"},
                                        "not_classified": {"type": "boolean", "enum": [True],
                                                           "description": "问题内容不含涉密信息"}}},
    }
    rating_body = {key: {"type": "integer", "minimum": 1, "maximum": 5, "description": name}
                   for key, name in RATING_CRITERIA.items()}
    rating_body["comment"] = _nullable({"type": "string", "maxLength": COMMENT_MAX,
                                        "description": "评语；任一项评分为 2 分及以下时必填"})

    idempotency = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"},
                   "description": "可选的一次性提交标识：网络重试时带同一标识，返回首次提交的结果，不会重复提问或答复"}

    def handling_op(summary: str, properties: dict, required: list[str]) -> dict:
        body = _body(properties, required, optional=not required)
        return {"operationId": summary[0], "summary": summary[1], "tags": ["办理"], "parameters": [NUMBER],
                "requestBody": body,
                "responses": _responses(200, _ref("Handled"), "问题的新承办情况", (*BODY_ERRORS, 403, 404, 409))}

    return {
        "/openapi.json": {"get": {
            "operationId": "openapi", "summary": "本接口说明（OpenAPI 3.0）", "tags": ["说明"],
            "responses": _responses(200, {"type": "object"}, "OpenAPI 文档", ())}},
        "/categories": {"get": {
            "operationId": "categories", "summary": "业务条线列表", "tags": ["提问"],
            "responses": _responses(200, {"type": "array", "items": _ref("Category")}, "按显示顺序", ())}},
        "/questions": {"post": {
            "operationId": "ask", "summary": "提问：编号、分派给上级院专家", "tags": ["提问"],
            "parameters": [idempotency], "requestBody": _body(question_body, ["title", "body", "category", "declarations"]),
            "responses": {**_responses(201, _ref("QuestionCreated"), "已受理；Location 为问题页面地址",
                                       (*BODY_ERRORS, 403))}}},
        "/questions/{number}": {"get": {
            "operationId": "question", "summary": "问题详情：答复、评定与办理留痕", "tags": ["提问"],
            "parameters": [NUMBER], "responses": _responses(200, _ref("Question"), "问题详情", (404,))}},
        "/questions/{number}/answers": {"post": {
            "operationId": "answer", "summary": "专家答复（须为分派给本人的未办结问题）", "tags": ["答复"],
            "parameters": [NUMBER, idempotency],
            "requestBody": _body({"body": {"type": "string", "minLength": 1, "maxLength": body_max,
                                           "description": "答复内容（Markdown）"}}, ["body"]),
            "responses": _responses(201, _object({"id": {"type": "integer"}}), "已答复",
                                    (*BODY_ERRORS, 403, 404, 409))}},
        "/answers/{answer_id}/ratings": {"post": {
            "operationId": "rate", "summary": "质量评定（质量评查员，每人每答复一次）", "tags": ["评定"],
            "parameters": [ANSWER_ID], "requestBody": _body(rating_body, list(RATING_CRITERIA)),
            "responses": _responses(201, _ref("Rating"), "已评定", (*BODY_ERRORS, 403, 404, 409))}},
        "/questions/{number}/accept": {"post": {
            "operationId": "accept", "summary": "提问人采纳答复", "tags": ["答复"], "parameters": [NUMBER],
            "requestBody": _body({"answer_id": {"type": "integer", "minimum": -INT_MAX - 1, "maximum": INT_MAX,
                                                "description": "本问题下的答复编号"}}, ["answer_id"]),
            "responses": _responses(200, _object({"number": {"type": "string"}, "status": STATUS,
                                                  "accepted_answer_id": _nullable({"type": "integer"})}),
                                    "已采纳", (*BODY_ERRORS, 403, 404, 409))}},
        "/answers/{answer_id}/canonical": {"post": {
            "operationId": "canonical", "summary": "管理员将答复列为权威答复", "tags": ["评定"],
            "parameters": [ANSWER_ID],
            "requestBody": _body({"text": _nullable({"type": "string", "description": "权威答复文本；省略时用答复原文"}),
                                  "effective_date": _nullable({**DATE, "description": "生效日期"})}, [],
                                 "可省略请求体", optional=True),
            "responses": _responses(200, _ref("Canonical"), "已列为权威答复", (*BODY_ERRORS, 403, 404, 409))}},
        "/inbox": {"get": {
            "operationId": "inbox", "summary": "我承办的未办结问题，按期限先后", "tags": ["答复"],
            "responses": _responses(200, _object({"items": {"type": "array", "items": _object(
                {"number": {"type": "string"}, "title": {"type": "string"}, "due_at": _nullable(DATETIME),
                 "overdue": {"type": "boolean"}})}}), "待办列表", ())}},
        "/questions/{number}/claim": {"post": handling_op(("claim", f"{handled[0]}待分派问题"), {}, [])},
        "/questions/{number}/transfer": {"post": handling_op(
            ("transfer", f"{handled[1]}给其他专家"),
            {"to": {"type": "string", "minLength": 1, "description": "接收专家的用户名"},
             "reason": _reason("转交理由")}, ["to", "reason"])},
        "/questions/{number}/decline": {"post": handling_op(
            ("decline", f"{handled[2]}问题（重新分派）"), {"reason": _reason("退回理由")}, ["reason"])},
        "/questions/{number}/escalate": {"post": handling_op(
            ("escalate", f"{handled[3]}答复"),
            {"reason": _reason("提请理由"), "urgent": {"type": "boolean", "default": False, "description": "是否紧急"}},
            ["reason"])},
        "/search": {"get": {
            "operationId": "search", "summary": "全文检索已答复问题", "tags": ["检索"],
            "parameters": [
                {"name": "q", "in": "query", "description": "检索词",
                 "schema": {"type": "string", "maxLength": config.get("QA_SEARCH_QUERY_MAX", 200)}},
                {"name": "page", "in": "query", "description": f"页码，每页 {PER_PAGE} 条",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1}},
                {"name": "category", "in": "query", "description": "业务条线代码或名称",
                 "schema": {"type": "string"}},
                {"name": "canonical", "in": "query", "description": "只看权威答复",
                 "schema": {"type": "string", "enum": ["", "0", "1", "true", "false", "yes", "no"]}}],
            "responses": _responses(200, _ref("SearchResults"), "检索结果", (422, 503))}},
        "/similar": {"get": {
            "operationId": "similar", "summary": "相似问题（提问前查重）", "tags": ["检索"],
            "parameters": [{"name": "text", "in": "query", "description": "正在填写的标题或内容",
                            "schema": {"type": "string", "maxLength": SIMILAR_TEXT_MAX}}],
            "responses": _responses(200, _ref("SimilarResults"), "至多 5 条", (422, 503))}},
        "/stats": {"get": {
            "operationId": "statistics", "summary": "统计数字（管理员；本院及下级院）", "tags": ["统计"],
            "parameters": [
                {"name": "org", "in": "query", "description": "检察院代码，默认本院", "schema": {"type": "string"}},
                {"name": "from", "in": "query", "description": "开始日期（含），与 to 同时给出", "schema": QUERY_DATE},
                {"name": "to", "in": "query", "description": "结束日期（含），最长三年", "schema": QUERY_DATE},
                {"name": "fresh", "in": "query", "description": "1 = 不用缓存（其他值均为使用缓存）",
                 "schema": {"type": "string"}}],
            "responses": _responses(200, _ref("Stats"), "统计数字；默认本月至今", (403, 404, 422))}},
    }


def build_document(config) -> dict:
    """The whole OpenAPI document for this configuration (the length limits come from it)."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "检答 JSON API", "version": "1",
                 "description": "供其他检察业务系统调用。所有调用（含本说明）须在 Authorization 请求头中提供 "
                                "Bearer 令牌（在“个人设置”中申请）；错误一律返回 JSON 的 {\"error\": {...}}。"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": _operations(config),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "个人 API 令牌（jd_…），可随时撤销"}},
            "schemas": _schemas(),
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(build_document(current_app.config))
