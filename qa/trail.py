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
    # handling (qa/services/handling.py) and the deadline sweep (qa/services/deadlines.py)
    "question.claimed": "认领",
    "question.transferred": "转交",
    "question.declined": "退回",
    "question.rerouted": "重新分派",
    "question.escalated": "提请上级",
    "question.consultant_added": "邀请会商",
    "question.reminded": "到期提醒",
    "question.overdue": "超期",
    "question.pending_reminded": "催办待分派",
    # revisions, moderation and curation (qa/services/revisions.py, quality.py, knowledge.py)
    "question.edited": "修改问题",
    "question.closed": "关闭问题",
    "question.reopened": "重新开启",
    "question.imported": "导入",
    "answer.edited": "修改答复",
    "answer.reviewed": "业务部门审核",
    "answer.rating_revised": "修订评定",
    "answer.hidden": "隐藏答复",
    "answer.unhidden": "恢复显示答复",
    "canonical.edited": "修改权威答复",
    "canonical.superseded": "权威答复被替代",
}
# In the audit log but not on the handling trail: who voted or flagged is not shown on the question page.
AUDIT_ONLY_LABELS = {
    "answer.helpful": "标记有用",
    "answer.helpful_withdrawn": "撤回有用",
    "answer.flagged": "举报答复",
    "answer.flag_resolved": "处理举报",
    "batch.created": "新建集萃批次",
    "batch.edited": "修改集萃批次",
    "batch.item_added": "集萃加入问题",
    "batch.item_edited": "修改集萃条目",
    "batch.item_deidentified": "集萃条目脱敏",
    "batch.item_moved": "调整集萃顺序",
    "batch.item_removed": "集萃移除问题",
    "batch.published": "发布集萃",
    "batch.item_corrected": "集萃条目勘误",
    "expert.updated": "修改专家设置",
    "org.created": "新建检察院",
    "org.updated": "修改检察院",
    "search.term_added": "添加检索词条",
    "search.term_removed": "删除检索词条",
    "token.created": "创建接口令牌",
    "token.revoked": "吊销接口令牌",
    "user.created": "新建用户",
    "user.updated": "修改用户",
    "user.password_set": "设置密码",
    "user.confirmed": "再次确认密码",
    "user.login": "登录",
    "user.logout": "退出",
}

# What an audit row is about, as the audit viewer names it (the model's class name, lower case).
OBJECT_NAMES = {
    "question": "问题", "answer": "答复", "supplement": "补充说明", "rating": "质量评定", "assignment": "分派",
    "escalation": "提请上级", "deadlinereminder": "到期提醒", "pendingreminder": "待分派催办", "answerflag": "举报",
    "helpfulvote": "有用标记", "canonicalanswer": "权威答复", "batch": "集萃批次", "batchitem": "集萃条目",
    "batchcorrection": "集萃勘误", "user": "用户", "apitoken": "接口令牌", "procuratorate": "检察院",
    "expertprofile": "专家设置", "searchterm": "检索词条", "revision": "修订版本",
}


def object_name(object_type: str) -> str:
    return OBJECT_NAMES.get(object_type, object_type)


def trail_label(action: str) -> str:
    return TRAIL_LABELS.get(action) or AUDIT_ONLY_LABELS.get(action, action)


def trail_text(event: AuditEvent) -> str:
    d = event.detail or {}
    if event.action == "question.assigned":
        due = d.get("due_at")
        due_text = format_china(datetime.fromisoformat(due)) if due else ""
        how = "人工分派" if d.get("reason") == "manual" else "自动分派"
        return f"{how}给 {d.get('expert_name', '')}（{d.get('expert_org', '')}），答复期限 {due_text}"
    if event.action == "question.unrouted":
        return d.get("reason", "")
    if event.action in HANDLING_TEXTS:
        return HANDLING_TEXTS[event.action](d)
    if event.action == "answer.rated":
        return "，".join(f"{name} {d.get(key)}" for key, name in RATING_CRITERIA.items())
    return ""


def _due(d: dict) -> str:
    return format_china(datetime.fromisoformat(d["due_at"])) if d.get("due_at") else ""


def _to(d: dict) -> str:
    return f"{d.get('expert_name', '')}（{d.get('expert_org', '')}）"


def _escalated(d: dict) -> str:
    why = "超期未答复" if d.get("kind") == "overdue" else "专家提请"
    urgent = "，紧急" if d.get("urgent") else ""
    who = f"，由 {_to(d)} 承办，答复期限 {_due(d)}" if d.get("expert") else "，该院暂无可分派的答疑专家，转人工分派"
    return f"{why}{urgent}：由{d.get('from_org', '')}提请{d.get('to_org', '')}{who}。理由：{d.get('reason', '')}"


STATUS_TEXT = {"resolved": "已办结", "closed": "已关闭"}

HANDLING_TEXTS = {
    "question.claimed": lambda d: f"{_to(d)} 认领，答复期限 {_due(d)}",
    "question.transferred": lambda d: (f"由 {d.get('from_name', '')}（{d.get('from_org', '')}）转交给 {_to(d)}，"
                                       f"答复期限 {_due(d)}。理由：{d.get('reason', '')}"),
    "question.declined": lambda d: f"{d.get('role', '')}专家退回。理由：{d.get('reason', '')}",
    "question.rerouted": lambda d: f"退回后重新分派给 {_to(d)}，答复期限 {_due(d)}",
    "question.escalated": _escalated,
    "question.consultant_added": lambda d: f"邀请 {_to(d)} 参与会商",
    "question.reminded": lambda d: f"答复期限 {_due(d)} 前不足 {d.get('days', '')} 天，已提醒承办专家",
    "question.overdue": lambda d: f"{_to(d)} 超过答复期限 {_due(d)} 未答复",
    "question.reopened": lambda d: (f"由{STATUS_TEXT.get(d.get('previous_status'), '')}重新开启"
                                    f"{'，交回 ' + d['expert_name'] + ' 办理' if d.get('expert_name') else ''}。"
                                    f"理由：{d.get('reason', '')}"),
    "question.pending_reminded": lambda d: (f"仍无承办专家，{'已超过' if d.get('kind') == 'overdue' else '临近'}"
                                            f"答复期限 {_due(d)}，已提醒管理员人工分派"),
}
