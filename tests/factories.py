"""Test data built through the same services the application uses."""
from __future__ import annotations

from qa.extensions import db
from qa.models import Procuratorate
from qa.services.accounts import create_user
from qa.services.questions import ask_question

PASSWORD = "correct-horse-42"

# code, name, level, parent code
ORGS = [
    ("100000", "最高人民检察院", 1, None),
    ("110000", "北京市人民检察院", 2, "100000"),
    ("110100", "北京市人民检察院第一分院", 3, "110000"),
    ("110105", "北京市朝阳区人民检察院", 4, "110100"),
    ("110108", "北京市海淀区人民检察院", 4, "110100"),
    ("320000", "江苏省人民检察院", 2, "100000"),
    ("320100", "江苏省南京市人民检察院", 3, "320000"),
    ("320102", "南京市玄武区人民检察院", 4, "320100"),
]


def make_orgs() -> dict[str, Procuratorate]:
    """The hierarchy above, keyed by code."""
    orgs: dict[str, Procuratorate] = {}
    for code, name, level, parent in ORGS:
        org = Procuratorate(code=code, name=name, level=level, parent=orgs.get(parent))
        db.session.add(org)
        orgs[code] = org
    db.session.commit()
    return orgs


def make_user(username: str, org_code: str, roles=(), specialities=(), name: str | None = None,
              password: str | None = PASSWORD):
    return create_user(None, username=username, name=name or f"测试{username}", org_code=org_code,
                       roles=roles, specialities=specialities, password=password)


def make_question(asker, title: str = "醉酒驾驶机动车的认定标准是什么？", category: str = "criminal",
                  body: str = "血液酒精含量达到多少时构成**危险驾驶罪**？", **kwargs):
    return ask_question(asker, title=title, body=body, category=category,
                        law_not_facts=True, not_classified=True, **kwargs)
