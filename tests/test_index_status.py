"""The search-index status on the admin pages and the progress a running rebuild leaves for it."""
from __future__ import annotations

from qa.admin.index_status import PROGRESS_FILE, RebuildProgress, index_status
from qa.search.index import index_root


def test_status_counts_documents_and_pending_tasks(app):
    status = index_status()
    assert status is not None
    assert status["pending"] == 0
    assert status["rebuild"] is None


def test_a_running_rebuild_shows_its_progress_and_clears_it_when_done(app):
    root = index_root()
    seen = []
    with RebuildProgress(root, total=40, inner=seen.append) as progress:
        progress(10)
        progress._write()  # the file is written at most twice a second; force it here
        status = index_status()
        assert status["rebuild"]["done"] == 10
        assert status["rebuild"]["total"] == 40
        assert status["rebuild"]["percent"] == 25
    assert seen == [10]  # the terminal's progress bar still advances
    assert not (root / PROGRESS_FILE).exists()
    assert index_status()["rebuild"] is None


def test_the_admin_search_page_shows_the_index_status(app, client, auth, people):
    auth.login(people["admin"].username)
    page = client.get("/admin/search/terms").get_data(as_text=True)
    assert "检索索引" in page
    assert "search rebuild" in page
