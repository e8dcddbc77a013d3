"""Real redis-server processes on free loopback ports, for the comparison tests
and the benchmark: standalone servers (optionally with a password and an
ACL user) and a 3-master cluster built with `redis-cli --cluster create`.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

PASSWORD = "s3cret-Pa55"
ACL_USER = "reader"
ACL_PASSWORD = "reader-Pa55"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(cluster_bus: bool = False) -> int:
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 55000 and cluster_bus:
            continue
        if not cluster_bus or _port_free(port + 10000):
            return port
    raise RuntimeError("no free port")


@dataclass
class RedisServer:
    port: int
    proc: subprocess.Popen
    workdir: str
    password: str | None = None
    cluster: bool = False
    extra: dict = field(default_factory=dict)

    def client(self, **kw):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _wait_ready(port: int, password: str | None, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    import redis
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server on {port} exited with {proc.returncode}")
        try:
            redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1).ping()
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.02)
    raise RuntimeError(f"redis-server on {port} did not start")


def start_server(*, password: str | None = None, acl_user: bool = False, cluster: bool = False,
                 port: int | None = None, extra_args: list[str] | None = None) -> RedisServer:
    port = port or free_port(cluster_bus=cluster)
    workdir = tempfile.mkdtemp(prefix=f"redis-{port}-")
    args = [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", workdir, "--daemonize", "no", "--loglevel", "warning", "--protected-mode", "no",
    ]
    if password:
        args += ["--requirepass", password]
    if cluster:
        args += ["--cluster-enabled", "yes", "--cluster-config-file", os.path.join(workdir, "nodes.conf"),
                 "--cluster-node-timeout", "2000"]
    args += list(extra_args or [])
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_ready(port, password, proc)
    srv = RedisServer(port=port, proc=proc, workdir=workdir, password=password, cluster=cluster)
    if acl_user:
        srv.client().execute_command(
            "ACL", "SETUSER", ACL_USER, "on", f">{ACL_PASSWORD}", "~*", "resetchannels",
            "+@read", "+@connection", "+info", "+type", "+scan", "-keys")
    return srv


def start_cluster(masters: int = 3, extra_args: list[str] | None = None) -> list[RedisServer]:
    nodes = [start_server(cluster=True, extra_args=extra_args) for _ in range(masters)]
    try:
        addrs = [f"127.0.0.1:{n.port}" for n in nodes]
        subprocess.run(["redis-cli", "--cluster", "create", *addrs, "--cluster-replicas", "0",
                        "--cluster-yes"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            infos = [n.client().cluster("info") for n in nodes]
            if all(i.get("cluster_state") == "ok" and int(i.get("cluster_known_nodes", 0)) == masters
                   for i in infos):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("cluster did not become ok")
    except Exception:
        for n in nodes:
            n.stop()
        raise
    return nodes


def cluster_client(nodes: list[RedisServer]):
    from redis.cluster import ClusterNode, RedisCluster
    return RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", n.port) for n in nodes])
