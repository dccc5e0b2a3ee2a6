"""gunicorn settings; each can be overridden by its environment variable."""

import multiprocessing
import os

import gunicorn.http.wsgi

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
# gthread that takes a new connection only while a thread is free, so connections opened
# together spread over the workers (signage/core/workers.py); one thread: sync workers.
worker_class = "signage.core.workers.BalancedThreadWorker" if threads > 1 else "sync"
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
