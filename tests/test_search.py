"""Search: the outbox, rebuild and check, citations, query syntax and filters, escaping, imports, API."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from qa.errors import ValidationError
from qa.extensions import begin_write, db
from qa.models import Citation, IndexTask, Question
from qa.search import (
    Filters,
    SearchUnavailable,
    check_index,
    drain_outbox,
    rebuild_index,
    run_search,
    similar_questions,
)
from qa.search.citations import find_citations, parse_statute
from qa.search.index import get_searcher, index_root, live_dir
from qa.services.accounts import create_api_token
from qa.services.answers import mark_canonical, post_answer
from qa.services.audit import enqueue_index
from qa.services.questions import add_supplement
from qa.services.search_terms import add_search_term
from tests.factories import make_question

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def answered(people, title, body, answer="依法处理。", category="criminal", **kwargs):
    question = make_question(people["asker"], title=title, body=body, category=category, **kwargs)
    post_answer(question.assignee, question, answer)
    return question


def numbers(query, **kwargs) -> list[str]:
    db.session.commit()  # end the test's read transaction: see what the requests committed
    return [hit.number for hit in run_search(query, **kwargs).hits]


@pytest.fixture
def corpus(people):
    return build_corpus(people)


def build_corpus(people) -> dict:
    """Four answered threads and one unanswered, indexed."""
    threads = {
        "drunk": answered(people, "醉酒驾驶机动车的认定标准", "血液酒精含量达到80毫克构成危险驾驶罪吗？",
                          "依据刑法第一百三十三条之一，醉酒驾驶机动车的，处拘役。"),
        "wheel": answered(people, "乘客抢夺公交车方向盘如何定性", "乘客在行驶中的公交车上与司机争执并抢夺方向盘。",
                          "符合《中华人民共和国刑法》第一百三十三条之二的，以妨害安全驾驶罪论处。"),
        "theft": answered(people, "多次盗窃的认定", "二年内盗窃三次以上如何理解？", "依据刑法第264条认定多次盗窃。",
                          tags="盗窃,多次"),
        "civil": answered(people, "民事生效裁判监督的受理条件", "当事人申请民事监督，需要满足哪些条件？",
                          "依照民事诉讼法第二百一十六条的规定处理。", category="civil"),
    }
    threads["open"] = make_question(people["asker"], title="醉驾案件中的取保候审", body="尚未答复的醉驾问题。")
    drain_outbox()
    return threads


# The outbox ---------------------------------------------------------------------------------------


def test_changes_reach_the_index_only_through_the_outbox(app, people):
    question = answered(people, "帮助信息网络犯罪活动罪的主观明知", "出租银行卡的行为如何认定明知？")
    assert db.session.execute(db.select(IndexTask).filter_by(question_id=question.id)).first() is not None
    assert numbers("帮助信息网络犯罪活动罪") == []  # committed, not yet indexed
    assert drain_outbox() >= 2
    assert numbers("帮助信息网络犯罪活动罪") == [question.number]
    assert db.session.execute(db.select(IndexTask)).first() is None  # acknowledged after the index commit


def test_a_crash_between_commit_and_indexing_loses_nothing(app, people):
    question = answered(people, "认罪认罚从宽的适用阶段", "审查起诉阶段才认罪的能否从宽？")
    # The process "dies" here: the commit happened, the drain never ran. The index is also broken.
    toc = next(live_dir(index_root()).glob("_MAIN_*.toc"))
    toc.unlink()
    with pytest.raises(SearchUnavailable):
        drain_outbox()
    task = db.session.execute(db.select(IndexTask).filter_by(question_id=question.id)).scalars().first()
    db.session.refresh(task)
    assert task.attempts == 1 and task.last_error  # kept, with the failure recorded
    from qa.search.index import close_searchers

    close_searchers()
    rebuild_index()  # the operator's repair; the outbox survives until the index has the change
    assert numbers("认罪认罚从宽") == [question.number]
    assert db.session.execute(db.select(IndexTask)).first() is None


def test_a_rolled_back_change_indexes_nothing(app, people, corpus):
    question = corpus["theft"]
    question.title = "回滚的标题羁押必要性审查"
    enqueue_index(question)
    db.session.flush()  # the task exists inside the uncommitted transaction
    assert drain_outbox() == 0  # the drain's own session sees only committed rows
    db.session.rollback()
    assert drain_outbox() == 0
    assert numbers("羁押必要性审查") == []
    assert numbers("多次盗窃") == [question.number]


def test_a_write_request_drains_after_its_commit(app, client, auth, people):
    question = make_question(people["asker"], title="未成年人附条件不起诉的考验期", body="考验期内又犯新罪如何处理？")
    drain_outbox()
    auth.login("city_expert")
    response = client.post(f"/q/{question.number}/answers", data={"body": "撤销附条件不起诉决定，提起公诉。"})
    assert response.status_code == 302
    assert numbers("附条件不起诉") == [question.number]  # searchable right after the request


def test_production_request_workers_never_write_the_index(app, client, auth, people):
    app.config["QA_SEARCH_WRITER"] = "worker"
    question = make_question(people["asker"], title="刑事和解的适用范围", body="哪些案件可以刑事和解？")
    auth.login("city_expert")
    client.post(f"/q/{question.number}/answers", data={"body": "依据刑事诉讼法第288条。"})
    assert numbers("刑事和解") == []
    runner = app.test_cli_runner()
    result = runner.invoke(args=["search", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert numbers("刑事和解") == [question.number]


# Rebuild and check --------------------------------------------------------------------------------


def test_rebuild_swaps_in_a_fresh_index_while_searches_keep_working(app, people, corpus):
    root = index_root()
    before = os.readlink(root / "current")
    old = get_searcher(root)
    assert rebuild_index() == 4
    assert os.readlink(root / "current") != before
    assert old.doc_count() == 4  # a searcher opened before the swap still answers
    assert numbers("醉酒驾驶")[0] == corpus["drunk"].number


def test_check_reports_missing_extra_and_stale_and_repairs(app, people, corpus):
    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(live_dir(index_root())))
    writer = ix.writer()
    writer.delete_by_term("id", str(corpus["drunk"].id))  # missing
    writer.update_document(id=str(corpus["theft"].id), number=corpus["theft"].number, version="old",
                           content="盗窃")  # stale
    writer.add_document(id="999999", number="JD2026-000000-99999", version="x", content="幽灵文档")  # extra
    writer.commit()
    report = check_index(repair=False)
    assert (report.missing, report.stale, report.extra) == ([corpus["drunk"].id], [corpus["theft"].id], [999999])
    assert check_index(repair=True).repaired
    assert check_index().ok
    assert numbers("幽灵文档") == []


def test_check_finds_exactly_the_injected_drift_and_repairs_it(app, runner, people, corpus):
    """R16: 10 documents deleted from the index and 10 stored versions altered: 20 discrepancies."""
    for i in range(16):
        answered(people, f"第{i}号漂移测试问题", f"漂移测试正文{i}", f"漂移测试答复{i}")
    drain_outbox()
    from whoosh import index as whoosh_index

    from qa.search.index import load_documents

    ids = sorted(int(f["id"]) for f in get_searcher(index_root()).all_stored_fields())
    assert len(ids) == 20
    writer = whoosh_index.open_dir(str(live_dir(index_root()))).writer()
    for qid in ids[:10]:
        writer.delete_by_term("id", str(qid))
    for doc in load_documents(db.session, ids[10:]).values():
        writer.update_document(**{**doc, "version": "drifted"})
    writer.commit()
    report = check_index(repair=False)
    assert (report.missing, report.stale, report.extra) == (ids[:10], ids[10:], [])
    result = runner.invoke(args=["search", "check"])
    assert "缺失 10，多余 0，过期 10" in result.output and "已修复" in result.output, result.output
    assert check_index().ok and len(numbers("漂移测试")) == 10  # 10 per page, all 16 back in the index


def test_hidden_answers_are_neither_indexed_nor_quoted(app, client, auth, people, corpus):
    from qa.services.quality import hide_answer, unhide_answer

    theft = corpus["theft"]
    secret = post_answer(theft.assignee, theft, "另可参照电信网络诈骗案件的处理意见。")
    drain_outbox()
    assert numbers("电信网络诈骗") == [theft.number]
    hide_answer(people["moderator"], secret, "与问题无关")
    assert db.session.execute(db.select(IndexTask).filter_by(question_id=theft.id)).first() is not None
    drain_outbox()
    assert numbers("电信网络诈骗") == []
    auth.login("asker")
    page = client.get("/search", query_string={"q": "多次盗窃"}).get_data(as_text=True)
    assert theft.number in page and "电信网络诈骗" not in page  # nor in the snippet
    unhide_answer(people["moderator"], secret, "恢复显示")
    drain_outbox()
    assert numbers("电信网络诈骗") == [theft.number]
    civil = corpus["civil"]  # its only answer hidden: the thread leaves search
    hide_answer(people["moderator"], civil.answers[0], "内容有误")
    drain_outbox()
    assert numbers("民事监督") == []
    assert check_index().ok


def test_many_matches_show_an_estimated_count(app, client, auth, people, monkeypatch):
    from qa.search import query
    from qa.services.archive import ThreadRecord, import_records

    import_records([(i, ThreadRecord(ref=f"test:{i}", kind="archive", label="测试", title=f"盗窃案件第{i}问",
                                     body=f"盗窃数额的认定{i}", category="criminal",
                                     answers=[("盗窃数额按刑法第264条认定。", "专家", None)])) for i in range(80)])
    drain_outbox()
    exact = run_search("盗窃")  # more matches than the top hits scored: counted one by one
    assert (exact.total, exact.total_is_estimate, len(exact.hits)) == (80, False, 10)
    monkeypatch.setattr(query, "COUNT_EXACT_MAX", 20)  # as with thousands of matches
    estimated = run_search("盗窃")
    assert estimated.total_is_estimate and 20 <= estimated.total <= 160
    auth.login("asker")
    page = client.get("/search", query_string={"q": "盗窃"}).get_data(as_text=True)
    assert f"共找到约 {estimated.total:,} 个问答" in page  # 约 37,000 with a thousands separator
    _token, raw = create_api_token(people["asker"], people["asker"], "检索")
    data = client.get("/api/v1/search", query_string={"q": "盗窃"}, headers={"Authorization": f"Bearer {raw}"}).get_json()
    assert (data["total"], data["total_is_estimate"]) == (estimated.total, True)


def test_search_rebuild_and_check_commands(app, runner, people, corpus):
    result = runner.invoke(args=["search", "rebuild", "--procs", "1"])
    assert result.exit_code == 0 and "已重建：4 个问答" in result.output
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 0 and "索引与数据库一致" in result.output


# Citations -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, key", [
    ("《中华人民共和国刑法》第二百六十四条", "刑法:264"),
    ("刑法第264条", "刑法:264"),
    ("刑法第一百三十三条之一", "刑法:133-1"),
    ("刑诉法第177条", "刑事诉讼法:177"),
    ("《人民检察院刑事诉讼规则》第369条", "人民检察院刑事诉讼规则:369"),
    ("高检规则第三百六十九条第二款", "人民检察院刑事诉讼规则:369"),
    ("根据刑法 第 133 条之一规定", "刑法:133-1"),
])
def test_citation_spellings_normalize_to_law_and_article(text, key):
    assert [c.key for c in find_citations(text)] == [key]


def test_a_list_of_articles_cites_each():
    cites = find_citations("依照刑法第二百六十四条、第二百六十七条第二款和第269条的规定")
    assert [c.key for c in cites] == ["刑法:264", "刑法:267", "刑法:269"]


@pytest.mark.parametrize("value", ["刑法264", "刑法第二百六十四条", "《中华人民共和国刑法》第264条", "刑法 264"])
def test_statute_filters_parse(value):
    assert parse_statute(value) == ("刑法", 264, 0)


def test_citations_are_stored_and_searchable_however_written(app, people, corpus):
    stored = db.session.execute(db.select(Citation.source_type, Citation.law, Citation.article, Citation.sub)
                                .filter_by(question_id=corpus["drunk"].id)).all()
    assert ("answer", "刑法", 133, 1) in stored
    add_supplement(people["asker"], corpus["civil"], "另见《中华人民共和国刑法》第二百六十四条。")
    drain_outbox()
    assert sorted(numbers("法条:刑法264")) == sorted([corpus["theft"].number, corpus["civil"].number])
    assert numbers("法条:刑法133之一") == [corpus["drunk"].number]
    assert numbers("法条:刑法第一百三十三条之二") == [corpus["wheel"].number]
    assert numbers("法条:民诉法216") == [corpus["civil"].number]


def test_citations_become_links_and_the_article_page_lists_citing_threads(app, client, auth, people, corpus, tmp_path):
    law = tmp_path / "刑法"
    law.mkdir()
    (law / "刑法.md").write_text(
        "# 中华人民共和国刑法\n\n<!-- INFO END -->\n\n## 第二编 分则\n\n"
        "第一百三十三条之一 在道路上驾驶机动车，有下列情形之一的，处拘役，并处罚金：\n\n（二）醉酒驾驶机动车的；\n\n"
        "第二百六十四条 盗窃公私财物，数额较大的……\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "laws", str(tmp_path)])
    assert result.exit_code == 0 and "条文 2 条" in result.output
    auth.login("asker")
    page = client.get(f"/q/{corpus['drunk'].number}").get_data(as_text=True)
    assert 'class="statute-link" href="/laws/%E5%88%91%E6%B3%95/133-1"' in page
    assert "醉酒驾驶机动车的；" in page  # the article's text in the link's title
    article = client.get("/laws/刑法/133-1").get_data(as_text=True)
    assert "第一百三十三条之一" in article and "（二）醉酒驾驶机动车的；" in article
    assert corpus["drunk"].title in article


def test_links_never_inject_markup(app):
    from qa.search.citations import link_citations

    html = '<p>刑法第264条 &lt;script&gt;</p><pre>刑法第1条</pre><a href="/x">刑法第2条</a>'
    out = str(link_citations(html, url_for_article=lambda law, a, s: f'/laws/{law}/{a}"><script>'))
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert out.count("statute-link") == 1  # not inside <pre> or an existing link


# Query syntax, filters, ranking, escaping ------------------------------------------------------------


def test_colloquial_words_find_the_legal_terms(app, people, corpus):
    assert numbers("醉驾")[0] == corpus["drunk"].number
    assert numbers("抢方向盘")[0] == corpus["wheel"].number
    assert corpus["open"].number not in numbers("醉驾")  # unanswered threads are not in the index


def test_legal_terms_stay_whole(app):
    from qa.search.analysis import main_words

    assert "帮助信息网络犯罪活动罪" in main_words("涉嫌帮助信息网络犯罪活动罪的认定")
    assert "认罪认罚从宽" in main_words("适用认罪认罚从宽制度")


def test_phrases_exclusions_and_filters_in_the_query(app, people, corpus):
    assert numbers('"危险驾驶罪"') == [corpus["drunk"].number]
    assert corpus["drunk"].number not in numbers("驾驶 -醉酒")
    only_excluded = numbers("-醉酒", filters=Filters(category="criminal"))  # a filter and an exclusion alone
    assert corpus["theft"].number in only_excluded and corpus["drunk"].number not in only_excluded
    assert numbers("类别:民事 监督") == [corpus["civil"].number]
    assert numbers("监督", filters=Filters(category="criminal")) == []
    assert numbers("标签:多次") == [corpus["theft"].number]
    assert numbers(corpus["wheel"].number) == [corpus["wheel"].number]


def test_canonical_filter_status_dates_and_sorting(app, people, corpus):
    answer = corpus["theft"].answers[0]
    mark_canonical(people["admin"], answer)
    drain_outbox()
    assert numbers("盗窃 醉酒", filters=Filters(canonical=True)) == [corpus["theft"].number]
    hits = run_search("盗窃 醉酒").hits
    assert hits[0].canonical is True  # canonical answers carry their mark
    from qa.timeutil import china_today

    today = china_today()
    assert len(numbers("醉酒 盗窃 监督 方向盘", filters=Filters(date_from=today, date_to=today))) == 4
    from datetime import timedelta

    assert numbers("醉酒", filters=Filters(date_to=today - timedelta(days=1))) == []
    assert numbers("醉酒", filters=Filters(status="resolved")) == []
    newest = numbers("醉酒 盗窃 监督 方向盘", sort="newest")
    assert sorted(newest) == sorted(t.number for k, t in corpus.items() if k != "open")


def test_a_pasted_title_finds_its_own_thread_first(app, people, corpus):
    other = answered(people, "商品房实际销售价格高于备案价格的，购房者能否要求退差价",
                     "商品房实际销售价格高于备案价格，房屋买卖合同签订后购房者发现价格高于备案价格。" * 3,
                     "房屋买卖合同中的价格条款与备案价格不一致的，按合同约定处理。", category="civil")
    own = answered(people, "商品房实际销售价格高于备案价格的，房屋买卖合同是否有效",
                   "请问此种情形合同效力如何？", "备案价格属于行政管理措施，不影响合同效力。", category="civil")
    drain_outbox()
    assert numbers("商品房实际销售价格高于备案价格的，房屋买卖合同是否有效") == [own.number, other.number]


def test_highlights_are_escaped(app, people):
    question = answered(people, "<script>alert(1)</script>认罪认罚具结书", "<b>具结书</b>的效力如何？",
                        "具结书 <img src=x onerror=alert(1)>")
    drain_outbox()
    hit = run_search("具结书").hits[0]
    assert hit.number == question.number
    assert "<script>" not in str(hit.title_html) and "&lt;script&gt;" in str(hit.title_html)
    assert "<mark>具结书</mark>" in str(hit.snippet_html)
    assert "<img" not in str(hit.snippet_html) and "<b>" not in str(hit.snippet_html)


def test_over_long_queries_are_rejected(app, client, auth, people):
    with pytest.raises(ValidationError):
        run_search("醉驾" * 200)
    auth.login("asker")
    response = client.get("/search", query_string={"q": "醉驾" * 200})
    assert response.status_code == 400 and "检索词过长" in response.get_data(as_text=True)
    response = client.get("/search", query_string={"q": "醉" * 20_000})  # R13: refused before parsing
    assert response.status_code == 400 and "检索词过长" in response.get_data(as_text=True)


def test_results_are_rechecked_against_the_database(app, people, corpus):
    question = corpus["civil"]
    db.session.commit()
    begin_write()
    question.status = "closed"  # e.g. withdrawn; the index has not caught up yet
    db.session.commit()
    assert numbers("类别:民事 监督") == []


def test_search_page_shows_count_snippets_and_pages(app, client, auth, people, corpus):
    auth.login("asker")
    page = client.get("/search", query_string={"q": "醉驾"}).get_data(as_text=True)
    assert "共找到 1 个问答" in page and corpus["drunk"].number in page and "<mark>醉酒驾驶</mark>" in page
    assert client.get("/search", query_string={"q": corpus["drunk"].number}).status_code == 302


def test_similar_questions_while_asking(app, client, auth, people, corpus):
    assert similar_questions("醉酒开车被查，酒精含量刚过80")[0].number == corpus["drunk"].number
    auth.login("asker")
    data = client.get("/search/similar", query_string={"title": "公交车上抢方向盘", "text": ""}).get_json()
    assert data["hits"][0]["number"] == corpus["wheel"].number
    assert len(data["hits"]) <= 5
    ask = client.get("/ask").get_data(as_text=True)
    assert "js/similar.js" in ask and 'id="similar-panel"' in ask


def test_admins_extend_the_synonym_table(app, client, auth, people, corpus):
    add_search_term(people["admin"], "synonym", "车上闹方向", "妨害安全驾驶罪")
    assert numbers("车上闹方向")[0] == corpus["wheel"].number
    auth.login("admin")
    page = client.get("/admin/search/terms").get_data(as_text=True)
    assert "车上闹方向" in page


# Imports ------------------------------------------------------------------------------------------

JICUI = """# 检答网集萃（第十二批）

## 文章信息

发布日期：2019-09-20

## 问题标题索引

1. 附条件不起诉考察期间又犯新罪由谁管辖

## 问题1：附条件不起诉考察期间又犯新罪由谁管辖

问题标题：附条件不起诉考察期间又犯新罪由谁管辖

咨询类别：未成年人检察

咨询内容：未成年犯罪嫌疑人在附条件不起诉考验期内到外地又犯新罪，应由哪个检察院一并起诉？（咨询人：某省某市检察院 张三）

解答专家：李四

解答内容：

依照《人民检察院刑事诉讼规则》第四百七十七条，撤销附条件不起诉决定，提起公诉。

## 问题2：缺少解答的条目

问题标题：缺少解答的条目

咨询内容：没有解答内容。
"""


def test_import_jicui_is_idempotent_and_indexed(app, runner, client, auth, people, tmp_path):
    (tmp_path / "检答网集萃（第十二批）.md").write_text(JICUI, encoding="utf-8")
    result = runner.invoke(args=["import", "jicui", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "新增 1 个问答" in result.output and "问题2" in result.output
    question = db.session.execute(db.select(Question)).scalars().one()
    from qa.models import ThreadSource

    source = db.session.get(ThreadSource, question.id)
    assert source.label == "集萃第12批·问题1" and source.asker_label == "某省某市检察院 张三"
    assert question.category_code == "juvenile" and question.status == "resolved"
    assert question.answers[0].author.name == "李四" and not question.answers[0].author.active
    assert numbers("附条件不起诉 外地") == [question.number]
    auth.login("asker")
    page = client.get(f"/q/{question.number}").get_data(as_text=True)
    assert "来源：集萃第12批·问题1" in page and "咨询人：某省某市检察院 张三" in page
    assert numbers("法条:高检规则477") == [question.number]
    again = runner.invoke(args=["import", "jicui", str(tmp_path)])
    assert "新增 0 个问答，已存在 1 个" in again.output


def test_import_threads_reports_bad_lines_and_imports_the_rest(app, runner, tmp_path):
    good = {"title": "监外执行的条件", "body": "暂予监外执行应当具备哪些条件？", "category": "刑事执行检察",
            "tags": ["监外执行"], "asked_at": "2021-05-06", "asker_org": "某县检察院",
            "answers": [{"body": "依照刑事诉讼法第265条。", "expert": "王五", "answered_at": "2021-05-10T09:00:00+08:00"}]}
    lines = [json.dumps(good, ensure_ascii=False), "{not json", json.dumps({"title": "无答复", "body": "x",
             "category": "criminal", "answers": []}, ensure_ascii=False),
             json.dumps({**good, "category": "不存在的条线"}, ensure_ascii=False)]
    path = tmp_path / "threads.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import", "threads", str(path)])
    assert result.exit_code != 0
    assert "第 2 行" in result.output and "第 3 行" in result.output and "第 4 行" in result.output
    assert "新增 1 个问答" in result.output
    question = db.session.execute(db.select(Question)).scalars().one()
    assert question.number.startswith("JD2021-IMPORT-") and question.category_code == "enforcement"
    assert numbers("暂予监外执行") == [question.number]
    assert numbers("法条:刑诉法265") == [question.number]
    runner.invoke(args=["import", "threads", str(path)])
    assert db.session.execute(db.select(db.func.count(Question.id))).scalar() == 1


@pytest.mark.skipif(not (SHARED / "jicui").is_dir(), reason="../shared/data not present")
def test_real_jicui_items_parse(tmp_path):
    from qa.services.archive import parse_jicui_file

    files = sorted((SHARED / "jicui").glob("检答网集萃*.md"))[:5]
    for path in files:
        shutil.copy(path, tmp_path / path.name)
        records, problems = parse_jicui_file(tmp_path / path.name)
        assert records and not problems
        assert all(r.title and r.body and r.answers[0][0] for r in records)


# API --------------------------------------------------------------------------------------------


def test_api_search_and_similar(app, client, people, corpus):
    _token, raw = create_api_token(people["asker"], people["asker"], "检索")
    headers = {"Authorization": f"Bearer {raw}"}
    data = client.get("/api/v1/search", query_string={"q": "醉驾"}, headers=headers).get_json()
    assert data["total"] >= 1
    hit = data["hits"][0]
    assert set(hit) == {"number", "title", "snippet", "category", "canonical", "score"}
    assert hit["number"] == corpus["drunk"].number and hit["category"] == "criminal"
    data = client.get("/api/v1/search", query_string={"q": "监督", "category": "criminal"}, headers=headers).get_json()
    assert data["total"] == 0
    data = client.get("/api/v1/similar", query_string={"text": "公交车上抢方向盘"}, headers=headers).get_json()
    assert data["hits"][0]["number"] == corpus["wheel"].number
    response = client.get("/api/v1/search", query_string={"q": "醉" * 500}, headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "q"
    assert client.get("/api/v1/search", query_string={"q": "醉驾"}).status_code == 401
