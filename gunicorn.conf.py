"""gunicorn's settings for every way the app is served (make run, the live tests, the benchmarks); read from here.

The command line adds only where to listen. WEB_CONCURRENCY (gunicorn's own variable) sets the number of workers.
"""

import os

# Two cores: two workers keep both busy while PostgreSQL waits on the disk.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# Sync workers: one request at a time each, which is safe with the database session per request. They never wait
# on a slow phone: the proxy in front (deploy/nginx.conf) hands them whole requests only.
worker_class = "sync"
# A push of 200 visits takes well under a second; a worker silent for this long is stuck and is replaced.
timeout = 60
graceful_timeout = 20
# A worker is replaced after this many requests (jittered, so two workers are not replaced at once): memory that a
# large request left fragmented in Python's allocator goes back to the system (reliability B4).
max_requests = 2000
max_requests_jitter = 200
# Connections beyond this wait in nginx, not in the kernel, where a phone's request cannot be told "busy".
backlog = 256
# gunicorn's control socket would sit in the home folder, shared by every gunicorn of the user (make run beside the
# live tests and benchmarks); signals to the master do all we need.
control_socket_disable = True
