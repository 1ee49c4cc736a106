"""The role × route × method matrix, generated from the URL map against a reviewed policy."""
from __future__ import annotations

import pytest

from qa import create_app
from qa.extensions import db
from qa.models import Notification
from qa.services.accounts import create_api_token
from qa.services.answers import mark_canonical, post_answer
from qa.services.batches import add_item, create_batch
from qa.services.quality import flag_answer
from qa.services.search_terms import add_search_term
from tests.conftest import AuthActions
from tests.factories import make_question, make_user

ROLES = ["anonymous", "owner", "other", "expert", "moderator", "admin"]
EVERYONE = set(ROLES) - {"anonymous"}

# Reviewed policy: who may reach each endpoint. "owner" asked the question (and owns the
# notification and token); "expert" is the expert the question is assigned to and wrote its answer.
POLICY: dict[str, set[str]] = {
    "main.index": EVERYONE,
    "main.notifications": EVERYONE,
    "main.notifications_read": EVERYONE,
    "main.follow_notification": {"owner"},
    "main.markdown_preview": EVERYONE,
    "auth.login": set(ROLES),
    "auth.logout": EVERYONE,
    "auth.profile": EVERYONE,
    "auth.confirm": EVERYONE,  # re-enter the password (admins are sent here before sensitive actions)
    "auth.revoke_token": {"owner"},
    "questions.ask": EVERYONE,
    "questions.show": EVERYONE,
    "questions.browse": EVERYONE,
    "questions.mine": EVERYONE,
    "questions.supplement": {"owner"},
    "questions.answer": {"expert"},
    "questions.accept": {"owner"},
    "questions.inbox": {"expert"},
    "questions.rate": {"moderator"},
    "questions.canonical": {"admin"},
    "admin.index": {"admin"},
    "admin.users": {"admin"},
    "admin.new_user": {"admin"},
    "admin.edit_user": {"admin"},
    "admin.reset_password": {"admin"},
    "admin.queue": {"admin"},
    "admin.assign": {"admin"},
    "admin.orgs": {"admin"},
    # quality, revisions, knowledge base, batches, audit viewer (issue 5)
    "quality.moderation": {"moderator", "admin"},
    "quality.resolve_flag": {"moderator", "admin"},
    "quality.revise_rating": {"moderator"},
    "quality.helpful": EVERYONE - {"expert"},
    "quality.helpful_withdraw": EVERYONE - {"expert"},  # reached; without a vote: 409 (nothing to withdraw)
    "quality.flag": EVERYONE - {"expert"},
    "quality.hide": {"moderator", "admin"},
    "quality.unhide": {"moderator", "admin"},
    "quality.review": {"moderator", "admin"},
    "quality.edit_question": {"owner", "admin"},
    "quality.edit_answer": {"expert"},
    "quality.history": EVERYONE,
    "quality.close": {"owner", "moderator", "admin"},
    "knowledge.index": EVERYONE,
    "knowledge.show": EVERYONE,
    "knowledge.curate": {"admin"},
    "knowledge.edit": {"admin"},
    "knowledge.change_status": {"admin"},
    "knowledge.batches": EVERYONE,
    "knowledge.new_batch": {"admin"},
    "knowledge.batch": {"admin"},  # the world's batch is a draft; published ones are for everyone
    "knowledge.edit_batch": {"admin"},
    "knowledge.add_item": {"admin"},
    "knowledge.item": {"admin"},
    "knowledge.correct_item": {"admin"},  # for a draft (as here) it leads to the item's edit page
    "knowledge.move_item": {"admin"},
    "knowledge.remove_item": {"admin"},
    "knowledge.deidentify_item": {"admin"},
    "knowledge.publish": {"admin"},
    "knowledge.export_markdown": {"admin"},
    "knowledge.print_batch": {"admin"},
    "audit.index": {"admin"},
    "audit.export": {"admin"},
    # search (qa/search/views.py)
    "search.search": EVERYONE,
    "search.similar": EVERYONE,
    "search.article": EVERYONE,
    "search.admin_terms": {"admin"},
    "search.admin_delete_term": {"admin"},
    "stats.dashboard": {"admin"},
    "stats.export": {"admin"},
    # expert pool, handling, notification settings (qa/experts/views.py)
    "experts.directory": EVERYONE,
    "experts.claimable": {"expert"},
    "experts.claim": {"expert"},
    "experts.transfer": {"expert"},
    "experts.reopen": {"owner", "moderator", "admin"},  # the asker (window), moderators and admins
    "experts.decline": {"expert"},
    "experts.escalate": {"expert", "admin"},
    "experts.consult": {"expert", "admin"},
    "experts.follow": EVERYONE,
    "experts.pool": {"admin"},
    "experts.edit_expert": {"admin"},
    "experts.settings": EVERYONE,
    "experts.notification_read": {"owner"},
}
SKIPPED_PREFIXES = ("static", "bootstrap.", "api.")  # the API has its own token tests


def _web_rules():
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    cells = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(SKIPPED_PREFIXES):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            cells.append((rule.endpoint, rule.rule, method))
    # Log-out last: it ends the session the other cells use.
    return sorted(cells, key=lambda c: (c[0] == "auth.logout", c[1], c[2]))


CELLS = _web_rules()


def test_every_route_has_a_reviewed_policy():
    endpoints = {endpoint for endpoint, *_ in CELLS}
    assert endpoints - POLICY.keys() == set(), "new routes need an entry in POLICY"
    assert POLICY.keys() - endpoints == set(), "POLICY names routes that no longer exist"


@pytest.fixture
def world(people):
    owner = people["asker"]
    other = make_user("other", "110108", name="孙检察官")
    question = make_question(owner)
    answer = post_answer(people["city_expert"], question, "依据《刑法》第一百三十三条之一。")
    token, _raw = create_api_token(owner, owner, "对接")
    note = db.session.execute(db.select(Notification).filter_by(user_id=owner.id)).scalars().first()
    users = {"owner": "asker", "other": other.username, "expert": "city_expert", "moderator": "moderator",
             "admin": "admin"}
    values = {"number": question.number, "answer_id": answer.id, "username": other.username,
              "notification_id": note.id, "token_id": token.id, "expert_username": "city_expert"}
    # issue 5: a canonical answer, a flag, a draft batch with one item
    canonical = mark_canonical(people["admin"], answer)
    flag = flag_answer(other, answer, "outdated", "所引条文已修改。")
    batch = create_batch(people["admin"], "测试批次")
    item = add_item(people["admin"], batch, canonical)
    values.update({"canonical_id": canonical.id, "flag_id": flag.id, "batch_id": batch.id, "item_id": item.id})
    entry = add_search_term(people["admin"], "term", "测试词条")
    values.update({"law": "刑法", "article": "133-1", "entry_id": entry.id})
    return users, values


def check_cell(client, users, values, endpoint, rule, method, role) -> str | None:
    """Request one cell; return a description of the mismatch, or None when it obeys the policy."""
    url = rule
    for key, value in values.items():
        url = url.replace(f"<{key}>", str(value)).replace(f"<int:{key}>", str(value))
    if role != "anonymous":
        AuthActions(client).login(users[role])
    response = client.open(url, method=method, data={})
    status, location = response.status_code, response.headers.get("Location", "")
    allowed = role in POLICY[endpoint]
    if role == "anonymous" and not allowed:
        ok = status == 302 and "/login" in location
    elif allowed:
        ok = status not in (401, 403, 404) and not (
            status == 302 and "/login" in location and endpoint != "auth.logout")
    else:
        ok = status in (403, 404)
    return None if ok else f"{method} {url} as {role}: {status} {location}"


@pytest.mark.parametrize("role", ROLES)
def test_matrix(app, world, role):
    """Every route and method, as this role: allowed cells work, forbidden ones give 403/404
    (anonymous visitors are sent to the log-in page)."""
    users, values = world
    mismatches = []
    for endpoint, rule, method in CELLS:
        client = app.test_client()  # a fresh cookie jar per cell
        mismatch = check_cell(client, users, values, endpoint, rule, method, role)
        if mismatch:
            mismatches.append(mismatch)
    assert mismatches == []
