"""The WebKitGTK browser WebKitWebDriver launches for a session: a window of the persona's exact size.

Run by Debian's own Python (PyGObject and WebKit2 4.1 live there, not in the service's environment),
never imported by the service. MiniBrowser cannot be narrower than 447 px (its toolbar); this shell
has no toolbar, so a 402 x 874 iPhone viewport is exactly that. The device scale comes from GDK_SCALE
in the environment WebKitWebDriver passes on.

W3C WebDriver on WebKitGTK lacks console entries, the network log, PDF and full-page screenshots;
the shell gives them over a side channel: a Unix socket the driver listens on (`--side-channel`).
One JSON object per line. The shell sends `{"event": "console" | "network", ...}` as they happen and
answers the driver's `{"id": n, "op": "pdf" | "full_screenshot" | "document" | "block" | "quit", ...}`
with `{"id": n, "ok": true | false, ...}` (`"invalid": true` beside a refusal: the request's arguments
were at fault).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
gi.require_foreign("cairo")
from gi.repository import GLib, Gtk, WebKit2  # noqa: E402

# The page's world: the persona's navigator, and console calls forwarded to the isolated world below
# as a DOM event whose name is secret to this session (a page cannot listen for a name it does not know).
_PAGE_SCRIPT = """
(() => {
  const persona = %(persona)s;
  const define = (target, name, value) => {
    try { Object.defineProperty(target, name, {get: () => value, configurable: true}); } catch (e) {}
  };
  for (const [name, value] of Object.entries(persona.navigator)) define(Navigator.prototype, name, value);
  for (const [name, value] of Object.entries(persona.screen)) define(Screen.prototype, name, value);
  const channel = %(channel)s;
  const native = Function.prototype.toString;
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    const original = console[level];
    const wrapped = function (...args) {
      try {
        const text = args.map(a => {
          if (typeof a === 'string') return a;
          try { return JSON.stringify(a); } catch (e) { return String(a); }
        }).join(' ');
        document.dispatchEvent(new CustomEvent(channel,
          {detail: {level, text: text.slice(0, 4096), url: location.href}}));
      } catch (e) {}
      return original.apply(this, args);
    };
    const source = native.call(original);
    wrapped.toString = () => source;
    console[level] = wrapped;
  }
  window.addEventListener('error', e => document.dispatchEvent(new CustomEvent(channel,
    {detail: {level: 'error', text: String(e.message).slice(0, 4096), url: e.filename || location.href,
              line: e.lineno || null}})));
})();
"""


def _resource_type(mime: str | None) -> str:
    """WebKitGTK names no resource type: the response's type says what the resource was."""
    mime = (mime or "").lower()
    if mime in ("text/css",):
        return "stylesheet"
    if "javascript" in mime or "ecmascript" in mime:
        return "script"
    if mime.startswith("image/"):
        return "image"
    if mime.startswith(("font/", "application/font", "application/x-font")):
        return "font"
    if mime.startswith(("audio/", "video/")):
        return "media"
    if mime in ("text/html", "application/xhtml+xml"):
        return "document"  # a frame's
    if mime:
        return "fetch"
    return "other"


# How long the network process gets to write storage back once the pages are closed.
STORAGE_GRACE_MS = 1000

# The shell's isolated world: it sees the page's DOM events, and alone holds the message handler.
_WORLD = "driftstack"
_WORLD_SCRIPT = """
document.addEventListener(%(channel)s, e => {
  window.webkit.messageHandlers.driftstack.postMessage(JSON.stringify(e.detail));
});
"""


class MainDocument:
    """A view's main document: the redirects of the load in flight, then what its response said at commit.

    WebKit keeps no redirect chain: the main resource's `sent-request` tells each redirect as it is
    followed, so the hops are gathered while the load runs and kept with the response that ends it.
    """

    def __init__(self) -> None:
        self.loading: WebKit2.WebResource | None = None
        self.hops: list[dict[str, Any]] = []
        self.resource: WebKit2.WebResource | None = None  # the committed document's, for its body
        self.answer: dict[str, Any] | None = None  # the committed response, as the driver gets it
        self._finished = False  # the committed resource has all its bytes (or failed)
        self._waiting: list[Callable[[WebKit2.WebResource | None], None]] = []

    def started(self, resource: WebKit2.WebResource) -> None:
        hops: list[dict[str, Any]] = []
        self.loading, self.hops = resource, hops
        resource.connect("sent-request", lambda _res, _request, redirected: _hop(hops, redirected))

    def committed(self, view: WebKit2.WebView) -> int | None:
        """Keeps what the response that committed said; its HTTP status (None without one)."""
        waiting, self._waiting = self._waiting, []
        for then in waiting:
            then(None)  # replaced before all its bytes came: they are gone with it
        resource = view.get_main_resource()
        response = resource.get_response() if resource is not None else None
        hops = self.hops if resource is not None and resource == self.loading else []
        self.resource, self._finished = resource, False
        if resource is not None:
            resource.connect("finished", lambda _res: self._finish(resource))
            resource.connect("failed", lambda _res, _error: self._finish(resource))
        # What WebKitGTK 2.50 keeps of the headers (measured): no Set-Cookie line (its network process
        # takes them out before the UI process sees the response), a repeated name as one line of its
        # values joined with ", ", and its own order rather than the server's.
        headers: list[list[str]] = []
        if response is not None and response.get_http_headers() is not None:
            response.get_http_headers().foreach(lambda name, value, *_: headers.append([name, value]), None)
        self.answer = {
            "url": (response.get_uri() if response is not None else None) or view.get_uri(),
            "status": (response.get_status_code() if response is not None else None) or None,
            "headers": headers,
            "redirects": hops,
            "content_type": (response.get_mime_type() if response is not None else None) or None,
        }
        return self.answer["status"]

    def when_finished(self, then: Callable[[WebKit2.WebResource | None], None]) -> None:
        """Calls `then(resource)` once the committed document has all its bytes (None: it has none)."""
        if self.resource is None or self._finished:
            then(self.resource)
        else:
            self._waiting.append(then)

    def _finish(self, resource: WebKit2.WebResource) -> None:
        if resource != self.resource:
            return
        self._finished = True
        waiting, self._waiting = self._waiting, []
        for then in waiting:
            then(resource)


def _hop(hops: list[dict[str, Any]], redirected: WebKit2.URIResponse | None) -> None:
    if redirected is None:
        return  # the request sent first, not a redirect
    url = redirected.get_uri()
    headers = redirected.get_http_headers()
    location = headers.get_one("Location") if headers is not None else None
    hops.append(
        {"url": url, "location": urljoin(url, location or ""), "status": redirected.get_status_code()}
    )


class SideChannel:
    """The line-per-message socket to the driver: events out, requests in (dispatched on GTK's loop)."""

    def __init__(self, path: str | None, handle: Any) -> None:
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._handle = handle
        if path:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._socket.connect(path)
            threading.Thread(target=self._read, daemon=True).start()

    def send(self, message: dict[str, Any]) -> None:
        if self._socket is None:
            return
        line = (json.dumps(message) + "\n").encode()
        with self._lock, contextlib.suppress(OSError):  # the driver gone: the reader ends the shell
            self._socket.sendall(line)

    def _read(self) -> None:
        assert self._socket is not None
        for line in self._socket.makefile("rb"):
            try:
                request = json.loads(line)
            except ValueError:
                continue
            GLib.idle_add(self._handle, request)
        GLib.idle_add(Gtk.main_quit)  # the driver is gone: so is the browser


class Shell:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.views: list[WebKit2.WebView] = []
        self.documents: dict[WebKit2.WebView, MainDocument] = {}
        self.windows: list[Gtk.Window] = []
        self.channel = SideChannel(options.side_channel, self.handle)
        if options.data_dir:
            manager = WebKit2.WebsiteDataManager(
                base_data_directory=options.data_dir,
                base_cache_directory=options.cache_dir or os.path.join(options.data_dir, ".cache"),
            )
        else:
            manager = WebKit2.WebsiteDataManager.new_ephemeral()
        if options.proxy:
            manager.set_network_proxy_settings(
                WebKit2.NetworkProxyMode.CUSTOM, WebKit2.NetworkProxySettings.new(options.proxy, [])
            )
        self.context = WebKit2.WebContext.new_with_website_data_manager(manager)
        if options.data_dir:
            cookies = self.context.get_cookie_manager()
            cookies.set_persistent_storage(
                os.path.join(options.data_dir, "cookies.sqlite"), WebKit2.CookiePersistentStorage.SQLITE
            )
        if options.cookies:
            self._add_cookies(options.cookies)
        self.context.set_automation_allowed(options.automation)
        self.context.connect("automation-started", self._automation_started)
        self.settings = WebKit2.Settings()
        self.settings.set_user_agent(options.user_agent)
        self.settings.set_enable_developer_extras(False)
        self.settings.set_enable_webrtc(False)
        self.content = self._content_manager()
        self._filters: str | None = None  # the directory compiled content filters are kept in
        self._filter_count = 0

    def _add_cookies(self, path: str) -> None:
        """Cookies of a state another engine wrote (Playwright's shape): the part of it WebKit can take."""
        gi.require_version("Soup", "3.0")
        from gi.repository import Soup

        manager = self.context.get_cookie_manager()
        with open(path) as file:
            for c in json.load(file):
                cookie = Soup.Cookie.new(c["name"], c["value"], c["domain"], c.get("path") or "/", -1)
                expires = c.get("expires", -1)
                if isinstance(expires, (int, float)) and expires > 0:
                    cookie.set_expires(GLib.DateTime.new_from_unix_utc(int(expires)))
                cookie.set_secure(bool(c.get("secure")))
                cookie.set_http_only(bool(c.get("httpOnly")))
                manager.add_cookie(cookie, None, None, None)

    def _content_manager(self) -> WebKit2.UserContentManager:
        persona = json.loads(self.options.persona or "{}")
        persona.setdefault("navigator", {})
        persona.setdefault("screen", {})
        channel = json.dumps("driftstack-" + os.urandom(8).hex())
        manager = WebKit2.UserContentManager()
        start = WebKit2.UserScriptInjectionTime.START
        frames = WebKit2.UserContentInjectedFrames.ALL_FRAMES
        page = _PAGE_SCRIPT % {"persona": json.dumps(persona), "channel": channel}
        manager.add_script(WebKit2.UserScript.new(page, frames, start, None, None))
        world = _WORLD_SCRIPT % {"channel": channel}
        manager.add_script(WebKit2.UserScript.new_for_world(world, frames, start, _WORLD, None, None))
        manager.register_script_message_handler_in_world("driftstack", _WORLD)
        manager.connect("script-message-received::driftstack", self._console)
        return manager

    def _console(self, _manager: Any, result: Any) -> None:
        # WebKit2 4.1 hands a JavascriptResult; later APIs the JSCValue itself.
        value = result.get_js_value() if hasattr(result, "get_js_value") else result
        try:
            entry = json.loads(value.to_string())
        except (ValueError, AttributeError):
            return
        self.channel.send({"event": "console", **entry})

    def _automation_started(self, _context: Any, session: WebKit2.AutomationSession) -> None:
        info = WebKit2.ApplicationInfo()
        # What the session's capabilities report as browserName and browserVersion.
        info.set_name("WebKitGTK")
        info.set_version(
            WebKit2.get_major_version(), WebKit2.get_minor_version(), WebKit2.get_micro_version()
        )
        session.set_application_info(info)
        session.connect("create-web-view", self._create_web_view)

    def _create_web_view(self, _session: Any) -> WebKit2.WebView:
        view = WebKit2.WebView(
            web_context=self.context,
            settings=self.settings,
            user_content_manager=self.content,
            is_controlled_by_automation=True,
        )
        view.connect("resource-load-started", self._resource_started)
        view.connect("load-changed", self._load_changed)
        view.connect("decide-policy", self._deciding)
        view.connect("web-process-terminated", self._web_process_terminated)
        view.connect("load-failed", self._load_failed)
        window = Gtk.Window()
        window.set_default_size(self.options.width, self.options.height)
        window.set_resizable(True)
        window.add(view)
        window.show_all()
        self.views.append(view)
        self.documents[view] = MainDocument()
        self.windows.append(window)
        return view

    def _deciding(self, _view: Any, decision: Any, kind: WebKit2.PolicyDecisionType) -> bool:
        # The page asked to go somewhere (a form submitted, a link followed, a script): told before the
        # action that caused it has answered, so the driver knows to wait for where it lands.
        if kind == WebKit2.PolicyDecisionType.NAVIGATION_ACTION:
            action = decision.get_navigation_action()
            request = action.get_request() if action is not None else None
            self.channel.send(
                {"event": "navigating", "url": request.get_uri() if request is not None else None}
            )
        return False  # WebKit decides as it would

    def _load_changed(self, view: WebKit2.WebView, load_event: WebKit2.LoadEvent) -> None:
        # A new document: where the page is now, and the HTTP status its main resource came with.
        if load_event == WebKit2.LoadEvent.STARTED:
            self.channel.send({"event": "started", "url": view.get_uri()})
        elif load_event == WebKit2.LoadEvent.COMMITTED:
            status = self.documents[view].committed(view)
            self.channel.send({"event": "committed", "url": view.get_uri(), "status": status})
        elif load_event == WebKit2.LoadEvent.FINISHED:
            self.channel.send({"event": "loaded", "url": view.get_uri()})

    def _load_failed(self, _view: Any, _event: Any, uri: str, error: GLib.Error) -> bool:
        self.channel.send({"event": "load_failed", "url": uri, "error": error.message, "code": error.code})
        return False  # WebKit shows its error page, as a browser would

    def _web_process_terminated(self, _view: Any, reason: Any) -> None:
        self.channel.send({"event": "crashed", "reason": str(reason.value_nick)})

    def _resource_started(self, view: Any, resource: WebKit2.WebResource, request: Any) -> None:
        method = request.get_http_method() or "GET"
        started = GLib.get_monotonic_time()
        main = resource == view.get_main_resource()
        if main:
            self.documents[view].started(resource)

        def report(res: WebKit2.WebResource, failure: str | None) -> None:
            response = res.get_response() if failure is None else None
            if failure is None and (response is None or not response.get_status_code()):
                # "Finished" without an answer: the connection closed empty (the egress refusing it).
                response, failure = None, "the server closed the connection without a response"
            mime = response.get_mime_type() if response is not None else None
            size = response.get_content_length() if response is not None else None
            self.channel.send(
                {
                    "event": "network",
                    "method": method,
                    "url": res.get_uri(),
                    "status": response.get_status_code() if response is not None else None,
                    "resource_type": "document" if main else _resource_type(mime),
                    "duration_ms": (GLib.get_monotonic_time() - started) / 1000,
                    "byte_size": size if size else None,  # 0: WebKit does not know it
                    "error": failure,
                }
            )

        resource.connect("finished", lambda res: report(res, None))
        resource.connect("failed", lambda res, error: report(res, error.message or "failed"))

    # Requests from the driver

    def handle(self, request: dict[str, Any]) -> bool:
        ident = request.get("id")
        op = request.get("op")
        try:
            if op == "pdf":
                self._pdf(ident, request["path"])
            elif op == "ping":  # answered after every event the shell had to send before it
                self.channel.send({"id": ident, "ok": True})
            elif op == "full_screenshot":
                self._full_screenshot(ident, request["path"])
            elif op == "document":
                self._document(ident)
            elif op == "block":
                self._block(ident, request["rules"])
            elif op == "quit":
                for window in self.windows:
                    window.destroy()
                self._quit(ident, keep=bool(request.get("keep")))
            else:
                self.channel.send({"id": ident, "ok": False, "error": f"unknown op {op!r}"})
        except Exception as e:  # noqa: BLE001  (every failure goes back to the driver as an answer)
            self.channel.send({"id": ident, "ok": False, "error": f"{type(e).__name__}: {e}"})
        return False

    def _quit(self, ident: Any, *, keep: bool) -> None:
        """Quits; when the storage is to be kept, once the network process has had time to write what
        the closed pages stored.

        WebKit writes localStorage back in its network process when a page's storage connection closes,
        after the pages are gone: a shell that quits at once loses it (0 of 7 values kept, measured), and
        neither a data fetch nor any other API here waits for it. 100 ms after closing kept 7 of 7 on an
        idle machine; 400 ms once lost a value with two test runs sharing two cores: STORAGE_GRACE_MS
        leaves ten times the idle need. Only a profile's session pays it, once, at its end.
        """

        def done() -> bool:
            if self._filters is not None:
                shutil.rmtree(self._filters, ignore_errors=True)
            self.channel.send({"id": ident, "ok": True})
            Gtk.main_quit()
            return False

        GLib.timeout_add(STORAGE_GRACE_MS if keep else 0, done)

    def _block(self, ident: Any, rules: list[dict[str, Any]]) -> None:
        """Adds a content blocker of `rules` (WebKit's content-blocker JSON) to every page's content
        manager, answering once it is added: the loads that follow are matched against it."""
        if self._filters is None:
            # Compiled filters are a cache of the session's, not part of its profile: never in the data
            # directory a state is packed from.
            base = self.options.cache_dir or (
                os.path.join(self.options.data_dir, ".cache") if self.options.data_dir else None
            )
            if base is not None:
                os.makedirs(base, exist_ok=True)
            self._filters = tempfile.mkdtemp(prefix="content-filters-", dir=base)
        self._filter_count += 1
        store = WebKit2.UserContentFilterStore.new(self._filters)

        def saved(store: WebKit2.UserContentFilterStore, result: Any) -> None:
            try:
                content_filter = store.save_finish(result)
            except GLib.Error as e:
                invalid = e.matches(
                    WebKit2.user_content_filter_error_quark(), WebKit2.UserContentFilterError.INVALID_SOURCE
                )
                self.channel.send({"id": ident, "ok": False, "error": e.message, "invalid": invalid})
                return
            self.content.add_filter(content_filter)
            self.channel.send({"id": ident, "ok": True})

        source = GLib.Bytes.new(json.dumps(rules).encode())
        store.save(f"driftstack-block-{self._filter_count}", source, None, saved)

    def _view(self) -> WebKit2.WebView:
        if not self.views:
            raise RuntimeError("no page is open")
        return self.views[-1]

    def _pdf(self, ident: Any, path: str) -> None:
        operation = WebKit2.PrintOperation.new(self._view())
        settings = Gtk.PrintSettings()
        settings.set(Gtk.PRINT_SETTINGS_OUTPUT_URI, GLib.filename_to_uri(path, None))
        settings.set(Gtk.PRINT_SETTINGS_OUTPUT_FILE_FORMAT, "pdf")
        settings.set_printer("Print to File")
        operation.set_print_settings(settings)
        operation.connect("finished", lambda _op: self.channel.send({"id": ident, "ok": True}))
        operation.connect(
            "failed", lambda _op, error: self.channel.send({"id": ident, "ok": False, "error": error.message})
        )
        operation.print_()

    def _full_screenshot(self, ident: Any, path: str) -> None:
        def done(view: WebKit2.WebView, result: Any) -> None:
            try:
                surface = view.get_snapshot_finish(result)
                surface.write_to_png(path)
                self.channel.send({"id": ident, "ok": True})
            except Exception as e:  # noqa: BLE001
                self.channel.send({"id": ident, "ok": False, "error": str(e)})

        self._view().get_snapshot(
            WebKit2.SnapshotRegion.FULL_DOCUMENT, WebKit2.SnapshotOptions.NONE, None, done
        )

    def _document(self, ident: Any) -> None:
        """The committed main document's response, and its body (base64) once all of it has arrived."""
        view = self._view()
        document = self.documents[view]
        answer = dict(document.answer or {"url": view.get_uri() or "about:blank", "status": None})

        def send(body: bytes | None) -> None:
            encoded = base64.b64encode(body).decode() if body is not None else None
            self.channel.send({"id": ident, "ok": True, **answer, "body": encoded})

        def read(resource: WebKit2.WebResource, result: Any) -> None:
            try:
                send(bytes(resource.get_data_finish(result)))
            except Exception:  # noqa: BLE001  (WebKit has no body for it: the answer says so)
                send(None)

        def finished(resource: WebKit2.WebResource | None) -> None:
            if resource is None:
                send(None)
            else:
                resource.get_data(None, read)

        if answer.get("status") is None:
            send(None)  # no response (about:blank, an error page): no body to speak of
        else:
            document.when_finished(finished)


def main() -> None:
    if "--check" in sys.argv:  # the imports above worked: this Python can run the shell
        print(f"{WebKit2.get_major_version()}.{WebKit2.get_minor_version()}.{WebKit2.get_micro_version()}")
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--automation", action="store_true")
    parser.add_argument("--width", type=int, default=402)
    parser.add_argument("--height", type=int, default=874)
    parser.add_argument("--user-agent", default="")
    parser.add_argument("--persona", default="", help="JSON: navigator and screen values")
    parser.add_argument("--data-dir", default="", help="a profile's directory; none: ephemeral")
    parser.add_argument("--cache-dir", default="")
    parser.add_argument("--proxy", default="", help="every request leaves through this proxy")
    parser.add_argument("--cookies", default="", help="a JSON file of cookies to start with")
    parser.add_argument("--side-channel", default="", help="the driver's Unix socket")
    options, _unknown = parser.parse_known_args()
    # Measured, not understood: with a data directory and no Python thread besides the main one, the
    # automation session never starts (WebKitWebDriver's new session hangs); any second thread avoids it.
    # The side channel's reader is one; this keeps the shell working without a side channel too.
    threading.Thread(target=threading.Event().wait, name="keep-threads", daemon=True).start()
    Gtk.init(sys.argv[:1])
    Shell(options)
    Gtk.main()


if __name__ == "__main__":
    main()
