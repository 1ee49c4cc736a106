"""How handling-trail (办理轨迹) events read on the question page."""
from __future__ import annotations

from datetime import datetime

from qa.models import RATING_CRITERIA, AuditEvent
from qa.timeutil import format_china

TRAIL_LABELS = {
    "question.created": "提问",
    "question.assigned": "分派",
    "question.unrouted": "待人工分派",
    "question.supplemented": "补充说明",
    "answer.posted": "答复",
    "answer.accepted": "采纳答复",
    "answer.rated": "质量评定",
    "answer.canonical": "列为权威答复",
}


def trail_label(action: str) -> str:
    return TRAIL_LABELS.get(action, action)


def trail_text(event: AuditEvent) -> str:
    d = event.detail or {}
    if event.action == "question.assigned":
        due = d.get("due_at")
        due_text = format_china(datetime.fromisoformat(due)) if due else ""
        how = "人工分派" if d.get("reason") == "manual" else "自动分派"
        return f"{how}给 {d.get('expert_name', '')}（{d.get('expert_org', '')}），答复期限 {due_text}"
    if event.action == "question.unrouted":
        return d.get("reason", "")
    if event.action == "answer.rated":
        return "，".join(f"{name} {d.get(key)}" for key, name in RATING_CRITERIA.items())
    return ""
