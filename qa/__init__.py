"""检答 (Jianda): a Q&A knowledge platform for China's procuratorates."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error pages, commands."""
    from qa.app_setup import (
        register_blueprints,
        register_commands,
        register_errorhandlers,
        register_extensions,
        register_request_hooks,
        register_template_helpers,
    )
    from qa.config import load_config
    from qa.logs import configure_logging

    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    load_config(app, test_config)
    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    return app
