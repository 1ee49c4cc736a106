"""Logs as one JSON object a line: user-supplied text (names, titles, paths) can never forge a line.

json.dumps escapes CR, LF, ANSI escapes and every other control character, so a username such as
"x\\r\\n[ERROR] admin logged in" stays inside its own record (RELIABILITY.md S34).
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry.update(correlation_id=g.get("correlation_id"), method=request.method, path=request.path,
                         ip=request.remote_addr)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners and servers swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(app: Flask) -> None:
    """The application's loggers write JSON lines to stderr (gunicorn and systemd collect them)."""
    if app.config.get("QA_LOG_JSON", True) is False:
        return
    from flask.logging import default_handler

    logger = app.logger  # the "qa" logger, which every module's logging.getLogger("qa…") feeds
    logger.removeHandler(default_handler)  # Flask's plain-text handler would print a second, forgeable line
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
