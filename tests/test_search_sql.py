"""The SQL search backend (QA_SEARCH_BACKEND = "sql": SQLite FTS5 / PostgreSQL GIN): every backend-
neutral test of tests/test_search.py runs again here against it, plus its own outbox, rebuild and
check tests (the Whoosh ones poke at index files)."""
from __future__ import annotations

import inspect

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from qa.extensions import db
from qa.models import IndexTask
from qa.search import (
    SearchUnavailable,
    check_index,
    drain_outbox,
    rebuild_index,
    run_search,
    similar_questions,
    sql_backend,
)
from tests.test_search import *  # noqa: F403 - the same tests, against this backend
from tests.test_search import answered, numbers

# Tests that manipulate Whoosh's files or searchers do not apply; SQL counterparts are below.
WHOOSH_ONLY = ("whoosh", "get_searcher", "live_dir", "index_root", "close_searchers")
for _name, _test in list(globals().items()):
    if _name.startswith("test_") and any(word in inspect.getsource(_test) for word in WHOOSH_ONLY):
        del globals()[_name]


@pytest.fixture
def app(app):
    app.config["QA_SEARCH_BACKEND"] = "sql"
    with sql_backend.engine().begin() as conn:  # start from no search tables
        for name in ("sx_new_fts", "sx_vocab", "sx_fts", "sx_new_doc", "sx_doc"):
            conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    sql_backend.engine()._jd_sx_ready = False
    return app


def test_the_sql_backend_serves_the_search(app, people, corpus):
    assert sql_backend.document_count() == 4
    assert not (sql_backend.PREFIX and (app.config["QA_SEARCH_BACKEND"] != "sql"))
    hit = run_search("醉驾").hits[0]
    assert hit.question.number == corpus["drunk"].number  # colloquial 醉驾 → 危险驾驶罪 / 醉酒驾驶
    assert "<mark>" in str(hit.snippet_html)


def test_a_crash_between_commit_and_indexing_loses_nothing_sql(app, people, corpus):
    question = answered(people, "认罪认罚从宽的适用阶段", "审查起诉阶段才认罪的能否从宽？")
    with sql_backend.engine().begin() as conn:  # the search table is broken when the drain runs
        conn.execute(text("ALTER TABLE sx_doc RENAME TO sx_broken"))
    with pytest.raises(SearchUnavailable):
        drain_outbox()
    task = db.session.execute(db.select(IndexTask).filter_by(question_id=question.id)).scalars().first()
    db.session.refresh(task)
    assert task.attempts == 1 and task.last_error  # kept, with the failure recorded
    db.session.commit()
    with sql_backend.engine().begin() as conn:
        conn.execute(text("DROP TABLE sx_broken"))
    sql_backend.engine()._jd_sx_ready = False
    assert rebuild_index() == 5  # the operator's repair
    assert numbers("认罪认罚从宽") == [question.number]
    assert db.session.execute(db.select(IndexTask)).first() is None


def test_rebuild_swaps_in_fresh_tables(app, people, corpus):
    with sql_backend.engine().begin() as conn:
        conn.execute(text("DELETE FROM sx_doc"))  # the live tables lost everything
    assert numbers("醉酒驾驶") == []
    progress = []
    assert rebuild_index(progress=progress.append) == 4
    assert sum(progress) == 4
    assert numbers("醉酒驾驶")[0] == corpus["drunk"].number
    assert numbers("法条:刑法264") == [corpus["theft"].number]
    assert check_index().ok


def test_check_reports_missing_extra_and_stale_and_repairs_sql(app, people, corpus):
    with sql_backend.engine().begin() as conn:
        conn.execute(text("DELETE FROM sx_doc WHERE qid = :q"), {"q": corpus["drunk"].id})  # missing
        conn.execute(text("UPDATE sx_doc SET version = 'old' WHERE qid = :q"), {"q": corpus["theft"].id})  # stale
        conn.execute(text("INSERT INTO sx_doc (qid, number, version, status, canonical, superseded, quality, "
                          "asked, answered) VALUES (999999, 'JD2026-000000-99999', 'x', 'answered', 0, 0, 0, 0, 0)"))
        conn.execute(text("INSERT INTO sx_fts (rowid, title, body, subs, keys) VALUES (999999, '幽灵文档', '幽灵文档', '', '')"))
    report = check_index(repair=False)
    assert (report.missing, report.stale, report.extra) == ([corpus["drunk"].id], [corpus["theft"].id], [999999])
    assert check_index(repair=True).repaired
    assert check_index().ok
    assert numbers("幽灵文档") == []
    assert numbers("醉酒驾驶")[0] == corpus["drunk"].number


def test_status_command_counts_sql_documents(app, runner, people, corpus):
    result = runner.invoke(args=["search", "status"])
    assert result.exit_code == 0 and "索引文档 4 个" in result.output


def test_similar_questions_mark_canonical_and_exclude_self(app, people, corpus):
    hits = similar_questions("乘客抢方向盘怎么处理", limit=5)
    assert hits and hits[0].question.number == corpus["wheel"].number
    hits = similar_questions("乘客抢方向盘怎么处理", exclude_id=corpus["wheel"].id)
    assert corpus["wheel"].number not in [h.question.number for h in hits]


def test_quoted_characters_and_operators_are_only_text(app, people, corpus):
    for raw in ['"醉酒 AND OR NOT', "醉酒' OR 1=1 --", "NEAR(醉酒 驾驶)", "醉酒*", "{title}:醉酒", "'a':*D | !b"]:
        run_search(raw)  # never an engine syntax error
    assert numbers("醉酒 OR 盗窃")[0] in {corpus["drunk"].number, corpus["theft"].number}


def test_autogenerate_ignores_the_search_tables(app, people, corpus):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": sql_backend.include_object})
        names = {str(diff[1].name) for diff in compare_metadata(context, db.metadata)
                 if diff[0] in ("remove_table", "add_table")}
    assert not {n for n in names if n.startswith("sx_")}


def test_the_search_tables_live_beside_a_postgresql_database(app, people, corpus):
    """On SQLite the FTS5 tables are in the application database; beside PostgreSQL they are in a
    SQLite file of their own in the search index folder, never in PostgreSQL."""
    from qa.search.index import index_root

    in_app = db.session.execute(text("SELECT count(*) FROM sx_doc")).scalar() if db.engine.dialect.name == "sqlite" \
        else None
    with sql_backend.engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sx_doc")).scalar() == 4
    if db.engine.dialect.name == "sqlite":
        assert sql_backend.engine() is db.engine and in_app == 4
    else:
        assert (index_root() / sql_backend.SIDECAR_NAME).is_file()
        tables = db.session.execute(text("SELECT tablename FROM pg_tables WHERE tablename LIKE 'sx%'")).scalars().all()
        assert tables == []
