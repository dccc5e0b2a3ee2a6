"""gunicorn settings; each can be overridden by its environment variable."""

import multiprocessing
import os

import gunicorn.http.wsgi
from gunicorn.workers.gthread import ThreadWorker

# gunicorn sends `Server: gunicorn` on every answer and has no setting to drop it: name the
# service instead of the software, so a scan learns nothing to look up exploits for.
gunicorn.http.wsgi.SERVER = "signage"

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Threaded workers (gthread), cores + 1 of them with 4 threads each: on the 2-core benchmark
# machine this beat 5 sync workers for one shop (15-23% of the bare-Flask ceiling against 9%)
# and a page of 50 (7-9% against 2.5%); sync workers also close every connection and are
# killed by `timeout` during a long export. See docs/benchmarks.md.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))


class BalancedThreadWorker(ThreadWorker):
    """gunicorn's threaded worker, taking a new connection only while one of its threads is free.

    gthread accepts every connection it can (up to `worker_connections`, 1000) and keeps it: a
    kept-alive connection's later requests all go to the worker that accepted it. Connections
    that open together (a load balancer's pool, the benchmark's 16) land on whichever worker
    wakes first: 15, 1 and 0 on three workers in one benchmark run, so one process (one core,
    under the GIL) served nearly all the load while the other core idled. This worker stops
    listening while all its threads are busy, so a new connection waits in the kernel's queue
    for a worker that can serve it now; requests on connections a worker holds queue for its
    threads as before. Defined here, not in the app's package, so that gunicorn's master does
    not import the app (a reload would fork workers from old code).

    Built on gthread's `enqueue_req` (a request goes to the threads), `finish_request` (it is
    done) and `set_accept_enabled` (switched back on by the main loop's next turn while the
    worker has room), all run on the worker's main thread; requirements.txt pins gunicorn.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_hand = 0  # requests handed to the threads and not finished yet

    def enqueue_req(self, conn):
        self.in_hand += 1
        super().enqueue_req(conn)
        if self.in_hand >= self.cfg.threads:
            self.set_accept_enabled(False)

    def finish_request(self, conn, fs):
        self.in_hand -= 1
        super().finish_request(conn, fs)

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled and self.in_hand < self.cfg.threads)


# One thread: sync workers.
worker_class = BalancedThreadWorker if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then (a leak stays bounded); 0 turns it off (the benchmark does).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200 if max_requests else 0
accesslog = None  # the app writes structured request logs itself
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Move what loading the app made (modules, mappers, schemas) out of the collector's way.

    Without it every collection that reaches them walks them again, a pause that lands on
    some request (hazard creates in one process: the longest pause 1.4 ms, 0.3 ms frozen).
    """
    import gc

    gc.collect()
    gc.freeze()
