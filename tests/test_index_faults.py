"""Search-index faults (RELIABILITY R06–R08): a lost or damaged index answers 503 while posting goes
on, and `search rebuild` restores it; a full or read-only index volume keeps every write in the
outbox, search serves the old index, the admins see the alert, and the backlog drains afterwards.

The volume faults use a real 256 KiB tmpfs mounted over the index folder (needs root; skipped with
the reason otherwise): chmod does not stop root, a mount does.
"""
from __future__ import annotations

import errno
import logging
import os
import shutil
import subprocess
import time

import pytest
from whoosh import index as whoosh_index

from qa.extensions import db
from qa.models import IndexTask
from qa.search import check_index, drain_outbox, run_search
from qa.search.index import SearchUnavailable, built_marker, close_searchers, index_root, live_dir
from qa.services.accounts import create_api_token
from tests.factories import make_question
from tests.test_search import answered, build_corpus, numbers


@pytest.fixture
def corpus(people):
    return build_corpus(people)


def post_answer_over_http(client, auth, people, title: str, body: str, answer: str):
    """An asker's question, answered by its expert through the web form: the write must succeed."""
    question = make_question(people["asker"], title=title, body=body)
    auth.logout()
    auth.login(question.assignee.username)
    response = client.post(f"/q/{question.number}/answers", data={"body": answer})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return question


def waiting_tasks(question) -> list[IndexTask]:
    db.session.commit()
    return db.session.execute(db.select(IndexTask).filter_by(question_id=question.id)).scalars().all()


def admin_status_page(client, auth) -> str:
    auth.logout()
    auth.login("admin")
    response = client.get("/admin/search/terms")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# R06: the index lost or damaged while the application runs ------------------------------------------


def remove_index_folder(root):
    shutil.rmtree(root)


def delete_a_segment(root):
    next(live_dir(root).glob("*.seg")).unlink()


def truncate_the_toc(root):
    toc = next(live_dir(root).glob("_MAIN_*.toc"))
    with open(toc, "r+b") as handle:
        handle.truncate(toc.stat().st_size // 2)


@pytest.mark.parametrize("damage", [remove_index_folder, delete_a_segment, truncate_the_toc],
                         ids=["rm -rf", "segment deleted", "toc truncated"])
def test_a_lost_or_damaged_index_answers_503_until_rebuilt(app, client, auth, runner, people, corpus, damage):
    _token, raw = create_api_token(people["asker"], people["asker"], "检索")
    api = {"Authorization": f"Bearer {raw}"}
    auth.login("asker")
    assert client.get("/search", query_string={"q": "醉驾"}).status_code == 200  # a searcher is cached
    root = index_root()
    damage(root)

    started = time.perf_counter()
    page = client.get("/search", query_string={"q": "醉驾"})
    assert time.perf_counter() - started < 1.0
    text = page.get_data(as_text=True)
    assert page.status_code == 503 and "检索暂时不可用" in text and "Traceback" not in text
    similar = client.get("/search/similar", query_string={"title": "公交车上抢方向盘"})
    assert similar.status_code == 503 and "检索暂时不可用" in similar.get_json()["error"]
    for url, args in (("/api/v1/search", {"q": "醉驾"}), ("/api/v1/similar", {"text": "醉酒开车"})):
        response = client.get(url, query_string=args, headers=api)
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "search_unavailable"
        assert "检索暂时不可用" in response.get_json()["error"]["message"]

    # Posting goes on; the change waits in the outbox and no empty index takes the lost one's place.
    question = post_answer_over_http(client, auth, people, "羁押必要性审查的启动程序", "依申请启动的条件？",
                                     "依据人民检察院刑事诉讼规则第五百七十四条办理。")
    assert waiting_tasks(question)
    assert client.get(f"/q/{question.number}").status_code == 200
    if damage is remove_index_folder:
        assert not (root / "current").exists()
    with pytest.raises(SearchUnavailable):
        run_search("醉驾")
    assert "检索不可用" in admin_status_page(client, auth)

    result = runner.invoke(args=["search", "rebuild", "--procs", "1"])
    assert result.exit_code == 0 and "已重建：5 个问答" in result.output, result.output
    result = runner.invoke(args=["search", "check"])
    assert "缺失 0，多余 0，过期 0" in result.output and "索引与数据库一致" in result.output, result.output
    assert numbers("羁押必要性审查") == [question.number]
    assert not waiting_tasks(question)
    auth.logout()
    auth.login("asker")
    assert client.get("/search", query_string={"q": "醉驾"}).status_code == 200


def test_only_a_fresh_instance_gets_an_empty_index(app, people):
    root = index_root()
    assert not built_marker(root).exists()
    assert run_search("醉驾").hits == []  # never built: created empty on first use
    assert built_marker(root).exists()
    close_searchers()
    shutil.rmtree(root)
    question = answered(people, "认罪认罚从宽的适用阶段", "审查起诉阶段才认罪的能否从宽？")
    with pytest.raises(SearchUnavailable):
        drain_outbox(blocking=True)
    assert not (root / "current").exists()  # not silently recreated empty, looking healthy
    assert waiting_tasks(question)[0].attempts == 1


# R07, R08: a full or read-only index volume ---------------------------------------------------------


@pytest.fixture
def index_volume(app, tmp_path):
    """A 256 KiB tmpfs holding the index folder."""
    volume = tmp_path / "volume"
    volume.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(volume)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a small tmpfs for the index (needs root): {mounted.stderr.strip()}")
    app.config["QA_SEARCH_INDEX_DIR"] = str(volume / "search_index")
    close_searchers()
    yield volume
    close_searchers()
    subprocess.run(["umount", "-l", str(volume)], check=False)


def fill(volume):
    with open(volume / "filler", "wb", buffering=0) as handle:
        with pytest.raises(OSError) as error:
            while True:
                handle.write(b"\0" * 4096)
    assert error.value.errno == errno.ENOSPC


def writer_lock_is_free() -> bool:
    lock = whoosh_index.open_dir(str(live_dir(index_root()))).lock("WRITELOCK")
    if not lock.acquire():
        return False
    lock.release()
    return True


def test_a_full_index_volume_keeps_writes_and_catches_up(app, index_volume, client, auth, people, corpus, caplog):
    caplog.set_level(logging.WARNING, logger="qa.search")
    fill(index_volume)
    question = post_answer_over_http(client, auth, people, "刑事和解的适用范围", "哪些案件可以刑事和解？",
                                     "依据刑事诉讼法第二百八十八条，因民间纠纷引起的轻罪案件可以和解。")
    tasks = waiting_tasks(question)
    assert tasks and tasks[0].attempts >= 1 and "No space left" in tasks[0].last_error
    assert writer_lock_is_free()  # the failed writer was cancelled: the next one is not locked out
    for _ in range(2):  # the worker keeps trying; the log says so once per retry interval
        with pytest.raises(OSError):
            drain_outbox(blocking=True)
    failures = [r for r in caplog.records if "search index write failed" in r.getMessage()]
    assert len(failures) == 1 and "ENOSPC" in failures[0].getMessage()
    assert numbers("醉酒驾驶")[0] == corpus["drunk"].number  # search serves the index it has
    page = admin_status_page(client, auth)
    assert "索引写入失败" in page and "No space left on device" in page and "项更新待写入" in page

    os.unlink(index_volume / "filler")
    assert drain_outbox(blocking=True) >= 1
    assert numbers("刑事和解") == [question.number]
    assert not waiting_tasks(question)
    assert check_index().ok
    assert "已与数据库同步" in admin_status_page(client, auth)


def test_a_read_only_index_volume_keeps_writes_and_serves_searches(app, index_volume, client, auth, people,
                                                                    corpus):
    subprocess.run(["mount", "-o", "remount,ro", str(index_volume)], check=True)
    try:
        question = post_answer_over_http(client, auth, people, "未成年人附条件不起诉的考验期",
                                         "考验期内又犯新罪如何处理？", "撤销附条件不起诉决定，提起公诉。")
        tasks = waiting_tasks(question)
        assert tasks and "Read-only file system" in tasks[0].last_error
        assert numbers("醉酒驾驶")[0] == corpus["drunk"].number
        page = admin_status_page(client, auth)
        assert "索引写入失败" in page and "Read-only file system" in page
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(index_volume)], check=True)
    assert drain_outbox(blocking=True) >= 1
    assert numbers("考验期") == [question.number]
    assert check_index().ok
