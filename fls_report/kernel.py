"""The warm kernel a build worker keeps for all its reports.

Starting Python, an IPython kernel and importing pandas, matplotlib and ``fls_report`` costs
seconds; a report's own work costs about as much. So each worker process starts one kernel,
imports what the reports need into it once (:func:`warm_up`), and papermill runs every report
of that worker in it (:class:`WarmKernel`). Each report begins with a cell that clears the
kernel's namespace (``fls_report.build.with_reset_cell``), so it runs as in a fresh kernel.
"""

from __future__ import annotations

import atexit
import gc
import threading

from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import KernelManager
from traitlets import default

#: Run once in a new kernel. After the imports the kernel's objects are frozen out of the
#: garbage collector: every report starts with a reset whose full collection, and the
#: collections while figures are drawn, would otherwise walk all of pandas', matplotlib's and
#: scipy's objects each time (about 0.5 s of a 2.6 s service report).
WARM_UP_CODE = ("import fls_report.report, fls_report.stats, statsmodels.stats.proportion\n"
                "fls_report.stats._scipy_stats()\n"
                "import gc; gc.collect(); gc.freeze()")

STARTUP_TIMEOUT_SECONDS = 60


class KeptClient(BlockingKernelClient):
    """A kernel client that stays connected from report to report.

    nbclient asks the kernel manager for a client for every notebook, starts its channels and
    waits until it is ready; jupyter_client ends that wait by listening 0.2 s for stray IOPub
    messages, a fixed cost on every report. A kept client is made ready once. Reusing it is
    safe: nbclient takes only the messages that answer its own requests.
    """

    _ready = False

    def start_channels(self, *args, **kwargs) -> None:
        if not self.channels_running:
            super().start_channels(*args, **kwargs)

    def wait_for_ready(self, timeout: float | None = None) -> None:
        if not self._ready:
            super().wait_for_ready(timeout=timeout)
            self._ready = True


class KeptClientKernelManager(KernelManager):
    """A kernel manager that hands out one :class:`KeptClient` for its kernel, every time."""

    _kept: KeptClient | None = None

    @default("client_factory")
    def _kept_client_factory(self) -> type:
        return KeptClient

    def client(self, **kwargs) -> KeptClient:
        if self._kept is None:
            self._kept = super().client(**kwargs)
        return self._kept

    def stop_client(self) -> None:
        if self._kept is not None:
            self._kept.stop_channels()
            self._kept = None


class WarmKernel:
    """One IPython kernel per worker, reused from report to report.

    A worker is a process of the local pool, or a thread of a Dask worker (a Dask worker may run
    several reports at once, one per thread: each thread has its own kernel, since a report
    begins by clearing its kernel's namespace). A kernel that died, or a report that failed
    (:meth:`discard`), gets a new kernel.
    """

    _local = threading.local()

    def __init__(self) -> None:
        self.manager = KeptClientKernelManager(kernel_name="python3")
        self.manager.start_kernel(extra_arguments=["--IPKernelApp.log_level=ERROR"])
        atexit.register(self.shutdown)

    @classmethod
    def ready(cls) -> "WarmKernel":
        """The worker's kernel, started if need be."""
        kernel = getattr(cls._local, "kernel", None)
        if kernel is None or not kernel.manager.is_alive():
            cls.discard()
            kernel = cls._local.kernel = cls()
        return kernel

    @classmethod
    def discard(cls) -> None:
        kernel = getattr(cls._local, "kernel", None)
        if kernel is not None:
            kernel.shutdown()
            cls._local.kernel = None

    def shutdown(self) -> None:
        try:
            self.manager.stop_client()
            if self.manager.has_kernel:
                self.manager.shutdown_kernel(now=True)
        except Exception:  # shutting down at exit: nothing useful to report
            pass


def warm_up() -> None:
    """Start this process's kernel, import what the reports need in the kernel and here, and
    freeze both processes' objects out of the garbage collector (see :data:`WARM_UP_CODE`).

    It only saves time: if anything fails here, the first report starts a kernel afresh.
    """
    try:
        import nbconvert  # noqa: F401  (imported here so the first report does not wait for them)
        import papermill  # noqa: F401

        client = WarmKernel.ready().manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=STARTUP_TIMEOUT_SECONDS)
        client.execute_interactive(WARM_UP_CODE, silent=True, store_history=False, timeout=120)
        gc.collect()
        gc.freeze()
    except Exception:  # an optimisation only
        WarmKernel.discard()
