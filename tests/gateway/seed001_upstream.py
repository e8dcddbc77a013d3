"""A loopback HTTP server behaving as seed 001's spec describes
(`shared/specs/seed001_gorm_asynq.yaml`): base path /api/v1, the `token`
header on every operation but /health, the {code, msg, data, timestamp}
envelope, users CRUD in memory, tasks queued by priority.
"""
from __future__ import annotations

import datetime as dt
import re
import threading
import uuid

from tests.net.loopback_http import LoopbackServer, LoopbackUpstream, Request

BASE = "/api/v1"
STATUSES = ("active", "inactive", "suspended")
PRIORITIES = ("critical", "default", "low")


def _now() -> str:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds")


def _ok(data=None):
    body = {"code": 0, "msg": "success", "timestamp": _now()}
    if data is not None:
        body["data"] = data
    return body


def _err(status: int, code: int, msg: str):
    return status, {}, {"code": code, "msg": msg, "data": None, "timestamp": _now()}


class Seed001Upstream(LoopbackUpstream):
    def __init__(self, token: str = "seed-token-1"):
        self.token = token
        self.users: dict[int, dict] = {}
        self.next_id = 1
        self.tasks: list[dict] = []
        self.lock = threading.Lock()
        self.server = LoopbackServer(self.handle)

    # ------------------------------------------------------------- plumbing

    @property
    def base_url(self) -> str:
        return self.server.url(BASE)

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    # -------------------------------------------------------------- routes
    def handle(self, req: Request):
        if not req.path.startswith(BASE):
            return _err(404, 1003, "not found")
        path = req.path[len(BASE):]
        if path == "/health" and req.method == "GET":
            return 200, {}, {"status": "ok", "postgres": "up", "redis": "up"}
        if req.headers.get("token") != self.token:
            return _err(401, 1002, "缺失认证令牌")
        with self.lock:
            if path == "/users" and req.method == "POST":
                return self.create_user(req)
            if path == "/users" and req.method == "GET":
                return self.list_users(req)
            m = re.fullmatch(r"/users/([^/]+)", path)
            if m:
                return self.user(req, m.group(1))
            if path == "/tasks/email" and req.method == "POST":
                return self.task(req, "email", ("to", "subject", "body"))
            if path == "/tasks/sync" and req.method == "POST":
                return self.task(req, "sync", ("sync_type", "start_date", "end_date"))
        return _err(404, 1003, "not found")

    def create_user(self, req: Request):
        data = req.json() or {}
        for f in ("username", "email", "password"):
            if not data.get(f):
                return _err(400, 1001, "参数验证失败")
        if any(u["username"] == data["username"] for u in self.users.values()):
            return _err(409, 1004, "用户名已存在")
        now = _now()
        user = {"id": self.next_id, "username": data["username"], "email": data["email"], "status": "active",
                "created_at": now, "updated_at": now, "last_login_at": None}
        self.users[self.next_id] = user
        self.next_id += 1
        return 200, {}, _ok(user)

    def list_users(self, req: Request):
        q = dict(req.query)
        page, size = int(q.get("page", 1)), int(q.get("page_size", 20))
        users = [u for u in self.users.values() if not q.get("status") or u["status"] == q["status"]]
        chunk = users[(page - 1) * size: page * size]
        total = len(users)
        return 200, {}, _ok({"users": chunk, "page": page, "page_size": size, "total": total,
                             "total_pages": (total + size - 1) // size})

    def user(self, req: Request, raw_id: str):
        if not raw_id.isdigit() or int(raw_id) not in self.users:
            return _err(404, 1003, "用户不存在")
        uid = int(raw_id)
        if req.method == "GET":
            return 200, {}, _ok(self.users[uid])
        if req.method == "PUT":
            data = req.json() or {}
            user = self.users[uid]
            for f in ("email", "status"):
                if f in data:
                    user[f] = data[f]
            user["updated_at"] = _now()
            return 200, {}, _ok(user)
        if req.method == "DELETE":
            del self.users[uid]
            return 200, {}, _ok()
        return _err(405, 1001, "method not allowed")

    def task(self, req: Request, kind: str, required: tuple):
        data = req.json() or {}
        if any(not data.get(f) for f in required):
            return _err(400, 1001, "参数验证失败")
        queue = data.get("priority", "default")
        task = {"task_id": str(uuid.uuid4()), "queue": queue, "estimated_time": "within 5 minutes"}
        self.tasks.append({"kind": kind, **task, "payload": data})
        return 200, {}, _ok(task)
