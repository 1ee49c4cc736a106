"""The handling trail (办理轨迹) on the question page: every step in Chinese, votes and flags kept off it."""
from __future__ import annotations

import re
from pathlib import Path

from qa.services.answers import post_answer
from qa.services.quality import flag_answer, vote_helpful
from qa.services.revisions import edit_answer
from qa.trail import AUDIT_ONLY_LABELS, TRAIL_LABELS
from tests.factories import make_question

SOURCE = Path(__file__).resolve().parent.parent / "qa"
RECORDED = re.compile(r"""(?:record\([^,]+,\s*|action=)["']([a-z_]+\.[a-z_]+)["']""")


def test_every_recorded_action_has_a_chinese_name():
    actions = {m for path in SOURCE.rglob("*.py") for m in RECORDED.findall(path.read_text(encoding="utf-8"))}
    assert len(actions) > 30  # the pattern still finds the services' audit calls
    unnamed = sorted(a for a in actions if a not in TRAIL_LABELS and a not in AUDIT_ONLY_LABELS)
    assert not unnamed, f"actions without a Chinese name for the trail or the audit log: {unnamed}"


def test_the_trail_names_edits_in_chinese_and_hides_who_voted_or_flagged(people, client, auth):
    question = make_question(people["asker"])
    answer = post_answer(people["city_expert"], question, "依照《刑法》第一百三十三条之一处理。")
    edit_answer(people["city_expert"], answer, body="依照《刑法》第一百三十三条之一，醉酒驾驶的处拘役。", reason="补充刑罚")
    vote_helpful(people["moderator"], answer)
    flag_answer(people["asker"], answer, "outdated", "所引条文已修改")
    auth.login("prov_expert")
    text = client.get(f"/q/{question.number}").get_data(as_text=True)
    trail = text[text.index("办理轨迹"):]
    assert "修改答复" in trail and "answer.edited" not in trail
    for hidden in ("标记有用", "举报答复", "answer.helpful", "answer.flagged"):
        assert hidden not in trail


def test_the_audit_viewer_names_what_each_row_is_about(people, client, auth):
    question = make_question(people["asker"])
    answer = post_answer(people["city_expert"], question, "依照《刑法》第一百三十三条之一处理。")
    vote_helpful(people["moderator"], answer)
    auth.login("admin")
    text = client.get("/admin/audit").get_data(as_text=True)
    assert "有用标记" in text and "答复" in text
    assert "helpfulvote" not in text
    csv_text = client.get("/admin/audit.csv").get_data(as_text=True)
    assert "有用标记" in csv_text and "helpfulvote" not in csv_text
