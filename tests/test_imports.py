"""Bulk onboarding from CSV: procuratorates and users, idempotent, all or nothing, line-numbered."""
from __future__ import annotations

import time

import pytest

from qa.errors import PermissionDenied
from qa.extensions import db
from qa.models import AuditEvent, Procuratorate, User
from qa.services.imports import import_orgs_csv, import_users_csv

ORG_HEADER = "code,name,level,parent_code\n"
USER_HEADER = "username,name,org_code,roles,specialities\n"


def org(code: str) -> Procuratorate | None:
    return db.session.execute(db.select(Procuratorate).filter_by(code=code)).scalar_one_or_none()


def user(username: str) -> User | None:
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()


def events(action: str) -> list[AuditEvent]:
    return list(db.session.execute(db.select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id)).scalars())


def count(model) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


# Procuratorates ----------------------------------------------------------------------------

ZHEJIANG = (
    ORG_HEADER
    # Children before their parents: the file's order does not matter.
    + "330106,杭州市西湖区人民检察院,4,330100\n"
    + "330100,浙江省杭州市人民检察院,3,330000\n"
    + "330000,浙江省人民检察院,2,100000\n"
)


def test_import_orgs_creates_tree_with_parents_defined_later_and_rerun_is_unchanged(orgs):
    report = import_orgs_csv(None, ZHEJIANG)

    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    west_lake = org("330106")
    assert west_lake.name == "杭州市西湖区人民检察院" and west_lake.level == 4
    assert [a.code for a in west_lake.ancestors()] == ["330100", "330000", "100000"]
    assert {e.detail["code"] for e in events("org.created")} == {"330106", "330100", "330000"}
    summary = events("import.orgs")
    assert len(summary) == 1 and summary[0].detail == {"created": 3, "updated": 0, "unchanged": 0}
    assert summary[0].actor_id is None

    again = import_orgs_csv(None, ZHEJIANG)

    assert again.errors == []
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert len(events("org.created")) == 3  # nothing recorded twice


def test_import_orgs_updates_changed_rows_only(orgs):
    text = (ORG_HEADER
            + "110105,北京市朝阳区人民检察院（新）,4,110100\n"
            + "110108,北京市海淀区人民检察院,4,110100\n")

    report = import_orgs_csv(None, text)

    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert org("110105").name == "北京市朝阳区人民检察院（新）"
    [updated] = events("org.updated")
    assert updated.detail["changes"] == {"name": ["北京市朝阳区人民检察院", "北京市朝阳区人民检察院（新）"]}


def test_import_orgs_moves_a_procuratorate_to_another_parent(orgs):
    report = import_orgs_csv(None, ORG_HEADER + "110108,北京市海淀区人民检察院,4,320100\n")

    assert report.errors == [] and report.updated == 1
    assert org("110108").parent.code == "320100"


def test_import_orgs_is_all_or_nothing_with_every_bad_line_reported(orgs):
    before = count(Procuratorate)
    text = (
        ORG_HEADER                                  # line 1
        + "330000,浙江省人民检察院,2,100000\n"      # line 2: fine on its own
        + "33-01,杭州市人民检察院,3,330000\n"       # line 3: bad code
        + "330200,宁波市人民检察院,5,330000\n"      # line 4: bad level
        + "\n"                                      # line 5: blank, skipped
        + "330000,浙江省人民检察院（重复）,2,100000\n"  # line 6: duplicate code
        + "330300,温州市人民检察院,3,999999\n"      # line 7: unknown parent
        + "330400,嘉兴市人民检察院,2,330000\n"      # line 8: not below its parent
        + "990000,另一个最高院,1,\n"                # line 9: a second root
        + "330500," + "湖" * 101 + ",3,330000\n"     # line 10: name too long
        + "330600,,3,330000\n"                      # line 11: no name
        + "330700,绍兴市人民检察院,3\n"             # line 12: a column missing
        + "330800,金华市人民检察院,3,\n"            # line 13: no parent for level 3
    )

    report = import_orgs_csv(None, text)

    lines = [line for line, _ in report.errors]
    assert lines == [3, 4, 6, 7, 8, 9, 10, 11, 12, 13]
    messages = dict(report.errors)
    assert "1–12 位字母或数字" in messages[3]
    assert "1–4" in messages[4]
    assert "与第 2 行重复" in messages[6]
    assert "999999 不存在" in messages[7]
    assert "须低于上级单位 330000" in messages[8]
    assert "只能有一个 1 级单位" in messages[9]
    assert "不能超过 100 个字" in messages[10]
    assert "请填写单位名称" in messages[11]
    assert "列数不对" in messages[12]
    assert "须填写上级单位代码" in messages[13]
    # Nothing at all was written, not even the good row.
    assert count(Procuratorate) == before
    assert org("330000") is None
    assert events("org.created") == [] and events("import.orgs") == []


def test_import_orgs_reports_a_missing_column_in_the_header(orgs):
    report = import_orgs_csv(None, "code,name,level\n330000,浙江省人民检察院,2\n")

    assert len(report.errors) == 1
    line, message = report.errors[0]
    assert line == 1 and "缺少列 parent_code" in message
    assert org("330000") is None


def test_import_orgs_rejects_an_empty_file(app):
    report = import_orgs_csv(None, "")

    assert report.errors == [(1, "文件为空：第 1 行须为表头 code,name,level,parent_code。")]


def test_import_orgs_detects_cycles(orgs):
    text = (ORG_HEADER
            + "A1,甲院,3,B1\n"
            + "B1,乙院,3,A1\n"
            + "C1,丙院,4,C1\n")

    report = import_orgs_csv(None, text)

    assert [line for line, _ in report.errors] == [2, 3, 4]
    assert "循环：A1 → B1 → A1" in report.errors[0][1]
    assert "循环：B1 → A1 → B1" in report.errors[1][1]
    assert "循环：C1 → C1" in report.errors[2][1]
    assert org("A1") is None


def test_import_orgs_keeps_children_in_the_database_below_a_changed_parent(orgs):
    # 110100 has grassroots (level 4) procuratorates below it: it cannot become level 4 itself.
    report = import_orgs_csv(None, ORG_HEADER + "110100,北京市人民检察院第一分院,4,110000\n")

    assert len(report.errors) == 1
    assert report.errors[0][0] == 2
    assert "下级单位 110105 北京市朝阳区人民检察院（4 级）、110108" in report.errors[0][1]
    assert org("110100").level == 3


def test_import_orgs_accepts_a_bom_and_quoted_fields(orgs):
    text = "\ufeff" + ORG_HEADER + '330000,"浙江省人民检察院",2,100000\n'

    report = import_orgs_csv(None, text)

    assert report.errors == [] and report.created == 1


def test_only_admins_import(orgs, people):
    with pytest.raises(PermissionDenied):
        import_orgs_csv(people["moderator"], ZHEJIANG)
    with pytest.raises(PermissionDenied):
        import_users_csv(people["asker"], USER_HEADER + "newbie,新人,110105,,\n")
    assert org("330000") is None and user("newbie") is None

    report = import_orgs_csv(people["admin"], ZHEJIANG)

    assert report.created == 3
    assert events("import.orgs")[0].actor_id == people["admin"].id


# Users -------------------------------------------------------------------------------------

STAFF = (
    USER_HEADER
    + "liming,李明,110105,,\n"
    + "wangfang,王芳,110100,expert,criminal;juvenile\n"
    + "zhaolei,赵磊,110000,expert；moderator,civil；administrative\n"  # full-width separators too
)


def test_import_users_creates_accounts_without_passwords_and_rerun_is_unchanged(orgs):
    report = import_users_csv(None, STAFF)

    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    wang = user("wangfang")
    assert wang.name == "王芳" and wang.org.code == "110100"
    assert wang.roles == {"asker", "expert"} and wang.specialities == {"criminal", "juvenile"}
    zhao = user("zhaolei")
    assert zhao.roles == {"asker", "expert", "moderator"} and zhao.specialities == {"civil", "administrative"}
    assert all(user(u).password_hash is None for u in ("liming", "wangfang", "zhaolei"))
    assert len(events("user.created")) == 3
    assert events("import.users")[0].detail == {"created": 3, "updated": 0, "unchanged": 0}

    again = import_users_csv(None, STAFF)

    assert again.errors == []
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert events("user.updated") == []


def test_import_users_updates_only_what_changed(orgs, people):
    import_users_csv(None, STAFF)
    changed = (USER_HEADER
               + "liming,李明,110108,,\n"                             # moved to another procuratorate
               + "wangfang,王芳,110100,expert,criminal;juvenile\n"     # as before
               + "zhaolei,赵磊,110000,expert,civil\n"                  # lost a role and a speciality
               + "asker,张检察官,110105,,\n")                          # an account made elsewhere

    report = import_users_csv(None, changed)

    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (0, 2, 2)
    assert user("liming").org.code == "110108"
    zhao = user("zhaolei")
    assert zhao.roles == {"asker", "expert"} and zhao.specialities == {"civil"}
    assert {e.detail["username"] for e in events("user.updated")} == {"liming", "zhaolei"}
    # The existing account keeps its password: imports never touch passwords.
    assert user("asker").password_hash is not None


def test_import_users_is_all_or_nothing_with_every_bad_line_reported(orgs):
    before = count(User)
    text = (
        USER_HEADER                                    # line 1
        + "liming,李明,110105,,\n"                    # line 2: fine
        + "wangfang,王芳,999999,,\n"                   # line 3: unknown procuratorate
        + "zhaolei,赵磊,110000,chief,\n"               # line 4: unknown role
        + "sunli,孙丽,110000,expert,astrology\n"       # line 5: unknown business line
        + "x,短名,110105,,\n"                          # line 6: bad username
        + "liming,李明明,110105,,\n"                   # line 7: duplicate in the file
        + "zhouyu,,110105,,\n"                         # line 8: no name
    )

    report = import_users_csv(None, text)

    assert [line for line, _ in report.errors] == [3, 4, 5, 6, 7, 8]
    messages = dict(report.errors)
    assert "999999" in messages[3] and "不存在" in messages[3]
    assert "未知角色：chief" in messages[4]
    assert "未知业务条线代码：astrology" in messages[5]
    assert "用户名" in messages[6]
    assert "与第 2 行重复" in messages[7]
    assert "姓名" in messages[8]
    assert count(User) == before and user("liming") is None
    assert events("user.created") == [] and events("import.users") == []


def test_import_users_reports_missing_columns(orgs):
    report = import_users_csv(None, "username,name,org\nliming,李明,110105\n")

    assert len(report.errors) == 1
    line, message = report.errors[0]
    assert line == 1
    assert "缺少列 org_code, roles, specialities" in message and "无法识别的列 org" in message


def test_import_users_handles_thousands_of_rows(orgs):
    rows = [f"user{i:04d},测试用户{i},{'110105' if i % 2 else '110108'},{'expert' if i % 10 == 0 else ''},"
            f"{'criminal;civil' if i % 10 == 0 else ''}" for i in range(3000)]
    text = USER_HEADER + "\n".join(rows) + "\n"

    started = time.perf_counter()
    report = import_users_csv(None, text)
    elapsed = time.perf_counter() - started

    assert report.errors == [] and report.created == 3000
    assert count(User) == 3000
    assert user("user0010").roles == {"asker", "expert"}
    assert elapsed < 60, f"3,000 users took {elapsed:.1f} s"

    started = time.perf_counter()
    again = import_users_csv(None, text)

    assert again.unchanged == 3000
    assert time.perf_counter() - started < 10
