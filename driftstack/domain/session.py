"""The Session aggregate: one browser session's life, every change and every action a fact."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

from .errors import SessionGone, SessionTimedOut

LIVE = ("creating", "ready", "busy")
TERMINAL = ("destroyed", "errored")
IDLE_TIMEOUT = "idle_timeout"


class Session(Aggregate):
    """A session moves creating → ready → destroyed | errored; a terminal session takes no action.

    `busy` is not a stored status: it is the live runtime's view of a `ready` session
    while an action runs (recording it would double the events of every action).
    """

    # Events: facts with every field the audit log and webhooks need.

    class Created(Aggregate.Created):
        account_id: str
        api_key_id: str
        archetype: str
        purpose: str
        label: str | None
        metadata: dict[str, Any] | None
        behavioral_profile: str | None
        profile_id: str | None
        node: str
        socket_client: str | None

        # v2 adds `socket_client`: the WebSocket client that drives it (standard | browser), None for
        # a session made over REST (every v1 session was).
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["socket_client"] = None

    class Provisioned(Aggregate.Event):
        """v2 adds the `engine` it runs on, its `engine_version` and what a tap is there (`tap_kind`:
        touch | click); v1 events name the engine in `browser` ("Playwright chromium (…)")."""

        browser: str
        duration_ms: int
        engine: str | None
        engine_version: str | None
        tap_kind: str | None

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            named = [e for e in ("webkit", "chromium", "firefox") if e in state.get("browser", "").lower()]
            state["engine"] = named[0] if named else None
            state["engine_version"] = None
            state["tap_kind"] = None

    class Destroyed(Aggregate.Event):
        reason: str
        api_key_id: str | None

    class Errored(Aggregate.Event):
        reason: str
        detail: str

    class Navigated(Aggregate.Event):
        api_key_id: str
        url: str
        wait_until: str
        final_url: str
        title: str
        http_status: int | None
        duration_ms: int

    class Interacted(Aggregate.Event):
        api_key_id: str
        details: dict[str, Any]
        url: str
        title: str
        duration_ms: int

    class Waited(Aggregate.Event):
        api_key_id: str
        details: dict[str, Any]
        url: str
        title: str
        duration_ms: int

    class StateRead(Aggregate.Event):
        """v2 adds `title`, so the session shows the title the state read saw (None in v1)."""

        api_key_id: str
        url: str
        byte_size: int
        duration_ms: int
        title: str | None

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["title"] = None

    class Captured(Aggregate.Event):
        api_key_id: str
        kind: str
        full_page: bool
        byte_size: int
        duration_ms: int

    class Evaluated(Aggregate.Event):
        """A script ran in the page. The script and its value may hold anything: only their sizes."""

        api_key_id: str
        script_length: int
        result_size: int
        url: str
        title: str
        duration_ms: int

    class ActionFailed(Aggregate.Event):
        """v2 adds `url` and `title`: where the page is after the failure (after a failed
        navigation, the URL that failed); None when unknown (v1) or no page is left to read."""

        api_key_id: str
        action: str
        details: dict[str, Any]
        reason: str
        error: str
        duration_ms: int
        url: str | None
        title: str | None

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["url"] = None
            state["title"] = None

    class PageMoved(Aggregate.Event):
        """The page landed somewhere no action of the session took it (its own script, a
        timed redirect): where it is now."""

        url: str
        title: str

    @event(Created)
    def __init__(
        self,
        account_id: str,
        api_key_id: str,
        archetype: str,
        purpose: str,
        label: str | None,
        metadata: dict[str, Any] | None,
        behavioral_profile: str | None,
        profile_id: str | None,
        node: str,
        socket_client: str | None = None,
    ) -> None:
        self.account_id = account_id
        self.socket_client = socket_client
        self.api_key_id = api_key_id
        self.archetype = archetype
        self.purpose = purpose
        self.label = label
        self.metadata = metadata
        self.behavioral_profile = behavioral_profile
        self.profile_id = profile_id
        self.node = node
        self.status = "creating"
        self.end_reason: str | None = None

    @property
    def public_id(self) -> str:
        return f"ses_{self.id}"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def check_can_act(self) -> None:
        if self.status == "destroyed" and self.end_reason == IDLE_TIMEOUT:
            raise SessionTimedOut(self.public_id, self.status, self.end_reason)
        if self.is_terminal:
            raise SessionGone(self.public_id, self.status, self.end_reason)

    # Lifecycle

    def become_ready(
        self,
        browser: str,
        duration_ms: int,
        *,
        engine: str | None = None,
        engine_version: str | None = None,
        tap_kind: str | None = None,
    ) -> None:
        self.check_can_act()
        self._provisioned(
            browser=browser,
            duration_ms=duration_ms,
            engine=engine,
            engine_version=engine_version,
            tap_kind=tap_kind,
        )

    @event(Provisioned)
    def _provisioned(
        self,
        browser: str,
        duration_ms: int,
        engine: str | None,
        engine_version: str | None,
        tap_kind: str | None,
    ) -> None:
        self.status = "ready"

    def destroy(self, reason: str, api_key_id: str | None) -> bool:
        """True when this call ended the session; destroying an ended session changes nothing."""
        if self.is_terminal:
            return False
        self._destroyed(reason=reason, api_key_id=api_key_id)
        return True

    @event(Destroyed)
    def _destroyed(self, reason: str, api_key_id: str | None) -> None:
        self.status = "destroyed"
        self.end_reason = reason

    def fail(self, reason: str, detail: str) -> bool:
        if self.is_terminal:
            return False
        self._errored(reason=reason, detail=detail)
        return True

    @event(Errored)
    def _errored(self, reason: str, detail: str) -> None:
        self.status = "errored"
        self.end_reason = reason

    # Actions: each records what was asked, how it ended and how long it took.

    def record_navigation(
        self,
        api_key_id: str,
        url: str,
        wait_until: str,
        final_url: str,
        title: str,
        http_status: int | None,
        duration_ms: int,
    ) -> None:
        self.check_can_act()
        self._navigated(
            api_key_id=api_key_id,
            url=url,
            wait_until=wait_until,
            final_url=final_url,
            title=title,
            http_status=http_status,
            duration_ms=duration_ms,
        )

    @event(Navigated)
    def _navigated(
        self,
        api_key_id: str,
        url: str,
        wait_until: str,
        final_url: str,
        title: str,
        http_status: int | None,
        duration_ms: int,
    ) -> None:
        pass

    def record_interaction(
        self, api_key_id: str, details: dict[str, Any], url: str, title: str, duration_ms: int
    ) -> None:
        """`url` and `title` are where the page is afterwards: a tap or a key may navigate."""
        self.check_can_act()
        self._interacted(
            api_key_id=api_key_id, details=details, url=url, title=title, duration_ms=duration_ms
        )

    @event(Interacted)
    def _interacted(
        self, api_key_id: str, details: dict[str, Any], url: str, title: str, duration_ms: int
    ) -> None:
        pass

    def record_wait(
        self, api_key_id: str, details: dict[str, Any], url: str, title: str, duration_ms: int
    ) -> None:
        self.check_can_act()
        self._waited(api_key_id=api_key_id, details=details, url=url, title=title, duration_ms=duration_ms)

    @event(Waited)
    def _waited(
        self, api_key_id: str, details: dict[str, Any], url: str, title: str, duration_ms: int
    ) -> None:
        pass

    def record_state_read(
        self, api_key_id: str, url: str, byte_size: int, duration_ms: int, *, title: str
    ) -> None:
        self.check_can_act()
        self._state_read(
            api_key_id=api_key_id, url=url, byte_size=byte_size, duration_ms=duration_ms, title=title
        )

    @event(StateRead)
    def _state_read(
        self, api_key_id: str, url: str, byte_size: int, duration_ms: int, title: str | None
    ) -> None:
        pass

    def record_capture(
        self, api_key_id: str, kind: str, full_page: bool, byte_size: int, duration_ms: int
    ) -> None:
        self.check_can_act()
        self._captured(
            api_key_id=api_key_id,
            kind=kind,
            full_page=full_page,
            byte_size=byte_size,
            duration_ms=duration_ms,
        )

    @event(Captured)
    def _captured(
        self, api_key_id: str, kind: str, full_page: bool, byte_size: int, duration_ms: int
    ) -> None:
        pass

    def record_evaluation(
        self, api_key_id: str, script_length: int, result_size: int, url: str, title: str, duration_ms: int
    ) -> None:
        self.check_can_act()
        self._evaluated(
            api_key_id=api_key_id,
            script_length=script_length,
            result_size=result_size,
            url=url,
            title=title,
            duration_ms=duration_ms,
        )

    @event(Evaluated)
    def _evaluated(
        self, api_key_id: str, script_length: int, result_size: int, url: str, title: str, duration_ms: int
    ) -> None:
        pass

    def record_failure(
        self,
        api_key_id: str,
        action: str,
        details: dict[str, Any],
        reason: str,
        error: str,
        duration_ms: int,
        *,
        url: str | None,
        title: str | None,
    ) -> None:
        """An action the browser could not do; the session itself stays usable. `url` and
        `title`: where the page is afterwards (a failed navigation leaves it on the URL that failed)."""
        self.check_can_act()
        self._action_failed(
            api_key_id=api_key_id,
            action=action,
            details=details,
            reason=reason,
            error=error,
            duration_ms=duration_ms,
            url=url,
            title=title,
        )

    @event(ActionFailed)
    def _action_failed(
        self,
        api_key_id: str,
        action: str,
        details: dict[str, Any],
        reason: str,
        error: str,
        duration_ms: int,
        url: str | None,
        title: str | None,
    ) -> None:
        pass

    def record_page_moved(self, url: str, title: str) -> None:
        self.check_can_act()
        self._page_moved(url=url, title=title)

    @event(PageMoved)
    def _page_moved(self, url: str, title: str) -> None:
        pass
