"""Demo data: a procuratorate tree, one account per role and Q&A threads, made through the services."""
from __future__ import annotations

from dataclasses import dataclass

from qa.errors import Conflict
from qa.extensions import begin_write, db
from qa.models import Procuratorate, User
from qa.permissions import ASSIGNABLE_ROLES, ROLE_NAMES
from qa.services import demo_content as content
from qa.services.accounts import create_user, password_hasher
from qa.services.answers import mark_canonical, post_answer, rate_answer
from qa.services.audit import record
from qa.services.questions import accept_answer, add_supplement, ask_question
from qa.services.setup import sync_categories
from qa.timeutil import china_today

DEMO_PASSWORD = "demo-pass-2026"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    name: str
    org: str  # the procuratorate's name
    roles_label: str  # Chinese role names joined by 、


def load_demo_data() -> list[DemoAccount]:
    """Fill an empty database with the demo tree, accounts and threads; returns the accounts.

    Questions, answers, ratings, acceptances and canonical answers go through the real services,
    so numbers, routing, handling trails, notifications and audit events are all genuine.
    Raises Conflict when the database already has users.
    """
    sync_categories()
    begin_write()
    if db.session.execute(db.select(User.id).limit(1)).first() is not None:
        db.session.rollback()
        raise Conflict("数据库中已有用户，演示数据只能载入空数据库。")
    _create_orgs()
    users = _create_people()
    db.session.commit()
    for thread in content.THREADS:
        _play(thread, users)
    return demo_accounts()


def demo_accounts() -> list[DemoAccount]:
    """The demo accounts present in the database (none once an installation is real)."""
    people = {p.username: p for p in content.PEOPLE}
    users = db.session.execute(db.select(User).where(User.username.in_(list(people)))).scalars()
    present = {u.username: u for u in users}
    return [
        DemoAccount(p.username, p.name, present[p.username].org.name, _roles_label(p.roles))
        for p in content.PEOPLE if p.username in present
    ]


def _create_orgs() -> dict[str, Procuratorate]:
    orgs: dict[str, Procuratorate] = {}
    for code, name, level, parent_code in content.ORGS:  # parents come first in the list
        org = Procuratorate(code=code, name=name, level=level, parent=orgs.get(parent_code))
        db.session.add(org)
        orgs[code] = org
        record(None, "org.created", org, code=code, name=name, level=level, parent=parent_code, demo=True)
    return orgs


def _create_people() -> dict[str, User]:
    # One argon2 hash for every demo account: hashing at production cost takes ~0.2 s each.
    password_hash = password_hasher().hash(DEMO_PASSWORD)
    users: dict[str, User] = {}
    for person in content.PEOPLE:
        user = create_user(None, username=person.username, name=person.name, org_code=person.org_code,
                           roles=person.roles, specialities=person.specialities, commit=False)
        user.password_hash = password_hash
        record(None, "user.password_set", user, username=user.username, demo=True)
        users[person.username] = user
    return users


def _play(thread: content.Thread, users: dict[str, User]) -> None:
    """Ask the question and take it as far as the content says (answer, accept, rate, curate)."""
    asker = users[thread.asker]
    question = ask_question(asker, title=thread.title, body=thread.body, category=thread.category,
                            tags=list(thread.tags), law_not_facts=True, not_classified=True)
    if thread.supplement:
        add_supplement(asker, question, thread.supplement)
    if thread.answer is None:
        return
    expert = question.assignee
    if expert is None:
        raise RuntimeError(f"demo thread not routed to an expert: {thread.title}")
    answer = post_answer(expert, question, thread.answer)
    if thread.accepted:
        accept_answer(asker, question, answer.id)
    for rating in thread.ratings:
        scores = dict(zip(("accuracy", "basis", "relevance", "clarity"), rating.scores, strict=True))
        rate_answer(users[rating.moderator], answer, scores, rating.comment)
    if thread.canonical:
        mark_canonical(users["admin"], answer, effective_date=china_today())


def _roles_label(roles: tuple[str, ...]) -> str:
    names = [ROLE_NAMES[r] for r in ASSIGNABLE_ROLES if r in roles]
    return "、".join(names) or ROLE_NAMES["asker"]
