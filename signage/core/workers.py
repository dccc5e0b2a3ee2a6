"""gunicorn's threaded worker, taking a new connection only while one of its threads is free.

gunicorn's gthread worker accepts every connection it can (up to `worker_connections`, 1000)
and keeps it: a kept-alive connection's later requests all go to the worker that accepted it.
Connections that open together (a load balancer's, or the benchmark's 16) land on whichever
worker wakes first: 15, 1 and 0 on three workers in one benchmark run, so one process, on one
core under the GIL, served nearly all the load while the other core idled. This worker stops
listening while all its threads are busy and listens again as one comes free, so a connection
waits in the kernel's queue for a worker that can serve it now. Requests on the connections a
worker already holds are queued for its threads as before.

Built on gunicorn's own `enqueue_req` (a request is handed to the threads), `finish_request`
(it is done) and `set_accept_enabled` (the switch the main loop turns back on, on its next
turn, while the worker has room), all run on the worker's main thread: requirements.txt pins
the gunicorn they are from.
"""

from __future__ import annotations

from gunicorn.workers.gthread import ThreadWorker


class BalancedThreadWorker(ThreadWorker):
    """gthread, accepting while fewer requests are in hand than it has threads."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_hand = 0  # requests handed to the threads and not yet finished

    def enqueue_req(self, conn):
        self.in_hand += 1
        super().enqueue_req(conn)
        if self.in_hand >= self.cfg.threads:
            self.set_accept_enabled(False)  # the main loop enables it again once one is free

    def finish_request(self, conn, fs):
        self.in_hand -= 1
        super().finish_request(conn, fs)

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled and self.in_hand < self.cfg.threads)
