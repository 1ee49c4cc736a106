"""The whole loop through the pages: ask → route → answer → accept → rate → canonical."""
from __future__ import annotations

import re

from qa.extensions import db
from qa.models import Answer, AuditEvent, Notification, Question, Rating


def ask_form(**overrides):
    data = {
        "title": "醉酒驾驶电动自行车是否构成危险驾驶罪？",
        "body": "电动自行车经鉴定属于**机动车**，行为人血液酒精含量 90mg/100ml，是否构成危险驾驶罪？",
        "category": "criminal",
        "tags": "醉驾, 电动自行车",
        "case_deadline": "",
        "law_not_facts": "y",
        "not_classified": "y",
    }
    data.update(overrides)
    return data


def test_login_required_everywhere(client, people):
    for path in ["/", "/ask", "/questions", "/inbox", "/moderation", "/admin/users", "/knowledge", "/notifications"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_whole_loop_through_pages(client, auth, people):
    # The asker logs in and asks.
    assert auth.login("asker").status_code == 302
    page = client.get("/ask")
    assert "向上级院答疑专家提问" in page.get_data(as_text=True)
    response = client.post("/ask", data=ask_form(), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    number = re.search(r"JD\d{4}-110105-\d{5}", html).group(0)
    assert f"问题已提交，编号 {number}" in html
    assert "李专家" in html  # routed to the city expert, shown on the page
    question = db.session.execute(db.select(Question).filter_by(number=number)).scalar_one()
    assert question.status == "assigned" and question.assignee.username == "city_expert"
    auth.logout()

    # The expert sees it in the inbox and answers.
    auth.login("city_expert")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert number in inbox and "醉酒驾驶电动自行车" in inbox
    thread = client.get(f"/q/{number}").get_data(as_text=True)
    assert "撰写答复" in thread
    response = client.post(f"/q/{number}/answers", data={"body": "依据《刑法》第一百三十三条之一，构成危险驾驶罪。"},
                           follow_redirects=True)
    assert "已答复问题" in response.get_data(as_text=True)
    auth.logout()

    # The asker is notified (bell count) and accepts.
    auth.login("asker")
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="unread-count">\d+<', home)
    notes = client.get("/notifications").get_data(as_text=True)
    assert "收到了答复" in notes
    thread = client.get(f"/q/{number}").get_data(as_text=True)
    assert "以上意见仅供参考" in thread and "采纳此答复" in thread
    answer = db.session.execute(db.select(Answer)).scalar_one()
    response = client.post(f"/q/{number}/accept", data={"answer_id": answer.id}, follow_redirects=True)
    assert "已办结" in response.get_data(as_text=True)
    auth.logout()

    # The moderator rates (a low score needs a comment).
    auth.login("moderator")
    assert number in client.get("/moderation").get_data(as_text=True)
    low = {"accuracy": "2", "basis": "4", "relevance": "5", "clarity": "4", "comment": ""}
    response = client.post(f"/answers/{answer.id}/rate", data=low)
    assert response.status_code == 422 and "须填写评语" in response.get_data(as_text=True)
    assert db.session.execute(db.select(Rating)).first() is None
    good = {"accuracy": "5", "basis": "4", "relevance": "5", "clarity": "4", "comment": "引用准确"}
    response = client.post(f"/answers/{answer.id}/rate", data=good, follow_redirects=True)
    assert "4.5" in response.get_data(as_text=True) and "1 次评定" in response.get_data(as_text=True)
    auth.logout()

    # The admin marks it canonical with a curated text.
    auth.login("admin")
    form = client.get(f"/answers/{answer.id}/canonical").get_data(as_text=True)
    assert "第一百三十三条之一" in form  # pre-filled with the answer
    response = client.post(f"/answers/{answer.id}/canonical",
                           data={"text": "**权威答复**：构成危险驾驶罪。", "effective_date": ""}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert 'data-testid="canonical-mark"' in html and "<strong>权威答复</strong>" in html
    assert "以上意见仅供参考" not in html
    knowledge = client.get("/knowledge").get_data(as_text=True)
    assert number in knowledge

    # Every step is on the handling trail, in order, under the same number.
    actions = [e.action for e in db.session.execute(
        db.select(AuditEvent).filter_by(question_number=number).order_by(AuditEvent.id)).scalars()]
    assert actions == ["question.created", "question.assigned", "answer.posted", "answer.accepted",
                       "answer.rated", "answer.canonical"]
    trail = client.get(f"/q/{number}").get_data(as_text=True)
    for label in ("提问", "自动分派给 李专家", "采纳答复", "质量评定", "列为权威答复"):
        assert label in trail
    assert db.session.execute(db.select(Notification).filter_by(user_id=people["asker"].id)).first()


def test_ask_bad_input_shows_message_and_saves_nothing(client, auth, people):
    auth.login("asker")
    cases = [
        ({"title": ""}, "请填写标题"),
        ({"title": "问" * 121}, "标题不能超过 120 个字"),
        ({"body": "文" * 20001}, "问题内容不能超过 20000 个字"),
        ({"category": "astrology"}, "请选择有效的业务条线"),
        ({"law_not_facts": ""}, "不涉及具体案件的事实认定"),
        ({"not_classified": ""}, "不含涉密信息"),
        ({"case_deadline": "2001-01-01"}, "办案期限不能早于今天"),
        ({"case_deadline": "明天"}, "不是有效的日期值"),
    ]
    for overrides, message in cases:
        response = client.post("/ask", data=ask_form(**overrides))
        assert response.status_code == 422, overrides
        assert message in response.get_data(as_text=True), overrides
    assert db.session.execute(db.select(Question)).first() is None
