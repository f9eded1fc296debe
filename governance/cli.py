"""Our command groups on the Litestar CLI (`python -m governance --help`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.plugins import CLIPlugin

if TYPE_CHECKING:
    from click import Group


class GovernanceCLIPlugin(CLIPlugin):
    def on_cli_init(self, cli: Group) -> None:
        from auth.cli import api_keys_group, users_group
        from governance.enforcement.cli import audit_command
        from governance.inventory import inventory_group
        from governance.retention.cli import purge_command, scheduler_command
        from tracking.cli import domains_group

        for group in (
            users_group,
            api_keys_group,
            purge_command,
            scheduler_command,
            inventory_group,
            domains_group,
            audit_command,
        ):
            cli.add_command(group)
