"""The flask commands an operator runs: setup, users, tokens, imports and the demo data."""
from __future__ import annotations

import logging
import os

import pytest

from qa import create_app
from qa.extensions import db
from qa.models import Answer, CanonicalAnswer, Procuratorate, Question, User
from qa.services.accounts import authenticate, user_for_token
from qa.services.demo import DEMO_PASSWORD
from tests.conftest import _base_config

PG_URL = os.environ.get("TEST_DATABASE_URL")


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# Users and tokens --------------------------------------------------------------------------


def test_user_create_with_password_can_log_in(runner, orgs):
    result = runner.invoke(args=["user", "create", "zhangsan", "--name", "张三", "--org", "110105",
                                 "--roles", "expert", "--specialities", "criminal;civil",
                                 "--password", "long-enough-pw"])

    assert result.exit_code == 0, result.output
    assert "已创建用户 zhangsan（张三，北京市朝阳区人民检察院）" in result.output
    user = authenticate("zhangsan", "long-enough-pw")
    assert user is not None
    assert user.roles == {"asker", "expert"} and user.specialities == {"criminal", "civil"}
    assert authenticate("zhangsan", "wrong-password") is None


def test_user_create_with_unknown_org_fails_in_chinese(runner, orgs):
    result = runner.invoke(args=["user", "create", "lisi", "--name", "李四", "--org", "999999",
                                 "--password", "long-enough-pw"])

    assert result.exit_code != 0
    assert "单位代码“999999”不存在" in result.output
    assert db.session.execute(db.select(User).filter_by(username="lisi")).first() is None


def test_token_create_prints_the_token_last(runner, people):
    result = runner.invoke(args=["token", "create", "asker", "--name", "脚本"])

    assert result.exit_code == 0, result.output
    token = last_line(result.stdout)
    assert token.startswith("jd_")
    assert user_for_token(token).username == "asker"


def test_token_create_for_unknown_user_fails(runner, people):
    result = runner.invoke(args=["token", "create", "nobody"])

    assert result.exit_code != 0
    assert "用户不存在" in result.output


# Imports -----------------------------------------------------------------------------------


def test_import_orgs_and_users_from_files(runner, orgs, tmp_path):
    orgs_file = tmp_path / "orgs.csv"
    orgs_file.write_text("code,name,level,parent_code\n"
                         "330100,浙江省杭州市人民检察院,3,330000\n"
                         "330000,浙江省人民检察院,2,100000\n", encoding="utf-8-sig")  # Excel writes a BOM
    users_file = tmp_path / "users.csv"
    users_file.write_text("username,name,org_code,roles,specialities\n"
                          "shenlh,沈丽华,330100,expert,criminal;juvenile\n"
                          "xujp,徐建平,330000,,\n", encoding="utf-8")

    result = runner.invoke(args=["import", "orgs", str(orgs_file)])
    assert result.exit_code == 0, result.output
    assert "导入完成：新增 2，更新 0，未变 0。" in result.output

    result = runner.invoke(args=["import", "users", str(users_file)])
    assert result.exit_code == 0, result.output
    assert "导入完成：新增 2，更新 0，未变 0。" in result.output
    shen = db.session.execute(db.select(User).filter_by(username="shenlh")).scalar_one()
    assert shen.org.name == "浙江省杭州市人民检察院" and shen.specialities == {"criminal", "juvenile"}

    result = runner.invoke(args=["import", "users", str(users_file)])
    assert "导入完成：新增 0，更新 0，未变 2。" in result.output


def test_import_with_bad_rows_changes_nothing_and_lists_the_lines(runner, orgs, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("username,name,org_code,roles,specialities\n"
                    "good,好人,110105,,\n"
                    "bad,坏行,999999,,\n"
                    "worse,更坏,110105,wizard,\n", encoding="utf-8")

    result = runner.invoke(args=["import", "users", str(path)])

    assert result.exit_code != 0
    assert "第 3 行：单位代码“999999”不存在。" in result.output
    assert "第 4 行：未知角色：wizard。" in result.output
    assert "导入失败：2 行有误，未做任何更改。" in result.output
    assert db.session.execute(db.select(User).filter_by(username="good")).first() is None


def test_import_rejects_a_file_that_is_not_utf8(runner, orgs, tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_bytes("code,name,level,parent_code\n330000,浙江省人民检察院,2,100000\n".encode("gbk"))

    result = runner.invoke(args=["import", "orgs", str(path)])

    assert result.exit_code != 0
    assert "不是 UTF-8 编码" in result.output
    assert db.session.execute(db.select(Procuratorate).filter_by(code="330000")).first() is None


# Demo data ---------------------------------------------------------------------------------


def test_demo_loads_threads_into_an_empty_database(runner):
    result = runner.invoke(args=["demo"])

    assert result.exit_code == 0, result.output
    assert f"admin\t{DEMO_PASSWORD}\t管理员\t黄振宇" in result.output
    assert authenticate("expert", DEMO_PASSWORD) is not None
    questions = list(db.session.execute(db.select(Question)).scalars())
    assert len(questions) >= 30
    lines = {q.category.parent_code or q.category_code for q in questions}
    assert {"criminal", "civil", "administrative", "public_interest", "juvenile"} <= lines
    statuses = {q.status for q in questions}
    assert {"pending", "assigned", "answered", "resolved"} <= statuses
    # Unanswered questions sit in an expert's inbox (or the admins' queue), with a due date.
    assigned = [q for q in questions if q.status == "assigned"]
    assert all(q.assignee is not None and q.due_at is not None for q in assigned)
    assert db.session.execute(db.select(db.func.count()).select_from(Answer)).scalar_one() >= 20
    assert db.session.execute(db.select(db.func.count()).select_from(CanonicalAnswer)).scalar_one() >= 3
    # Every answer was written by the expert the question was routed to, never by the asker.
    for question in questions:
        for answer in question.answers:
            assert answer.author_id != question.asker_id
            assert any(a.expert_id == answer.author_id for a in question.assignments)


def test_demo_refuses_a_database_with_users(runner, people):
    result = runner.invoke(args=["demo"])

    assert result.exit_code != 0
    assert "数据库中已有用户" in result.output
    assert db.session.execute(db.select(Question)).first() is None


# Setup (migrations) ------------------------------------------------------------------------


@pytest.fixture
def keep_logging():
    """Alembic's env.py reconfigures logging from alembic.ini; put things back for the other tests."""
    loggers = {name: lg for name, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    state = {name: (lg.disabled, lg.level) for name, lg in loggers.items()}
    root_handlers, root_level = list(logging.root.handlers), logging.root.level
    yield
    for name, (disabled, level) in state.items():
        loggers[name].disabled = disabled
        loggers[name].setLevel(level)
    for handler in list(logging.root.handlers):
        if handler not in root_handlers:
            logging.root.removeHandler(handler)
    logging.root.setLevel(root_level)


@pytest.mark.skipif(bool(PG_URL), reason="setup runs the migrations on a fresh SQLite file only")
def test_setup_migrates_a_fresh_database_and_loads_the_demo(tmp_path, keep_logging):
    fresh = create_app(_base_config(f"sqlite:///{tmp_path / 'fresh.db'}"))  # cheap hashing, as elsewhere
    runner = fresh.test_cli_runner()

    result = runner.invoke(args=["setup"])

    assert result.exit_code == 0, result.output
    assert "数据库已就绪" in result.output
    assert f"已载入演示数据。演示账号（密码均为 {DEMO_PASSWORD}）" in result.output
    assert "asker" in result.output and "管理员" in result.output

    again = runner.invoke(args=["setup"])

    assert again.exit_code == 0, again.output
    assert "未重复载入演示数据" in again.output
    assert "admin" in again.output  # the demo accounts are listed again on every start
    with fresh.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(Question)).scalar_one() >= 30
        db.session.remove()
        db.engine.dispose()
