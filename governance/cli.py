"""`python -m governance run`: serve the app with granian (Litestar's own `run` needs uvicorn)."""

from __future__ import annotations

import os
import shutil
import sys
from typing import TYPE_CHECKING

import click
from litestar.plugins import CLIPluginProtocol

if TYPE_CHECKING:
    from click import Group

ASGI_APP = "governance.asgi:app"


@click.command(name="run", help="Serve the app with granian (settings from the environment, as for every command).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def run_command(host: str, port: int, workers: int) -> None:
    granian = shutil.which("granian", path=os.path.dirname(sys.executable)) or shutil.which("granian")
    if granian is None:
        raise click.ClickException("granian is not installed: pip install granian (it is a dependency of this project)")
    arguments = [
        granian,
        "--interface",
        "asgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        ASGI_APP,
    ]
    os.execv(granian, arguments)  # noqa: S606  (replaces this process: signals go straight to granian)


class ServeCommandPlugin(CLIPluginProtocol):
    def on_cli_init(self, cli: Group) -> None:
        cli.commands.pop("run", None)
        cli.add_command(run_command)
