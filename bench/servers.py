"""gunicorn processes for the benchmark, and their workers' memory read from /proc."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    """A gunicorn master we started, and where it listens."""

    name: str
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def base(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        """The worker pids (children of the master)."""
        return children(self.process.pid)

    def stop(self) -> None:
        """Stop the master (it stops its workers) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(name: str, app: str, port: int, env: dict, log_dir: Path, ready_path: str) -> Server:
    """Start `gunicorn -c gunicorn.conf.py app` on 127.0.0.1:port and wait until it answers."""
    log = log_dir / f"{name}.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "-c", str(ROOT / "gunicorn.conf.py"), app],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = Server(name, process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            status, _ = get(server.base, ready_path)
            expected = int(env.get("GUNICORN_WORKERS", 1))
            if status == 200 and len(server.workers()) >= expected:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not answer on port {port} within 60 s; see {log}")


def get(base: str, path: str, headers: dict | None = None, body: bytes | None = None, method="GET"):
    """One request; (status, body bytes)."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=600)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def children(pid: int) -> list[int]:
    """Pids whose parent is pid."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces; the parent pid is the second field after ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A /proc/<pid>/status memory figure (VmRSS now, VmHWM the peak), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class PeakWatcher:
    """Polls the workers' resident memory while something runs; keeps each worker's peak."""

    def __init__(self, pids: list[int], every: float = 0.02):
        self.pids, self.every = pids, every
        self.peaks = {pid: memory_mb(pid) for pid in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                self.peaks[pid] = max(self.peaks[pid], memory_mb(pid))
            self._stop.wait(self.every)

    def __enter__(self) -> PeakWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
