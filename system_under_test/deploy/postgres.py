"""PostgreSQL 15 for the local topology: a primary and a streaming hot standby.

Both are built in the run directory with initdb and pg_basebackup. PostgreSQL refuses to run
as root, so when the harness is root the servers and their files belong to `postgres`.
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from system_under_test.deploy.errors import DeployError
from system_under_test.deploy.ports import LOOPBACK
from system_under_test.deploy.processes import ServiceProcess

POSTGRES_MAJOR = 15
DATABASE_NAME = "paychaos"
SUPERUSER = "postgres"
BINDIR_ENV = "PAYCHAOS_PG_BINDIR"
# Client tools (initdb, pg_basebackup) must finish; a hung one is a broken machine.
TOOL_TIMEOUT_S = 120

SERVER_SETTINGS = {
    "listen_addresses": f"'{LOOPBACK}'",
    "unix_socket_directories": "''",
    "fsync": "on",
    "synchronous_commit": "on",
    "wal_level": "replica",
    "max_wal_senders": "5",
    "hot_standby": "on",
    # Keep WAL for a replica that a partition cut off, so it catches up instead of breaking.
    "wal_keep_size": "'256MB'",
    "max_connections": "100",
    "shared_buffers": "'64MB'",
    "log_min_messages": "warning",
    # Statement counts per operation (the capacity model) are read from pg_stat_statements.
    "shared_preload_libraries": "'pg_stat_statements'",
    "log_line_prefix": "'%m [%p] '",
}

HBA = f"""\
host all all {LOOPBACK}/32 trust
host replication all {LOOPBACK}/32 trust
"""


def find_bindir() -> Path:
    """The PostgreSQL 15 server binaries, or a DeployError saying how to install them.

    PAYCHAOS_PG_BINDIR, when set, is the only place looked at.
    """
    override = os.environ.get(BINDIR_ENV)
    candidates = (
        [Path(override)] if override else [Path(f"/usr/lib/postgresql/{POSTGRES_MAJOR}/bin")]
    )
    on_path = shutil.which("initdb")
    if on_path and not override:
        candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            return candidate
    raise DeployError(
        f"PostgreSQL {POSTGRES_MAJOR} server binaries not found (initdb, postgres in "
        f"{candidates[0]}); install them with `make system-packages` "
        f"(apt-get install postgresql-{POSTGRES_MAJOR})"
    )


def server_user() -> str | None:
    """The user to run PostgreSQL as: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise DeployError(
            "running as root but no `postgres` user exists to run PostgreSQL"
        ) from None
    return SUPERUSER


def _reachable_by(path: Path, user: str) -> bool:
    """Whether `user` can traverse every directory above `path` (no privileges assumed)."""
    uid = pwd.getpwnam(user).pw_uid
    for parent in path.resolve().parents:
        status = parent.stat()
        if status.st_uid == uid:
            continue
        if not status.st_mode & 0o001:
            return False
    return True


def _run_tool(command: list[str], *, user: str | None, log_path: Path) -> None:
    with open(log_path, "ab") as log:
        try:
            completed = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                user=user,
                timeout=TOOL_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DeployError(
                f"{Path(command[0]).name} did not finish in {TOOL_TIMEOUT_S} s"
            ) from None
    if completed.returncode != 0:
        tail = " | ".join(log_path.read_text(errors="replace").splitlines()[-3:])
        raise DeployError(f"{Path(command[0]).name} failed ({completed.returncode}): {tail}")


def data_root(run_dir: Path) -> Path:
    """Where the data directories go: `run_dir/pg`, or, when the server user cannot reach the
    run directory (a private checkout), a temporary directory that `run_dir/pg` links to.

    Returns the real path: the server user could not follow the link itself.
    """
    user = server_user()
    root = run_dir / "pg"
    if user is not None and not _reachable_by(root, user):
        elsewhere = Path(tempfile.mkdtemp(prefix="paychaos-pg-"))
        elsewhere.chmod(0o755)
        root.symlink_to(elsewhere, target_is_directory=True)
    root.mkdir(parents=True, exist_ok=True)
    if user is not None:
        shutil.chown(root.resolve(), user=user)
    return root.resolve()


def remove_data(run_dir: Path) -> None:
    """Delete the data directories (and a linked temporary directory) after the servers stop."""
    root = run_dir / "pg"
    target = root.resolve()
    shutil.rmtree(target, ignore_errors=True)
    if root.is_symlink():
        root.unlink()


def _write_settings(data_dir: Path, settings: dict[str, str], *, user: str | None) -> None:
    lines = "".join(f"{name} = {value}\n" for name, value in settings.items())
    with open(data_dir / "postgresql.conf", "a") as configuration:
        configuration.write("\n# paychaos\n" + lines)
    if user is not None:
        shutil.chown(data_dir / "postgresql.conf", user=user)


def init_primary(bindir: Path, data_dir: Path, port: int, log_path: Path) -> None:
    """initdb a primary configured for streaming replication on 127.0.0.1:port."""
    user = server_user()
    _run_tool(
        [
            str(bindir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-instructions",
        ],
        user=user,
        log_path=log_path,
    )
    _write_settings(data_dir, {**SERVER_SETTINGS, "port": str(port)}, user=user)
    (data_dir / "pg_hba.conf").write_text(HBA)


def init_replica(bindir: Path, data_dir: Path, port: int, source_port: int, log_path: Path) -> None:
    """pg_basebackup from 127.0.0.1:source_port (the replication link) into a hot standby.

    `-R` records that address as primary_conninfo, so streaming goes through the same link.
    """
    user = server_user()
    _run_tool(
        [
            str(bindir / "pg_basebackup"),
            "-h",
            LOOPBACK,
            "-p",
            str(source_port),
            "-U",
            SUPERUSER,
            "-D",
            str(data_dir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ],
        user=user,
        log_path=log_path,
    )
    _write_settings(data_dir, {"port": str(port)}, user=user)


def server_process(name: str, bindir: Path, data_dir: Path, log_path: Path) -> ServiceProcess:
    """The postgres server of `data_dir` as a service process (not yet started)."""
    return ServiceProcess(
        name=name,
        command=[str(bindir / "postgres"), "-D", str(data_dir)],
        log_path=log_path,
        user=server_user(),
        cwd=data_dir,
        stop_signal=signal.SIGINT,
    )


def is_ready(bindir: Path, port: int) -> bool:
    """Whether the server on `port` accepts connections (pg_isready)."""
    completed = subprocess.run(
        [str(bindir / "pg_isready"), "-h", LOOPBACK, "-p", str(port), "-t", "1", "-q"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=5,
        check=False,
    )
    return completed.returncode == 0


def create_database(bindir: Path, port: int, log_path: Path) -> None:
    """Create the SUT's database on the primary."""
    _run_tool(
        [str(bindir / "createdb"), "-h", LOOPBACK, "-p", str(port), "-U", SUPERUSER, DATABASE_NAME],
        user=None,
        log_path=log_path,
    )


def dsn(port: int, *, driver: str = "postgresql") -> str:
    """A connection string for the SUT's database on 127.0.0.1:port."""
    return f"{driver}://{SUPERUSER}@{LOOPBACK}:{port}/{DATABASE_NAME}"


def promote(bindir: Path, data_dir: Path, log_path: Path) -> None:
    """Promote the standby of `data_dir` to a primary, waiting until it accepts writes."""
    _run_tool(
        [str(bindir / "pg_ctl"), "promote", "-D", str(data_dir), "-w", "-t", str(TOOL_TIMEOUT_S)],
        user=server_user(),
        log_path=log_path,
    )


def run_sql(bindir: Path, port: int, statements: list[str], log_path: Path) -> None:
    """Run `statements` on the server at 127.0.0.1:port with psql, stopping at an error."""
    command = [str(bindir / "psql"), "-h", LOOPBACK, "-p", str(port), "-U", SUPERUSER]
    command += ["-d", DATABASE_NAME, "-v", "ON_ERROR_STOP=1", "-X", "-q"]
    for statement in statements:
        command += ["-c", statement]
    _run_tool(command, user=None, log_path=log_path)


# Synchronous replication as the campaigns use it: a commit returns once the standby has
# applied it, so a failover loses nothing that was acknowledged.
SYNCHRONOUS_SETTINGS = [
    "ALTER SYSTEM SET synchronous_standby_names = '*'",
    "ALTER SYSTEM SET synchronous_commit = 'remote_apply'",
    "SELECT pg_reload_conf()",
]
