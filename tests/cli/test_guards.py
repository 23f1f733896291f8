"""The CLI does no harm: deleting an app needs a confirmation, a mistyped --db is never a new empty
database, and the commands footfall prints run as printed."""

from __future__ import annotations

import os
import pty
import select
import shlex
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from footfall.cli import main
from footfall.cli.common import command_name
from tests.dashboard.helpers import PASSWORD
from tests.live import free_port
from tests.test_durability import FOOTFALL, footfall

# The commands that make a database when there is none (restore writes one in place) and the one
# that has no database at all; every other command refuses a --db that is not there.
MAKE_A_DATABASE = {"serve", "quickstart", "apps create", "restore"}
NO_DATABASE = {"settings"}
ON_A_MISSING_DATABASE = {
    "apps list": [],
    "apps delete": ["Blog", "--yes"],
    "apps set": ["Blog", "--timezone", "UTC"],
    "apps alias": ["Blog", "UA-1-1"],
    "apps secret": ["Blog"],
    "goals add": ["Blog", "--page", "/thanks"],
    "goals list": ["Blog"],
    "goals delete": ["Blog", "Visit /thanks"],
    "funnels add": ["Blog", "Join", "--step", "/a", "--step", "/b"],
    "funnels list": ["Blog"],
    "funnels delete": ["Blog", "Join"],
    "funnels show": ["Blog", "Join"],
    "stats": ["Blog"],
    "import-log": ["{file}", "--app", "Blog"],
    "keys create": [],
    "keys list": [],
    "keys revoke": ["k1"],
    "export": ["Blog", "-o", "{dir}/out.ndjson"],
    "import": ["{file}", "--app", "Blog"],
    "rollups rebuild": [],
    "users create": ["ann@example.com"],
    "users list": [],
    "users delete": ["ann@example.com"],
    "users invite": ["ann@example.com", "--url", "https://stats.example"],
    "users password": ["ann@example.com"],
    "users reset-2fa": ["ann@example.com"],
    "users role": ["ann@example.com", "--role", "viewer"],
    "backup": ["{dir}/copy.duckdb"],
}


def every_command(group: click.Group = main, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            names += every_command(command, f"{prefix}{name} ")
        else:
            names.append(prefix + name)
    return names


def test_every_command_is_known_to_make_a_database_or_to_refuse_a_missing_one() -> None:
    # a new command has to be put in one of the three, and so gets tested below
    listed = MAKE_A_DATABASE | NO_DATABASE | set(ON_A_MISSING_DATABASE)
    assert sorted(every_command()) == sorted(listed)


@pytest.mark.parametrize("command", sorted(ON_A_MISSING_DATABASE))
def test_a_command_on_a_missing_database_says_so_and_creates_nothing(
    tmp_path: Path, command: str
) -> None:
    db = tmp_path / "typo.duckdb"
    given = tmp_path / "given.log"
    given.write_text("")
    args = [a.format(file=given, dir=tmp_path) for a in ON_A_MISSING_DATABASE[command]]
    result = CliRunner().invoke(main, [*command.split(), *args, "--db", str(db)], input="")
    assert result.exit_code == 1, result.output
    assert f"there is no database at {db}" in result.output
    assert "footfall apps create" in result.output  # and how to make one
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["given.log"]


def test_apps_create_makes_the_database_and_the_other_commands_then_use_it(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "f.duckdb")
    assert footfall("apps", "create", "Blog", "--db", db).returncode == 0
    listed = footfall("apps", "list", "--db", db)
    assert listed.returncode == 0 and "Blog" in listed.stdout


def test_apps_delete_without_a_terminal_refuses_unless_yes(tmp_path: Path) -> None:
    db = str(tmp_path / "f.duckdb")
    assert footfall("apps", "create", "Blog", "--db", db).returncode == 0
    refused = footfall("apps", "delete", "Blog", "--db", db, input="")  # stdin: a pipe
    assert refused.returncode == 1
    assert "add --yes" in refused.stderr and "Traceback" not in refused.stderr
    assert "Blog" in footfall("apps", "list", "--db", db).stdout
    done = footfall("apps", "delete", "Blog", "--yes", "--db", db, input="")
    assert done.returncode == 0, done.stderr
    assert "Blog" not in footfall("apps", "list", "--db", db).stdout


def on_a_terminal(*args: str, answer: str) -> tuple[int, str]:
    """``footfall ARGS`` with a pseudo-terminal as its stdin and stdout; ``answer`` is typed once
    it has asked."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [*FOOTFALL, *args], stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True
    )
    os.close(terminal)
    seen = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the process closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(controller, answer.encode() + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    os.close(controller)
    return proc.wait(timeout=60), seen.decode(errors="replace")


def test_apps_delete_on_a_terminal_asks_and_keeps_the_app_unless_told_yes(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "f.duckdb")
    assert footfall("apps", "create", "Blog", "--db", db).returncode == 0
    code, shown = on_a_terminal("apps", "delete", "Blog", "--db", db, answer="n")
    assert code == 1 and "Delete 'Blog' and all its events?" in shown and "Aborted" in shown
    assert "Blog" in footfall("apps", "list", "--db", db).stdout
    code, shown = on_a_terminal("apps", "delete", "Blog", "--db", db, answer="y")
    assert code == 0 and "deleted" in shown
    assert "Blog" not in footfall("apps", "list", "--db", db).stdout


def test_users_create_tells_the_password_rule_before_asking(tmp_path: Path) -> None:
    db = str(tmp_path / "f.duckdb")
    assert footfall("apps", "create", "Blog", "--db", db).returncode == 0
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [*FOOTFALL, "users", "create", "ann@example.com", "--db", db],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    seen = b""
    while b"Password:" not in seen:
        seen += os.read(controller, 4096)
    os.close(controller)
    proc.kill()
    proc.wait(timeout=60)
    assert seen.index(b"at least 10 characters") < seen.index(b"Password:")


def test_the_printed_command_is_this_footfall(tmp_path: Path) -> None:
    assert command_name("/usr/lib/python3/dist-packages/footfall/__main__.py") == (
        f"{shlex.quote(sys.executable)} -m footfall"
    )
    assert command_name(".venv/bin/footfall") == ".venv/bin/footfall"  # not the one on PATH


def test_quickstart_without_a_terminal_prints_a_users_create_command_that_works(
    tmp_path: Path,
) -> None:
    """As under `make run`: started as .venv/bin/footfall, it prints commands that run as printed
    from the same directory, while it serves."""
    launcher = tmp_path / ".venv" / "bin" / "footfall"
    launcher.parent.mkdir(parents=True)
    launcher.write_text(f"#!{sys.executable}\nfrom footfall.entry import main\n\nmain()\n")
    launcher.chmod(0o755)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [".venv/bin/footfall", "quickstart", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Then see the numbers with:"):
                break
        printed = "".join(lines)
        create = next(ln.strip() for ln in lines if "users create" in ln)
        stats = lines[-1].split(":", 1)[1].strip()
        assert create == ".venv/bin/footfall users create you@example.com --db footfall.duckdb"
        made = subprocess.run(
            create,
            shell=True,
            cwd=tmp_path,
            env=env,
            input=PASSWORD + "\n",
            text=True,
            capture_output=True,
            timeout=60,
        )
        assert made.returncode == 0, printed + made.stderr
        assert "created owner you@example.com" in made.stdout
        shown = subprocess.run(
            stats, shell=True, cwd=tmp_path, env=env, text=True, capture_output=True, timeout=60
        )
        assert shown.returncode == 0 and "visitors" in shown.stdout.lower(), shown.stderr
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
