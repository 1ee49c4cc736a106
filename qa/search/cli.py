"""Commands: `search worker|rebuild|check|status` and `import laws|jicui|threads`."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from qa.search.index import SearchUnavailable

THREADS_REBUILD_THRESHOLD = 20_000  # imports larger than this index by a rebuild (bulk, parallel)


def _index_imported(report_ids: list[int], label: str) -> None:
    """Index what an import created: drain its tasks with a progress bar, or rebuild when huge."""
    from qa.search import drain_outbox, pending_count, rebuild_index

    pending = pending_count()
    if len(report_ids) > THREADS_REBUILD_THRESHOLD:
        with click.progressbar(length=len(report_ids) + pending, label=f"{label}：重建索引") as bar:
            rebuild_index(procs=2, progress=bar.update)
        return
    with click.progressbar(length=pending, label=f"{label}：写入索引") as bar:
        drain_outbox(blocking=True, batch_size=2000, progress=bar.update)


def register(app: Flask) -> None:
    search_group = click.Group("search", help="The search index: worker, rebuild, check.")
    app.cli.add_command(search_group)

    @search_group.command("worker")
    @click.option("--once", is_flag=True, help="Drain the outbox once and exit.")
    @click.option("--interval", default=0.5, show_default=True, help="Seconds between polls.")
    def worker(once: bool, interval: float):
        """The single index writer (production: QA_SEARCH_WRITER=worker on the web processes)."""
        from qa.search.worker import run_worker

        click.echo("检索索引写入进程已启动（Ctrl+C 停止）。" if not once else "处理待索引任务……")
        try:
            run_worker(current_app._get_current_object(), interval=interval, once=once)
        except (OSError, SearchUnavailable) as error:
            raise click.ClickException(f"写入检索索引失败：{error}（待索引任务保留在队列中）。") from None

    @search_group.command("rebuild")
    @click.option("--procs", default=2, show_default=True, help="Analysis processes.")
    def rebuild(procs: int):
        """Build a fresh index beside the live one and swap it in (searches keep working)."""
        import time

        from qa.search.index import searchable_ids
        from qa.search.worker import _session, rebuild_index

        with _session() as session:
            total = len(searchable_ids(session))
        started = time.perf_counter()
        from qa.admin.index_status import RebuildProgress
        from qa.search.index import index_root

        with click.progressbar(length=total, label="重建检索索引") as bar, \
                RebuildProgress(index_root(), total, bar.update) as progress:  # shown on the admin page too
            count = rebuild_index(procs=procs, progress=progress)
        seconds = time.perf_counter() - started
        click.echo(f"已重建：{count} 个问答，用时 {seconds:.1f} 秒（{count / max(seconds, 1e-9):.0f} 个/秒）。")

    @search_group.command("check")
    @click.option("--repair/--no-repair", default=True, show_default=True)
    def check(repair: bool):
        """Compare the index with the database (missing, extra, stale) and repair."""
        from qa.search.index import searchable_ids
        from qa.search.worker import _session, check_index

        with _session() as session:
            total = len(searchable_ids(session))
        try:
            with click.progressbar(length=total, label="核对检索索引") as bar:
                report = check_index(repair=repair, progress=bar.update)
        except SearchUnavailable as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"数据库应索引 {report.expected} 个，索引中 {report.indexed} 个；"
                   f"缺失 {len(report.missing)}，多余 {len(report.extra)}，过期 {len(report.stale)}。")
        if report.ok:
            click.echo("索引与数据库一致。")
        elif report.repaired:
            click.echo("已修复。")
        else:
            raise click.ClickException("索引与数据库不一致（使用 --repair 修复）。")

    @search_group.command("status")
    def status():
        """Pending outbox tasks and the index size."""
        from qa.search import pending_count, sql_backend
        from qa.search.index import get_searcher, index_root

        if sql_backend.enabled():
            click.echo(f"索引文档 {sql_backend.document_count()} 个（SQL 检索）；待索引任务 {pending_count()} 个。")
            return
        try:
            searcher = get_searcher(index_root())
        except SearchUnavailable as error:
            raise click.ClickException(f"{error} 待索引任务 {pending_count()} 个。") from None
        click.echo(f"索引文档 {searcher.doc_count()} 个；待索引任务 {pending_count()} 个。")

    import_group = app.cli.commands.get("import")
    if import_group is None:
        import_group = click.Group("import", help="Bulk imports.")
        app.cli.add_command(import_group)

    @import_group.command("laws")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False))
    def import_laws(folder):
        """Statute texts: Markdown files, one a law, articles as 第X条 paragraphs."""
        from qa.services.laws import import_laws as run

        files = [p for p in Path(folder).rglob("*.md") if not p.name.startswith(("_", "README"))]
        with click.progressbar(length=len(files), label="导入法律法规") as bar:
            report = run(Path(folder), progress=bar.update)
        for message in report.errors:
            click.echo(message, err=True)
        click.echo(f"导入完成：法律法规 {report.laws} 部、条文 {report.articles} 条；未变 {report.unchanged} 部。")

    @import_group.command("jicui")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False))
    def import_jicui(folder):
        """检答网集萃 batches (Markdown): each item becomes an answered, imported thread."""
        from qa.services.archive import import_jicui as run

        files = [p for p in Path(folder).glob("检答网集萃*.md")]
        with click.progressbar(length=len(files) * 3, label="导入检答网集萃") as bar:
            report = run(Path(folder), progress=bar.update)
        for _line, message in report.errors:
            click.echo(message, err=True)
        _index_imported(report.question_ids, "检答网集萃")
        click.echo(f"导入完成：新增 {report.created} 个问答，已存在 {report.unchanged} 个，跳过 {len(report.errors)} 个。")

    @import_group.command("threads")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def import_threads(path):
        """Archived Q&A threads, JSON Lines: {"title","body","category","tags"?,"asked_at"?,
        "asker_org"?,"answers":[{"body","expert"?,"answered_at"?}]}."""
        from qa.services.archive import import_threads_jsonl

        size = Path(path).stat().st_size
        with open(path, encoding="utf-8-sig") as handle, \
                click.progressbar(length=size, label="导入历史问答") as bar:
            def lines():
                for line in handle:
                    bar.update(len(line.encode("utf-8")))
                    yield line
            report = import_threads_jsonl(lines())
        for line, message in report.errors:
            click.echo(f"第 {line} 行：{message}", err=True)
        _index_imported(report.question_ids, "历史问答")
        click.echo(f"导入完成：新增 {report.created} 个问答，已存在 {report.unchanged} 个，拒绝 {len(report.errors)} 行。")
        if report.errors:
            raise click.ClickException(f"{len(report.errors)} 行被拒绝（见上；其余行已导入）。")
