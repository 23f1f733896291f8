"""The `footfall` command. Server flags come from footfall.settings (each with a FOOTFALL_* variable)."""

from __future__ import annotations

import click

from footfall.cli import serverside as _serverside  # noqa: F401  (adds `apps alias`, `apps secret`)
from footfall.cli.apps import apps
from footfall.cli.backup import backup, restore
from footfall.cli.goals import funnels, goals
from footfall.cli.keys import keys
from footfall.cli.logimport import import_log
from footfall.cli.server import quickstart, serve, settings_cmd
from footfall.cli.stats import stats
from footfall.cli.transfer import export_cmd, import_cmd, rollups
from footfall.cli.users import users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="footfall")
def main() -> None:
    """footfall — self-hosted web analytics."""


for command in (
    serve,
    quickstart,
    settings_cmd,
    apps,
    goals,
    funnels,
    stats,
    import_log,
    keys,
    export_cmd,
    import_cmd,
    rollups,
    users,
    backup,
    restore,
):
    main.add_command(command)
