"""Flask commands for the audit log (`audit verify`)."""
from __future__ import annotations

import time

import click
from flask import Flask


def _anchor(value: str | None) -> tuple[int, str] | None:
    if not value:
        return None
    try:
        row_id, digest = value.split(":", 1)
        return int(row_id), digest.strip().lower()
    except ValueError:
        raise click.BadParameter("格式为 编号:哈希，如 1024:9f86d0…", param_hint="--anchor") from None


def register(app: Flask) -> None:
    audit = click.Group("audit", help="The append-only, hash-chained audit log.")
    app.cli.add_command(audit)

    @audit.command("verify")
    @click.option("--anchor", help="ID:HASH of a row noted down earlier; a rewrite from there on is caught.")
    def verify_command(anchor):
        """Recompute the hash chain; name the first broken row (exit status 1) or print the head."""
        from qa.services.auditlog import verify_chain

        started = time.perf_counter()
        result = verify_chain(_anchor(anchor))
        elapsed = time.perf_counter() - started
        if not result.ok:
            click.echo(f"审计日志校验失败：第 {result.broken_id} 条记录 — {result.reason}"
                       f"（已校验 {result.count} 条，用时 {elapsed:.1f} 秒）", err=True)
            raise SystemExit(1)
        if result.head_id is None:
            click.echo("审计日志为空。")
            return
        click.echo(f"审计日志完整：共 {result.count} 条，哈希链无断裂（用时 {elapsed:.1f} 秒）。")
        click.echo(f"链头：{result.head_id}:{result.head_hash}")
        click.echo("可将链头另行留存，日后用 --anchor 校验日志未被整体重写。")
