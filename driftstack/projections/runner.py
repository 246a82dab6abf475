"""Runs each projection under eventsourcing's ProjectionRunner, restarting it when it dies."""

from __future__ import annotations

import threading
from typing import Any

import structlog
from eventsourcing.projection import Projection, ProjectionRunner

from .progress import Progress
from .view import View

log = structlog.get_logger()


class SupervisedProjection:
    """One projection in a thread of its own: any error restarts it from its tracking position.

    A ProjectionRunner re-raises from `run_forever()` when `process_event` fails or its
    LISTEN connection drops; without a supervisor the view would silently stop.
    """

    def __init__(
        self,
        projection_class: type[Projection[Any]],
        view_class: type[View],
        application_class: type[Any],
        env: dict[str, str],
        restart_delay_s: float = 1.0,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self.progress = Progress()
        # A subclass per supervisor carries this supervisor's progress (and whatever else the
        # projection needs, e.g. a key) into the runner's projection instance from its first event.
        self._projection_class: type[Projection[Any]] = type(
            projection_class.__name__,
            (projection_class,),
            {"name": projection_class.name, "progress": self.progress, **(attributes or {})},
        )
        self._view_class = view_class
        self._application_class = application_class
        self._env = env
        self._restart_delay_s = restart_delay_s
        self._stopping = threading.Event()
        self._runner: ProjectionRunner[Any, Any] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"projection-{projection_class.name}", daemon=True
        )

    @property
    def name(self) -> str:
        return self._projection_class.name

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError(f"projection {self.name} did not start")

    def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            self._runner.stop()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with ProjectionRunner(
                    application_class=self._application_class,
                    projection_class=self._projection_class,
                    view_class=self._view_class,
                    env=self._env,
                ) as runner:
                    self._runner = runner
                    start = runner.view.max_tracking_id(runner.app_name) or 0
                    self.progress.advance(start)
                    self._started.set()
                    while not self._stopping.is_set():
                        runner.run_forever(timeout=0.5)
                        if runner.is_interrupted.is_set():
                            break
            except Exception:
                log.exception("projection.failed", projection=self.name)
            if not self._stopping.wait(self._restart_delay_s):
                log.info("projection.restarting", projection=self.name)
