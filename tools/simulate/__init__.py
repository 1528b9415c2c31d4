"""The device simulator: phones that sign in, pull, fill real forms offline and sync, over HTTP only.

`python -m tools.simulate --url ... --devices N --submissions M` runs N devices in threads against a server and prints
what happened; `simulate(Options(...))` does the same for tests and benchmarks and returns a SimulationResult.
It speaks to the server through its HTTP API alone (protocol.md): its modules import nothing of `server` or `sync`
(tools.formfill, which it uses, still takes its household sizes from server.demo).

Modules: client (HTTP and retries), knowledge (what pulls taught a device), plan (which subject next), make (one push
item from formfill), revisit (a known subject's answers from its pulled prefill), photos (attachment bytes), device
(outbox, push, uploads, ledger), stats (counters), run (devices in threads, the result), command (the command line).
"""

from tools.simulate.client import Client, GaveUp, HttpError, RetryPolicy
from tools.simulate.device import Device, DeviceSettings
from tools.simulate.plan import Mix
from tools.simulate.run import Options, Progress, SimulationResult, simulate

__all__ = ["Client", "Device", "DeviceSettings", "GaveUp", "HttpError", "Mix", "Options", "Progress", "RetryPolicy",
           "SimulationResult", "simulate"]
