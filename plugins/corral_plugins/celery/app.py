"""corral's Celery application: its settings and its tasks.

- ``corral.ping`` answers who ran it: the worker's name, PID, corral version and queues.
  A task rather than only a control broadcast, so a test or an operator can check that
  a message put on queue ``eu`` reaches a worker that serves ``eu``.
- ``corral.run`` runs a whole queued run of ``corral serve`` (corral_plugins.celery.remote_run).
- ``corral.shard`` opens a sealed shard (corral.engine.shards: a round's units for some
  hosts, with the state they read), runs it and seals what its units did. The worker
  keeps no state between shards.

Messages are JSON, and what a shard carries inside is a pickle sealed with AES-GCM
under the key the coordinator and its workers share: a worker unpickles only what that
key authenticated, never what someone else put on the broker. Acks are late and a lost
worker's message is requeued, so a shard is never lost; each worker takes one message
at a time, so a long shard never holds others back behind it on a busy worker.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from corral import __version__
from corral_plugins.celery.crypto import seal_bytes, unseal_bytes
from corral_plugins.celery.settings import DEFAULT_QUEUE, BrokerSettings

if TYPE_CHECKING:
    from celery import Celery

    from corral.plugins import Registry

__all__ = ["PING", "RESULT_EXPIRES", "RUN", "SHARD", "make_app"]

PING = "corral.ping"
SHARD = "corral.shard"
RUN = "corral.run"
RESULT_EXPIRES = 3600  # seconds: the coordinator collects results as they come


def make_app(settings: BrokerSettings) -> Celery:
    """A Celery app on ``settings``' broker and result backend with corral's tasks."""
    from celery import Celery

    backend = settings.result_backend or settings.broker_url
    app = Celery("corral", broker=settings.broker_url, backend=backend)
    timeout = settings.connect_timeout
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A shard a worker took shows as STARTED: the coordinator tells "nobody took it"
        # from "it is running".
        task_track_started=True,
        # A shard runs on when the broker goes away (a restart): its answer goes to the
        # result backend, where the coordinator reads it once the broker is back, and its
        # units to the journal. Cancelled, it would be redelivered only after the
        # visibility timeout, and the run would wait that long.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_default_queue=DEFAULT_QUEUE,
        result_expires=RESULT_EXPIRES,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            "socket_connect_timeout": timeout,
            # A dead worker's message is taken back once its visibility timeout is over:
            # look for such messages a few times per timeout (kombu's default, every
            # 100 s, would hold a run up long after a short timeout).
            "unacked_restore_interval": min(10.0, max(1.0, settings.visibility_timeout / 3)),
            "unacked_restore_throttle": 1,
        },
        result_backend_transport_options={"socket_connect_timeout": timeout},
        redis_socket_connect_timeout=timeout,
        broker_connection_timeout=timeout,
        # A worker waits for its broker as long as it takes (a broker restart must not
        # end the fleet's workers); callers that must not wait bound their own retries.
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # Publishing gives up after about 3 s when the broker is down, not after minutes.
        task_publish_retry_policy={
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        enable_utc=True,
    )
    # shared=False: the task belongs to this app only (each run or worker makes its own)
    app.task(name=PING, bind=True, shared=False)(_ping_task(settings.queues))
    app.task(name=SHARD, bind=True, shared=False)(_shard_task(settings.key))
    # A whole run is acknowledged when a worker takes it, never given to a second one:
    # a lost worker's run is recorded interrupted, to be resumed, not started again.
    app.task(name=RUN, bind=True, shared=False, acks_late=False)(_run_task(settings.key))
    return app


def _ping_task(queues: tuple[str, ...]) -> Any:
    def ping(task: Any) -> dict[str, Any]:
        """Who answered: worker name, PID, corral version and the queues it serves."""
        return {
            "hostname": task.request.hostname,
            "pid": os.getpid(),
            "version": __version__,
            "queues": list(queues),
        }

    return ping


_REGISTRY: list[Registry] = []  # this worker process's plugins, loaded by its first shard


def _registry() -> Registry:
    if not _REGISTRY:
        from corral.plugins import build_registry, make_plugin_manager

        _REGISTRY.append(build_registry(make_plugin_manager(os.environ)))
    return _REGISTRY[0]


def _shard_task(key: bytes | None) -> Any:
    def shard(task: Any, sealed: str) -> str:
        """Open the sealed shard, run its units, and seal what they did."""
        if key is None:  # corral worker refuses to start without one; this is a guard
            from corral_plugins.celery.crypto import SealError

            raise SealError("this worker has no broker key to open shards with")
        # Imported when a shard runs: the engine is not needed to answer pings.
        from corral.engine.shards import run_shard

        data = unseal_bytes(sealed, key)  # before anything else: refuse what the key did not seal
        from corral_plugins.celery.journal import BackendJournal

        journal = BackendJournal(task.app.backend, key)
        try:
            answer = run_shard(data, _registry(), os.environ, journal)
        finally:
            journal.close()
        return seal_bytes(answer, key)

    return shard


def _run_task(key: bytes | None) -> Any:
    def run(task: Any, sealed: str) -> int:
        """Run the sealed queued run, its records sent to the server that queued it."""
        if key is None:
            from corral_plugins.celery.crypto import SealError

            raise SealError("this worker has no broker key to open runs with")
        from corral_plugins.celery.channel import RunChannel
        from corral_plugins.celery.crypto import unseal
        from corral_plugins.celery.remote_run import run_whole

        payload = unseal(sealed, key)
        channel = RunChannel(task.app.backend.client, key, str(payload["run_id"]))
        return run_whole(channel, payload, worker=str(task.request.hostname))

    return run
