"""Pages the tests drive, served on 127.0.0.1 by an aiohttp app."""

from __future__ import annotations

import asyncio

from aiohttp import web

FORM = """<!doctype html><html><head><title>Form</title>
<meta name="viewport" content="width=device-width"></head><body>
<h1 id="greeting">hello</h1>
<button id="tap-me" onclick="document.getElementById('greeting').textContent='tapped'">tap me</button>
<form id="f" action="/submitted" method="get"><input id="name" name="name"></form>
<div style="height:4000px">tall</div>
</body></html>"""

SUBMITTED = """<!doctype html><html><head><title>Submitted</title></head>
<body><p id="result">submitted</p></body></html>"""

LATE = """<!doctype html><html><head><title>Late</title></head><body>
<script>setTimeout(() => { const d = document.createElement('div'); d.id = 'late';
d.textContent = 'arrived'; document.body.appendChild(d); }, 300);</script></body></html>"""

REDIRECTING = """<!doctype html><html><head><title>Leaving</title></head><body>
<script>setTimeout(() => { location.href = '/submitted?name=auto'; }, 300);</script></body></html>"""

COOKIE = """<!doctype html><html><head><title>Cookie</title></head><body>
<script>document.cookie = 'visited=yes; path=/';</script></body></html>"""


# Signs in the way sites do: a cookie from the server, a token in localStorage, a record in IndexedDB.
# `#saved` appears once the IndexedDB transaction has committed.
LOGIN = """<!doctype html><html><head><title>Signed in</title></head><body>
<script>
const user = new URLSearchParams(location.search).get('user');
localStorage.setItem('token', 'tok-' + user);
const open = indexedDB.open('app', 1);
open.onupgradeneeded = () => open.result.createObjectStore('kv');
open.onsuccess = () => {
  const tx = open.result.transaction('kv', 'readwrite');
  tx.objectStore('kv').put('prefs-' + user, 'prefs');
  tx.oncomplete = () => { const d = document.createElement('p'); d.id = 'saved'; d.textContent = 'saved';
                          document.body.appendChild(d); };
};
</script></body></html>"""

# What this browser remembers: the cookie (as the server saw it), localStorage and IndexedDB.
# `#done` appears once all three are on the page.
WHOAMI = """<!doctype html><html><head><title>Who am I</title></head><body>
<p id="cookie">{cookie}</p><p id="local"></p><p id="idb"></p>
<script>
document.getElementById('local').textContent = localStorage.getItem('token') || 'none';
const finish = (value) => { document.getElementById('idb').textContent = value;
  const d = document.createElement('p'); d.id = 'done'; d.textContent = 'done';
  document.body.appendChild(d); };
const open = indexedDB.open('app', 1);
open.onupgradeneeded = () => open.result.createObjectStore('kv');
open.onsuccess = () => {
  const get = open.result.transaction('kv').objectStore('kv').get('prefs');
  get.onsuccess = () => finish(get.result || 'none');
  get.onerror = () => finish('none');
};
open.onerror = () => finish('none');
</script></body></html>"""


# A form posted with a tap, answered slowly: the tap returns while the page is still on its way.
SIGNUP = """<!doctype html><html><head><title>Sign up</title></head><body>
<form action="/welcome" method="get"><input id="who" name="who" value="ada">
<button id="send" type="submit">send</button></form>
<a id="nowhere" href="http://nonexistent.invalid/">nowhere</a></body></html>"""


async def _welcome(request: web.Request) -> web.Response:
    await asyncio.sleep(0.3)  # the site's pace, so the navigation a tap starts is seen in flight
    who = request.query.get("who", "")
    page = f"<!doctype html><title>Welcome {who}</title><p id='welcome'>welcome</p>"
    return web.Response(text=page, content_type="text/html")


async def _login(request: web.Request) -> web.Response:
    user = request.query.get("user", "anon")
    response = web.Response(text=LOGIN, content_type="text/html")
    response.set_cookie("sid", f"sess-{user}", max_age=3600, httponly=True, path="/")
    return response


async def _whoami(request: web.Request) -> web.Response:
    cookie = request.cookies.get("sid", "none")
    return web.Response(text=WHOAMI.replace("{cookie}", cookie), content_type="text/html")


# What the page can tell about the engine under it, whatever the user agent says, and the headers the
# server received. `#done` appears once written.
ENGINE = """<!doctype html><html><head><title>Engine</title>
<meta name="viewport" content="width=device-width"></head><body>
<p id="sec-ch-ua">{sec_ch_ua}</p><p id="agent">{agent}</p><pre id="tells"></pre>
<script>
const stack = (() => { try { throw new Error('x'); } catch (e) { return String(e.stack); } })();
document.getElementById('tells').textContent = JSON.stringify({
  v8_stack: stack.includes('    at '), window_chrome: typeof window.chrome !== 'undefined',
  touch_events: 'ontouchstart' in window, width: innerWidth, height: innerHeight, dpr: devicePixelRatio,
  platform: navigator.platform, max_touch_points: navigator.maxTouchPoints, vendor: navigator.vendor,
  webkit_handlers: typeof window.webkit !== 'undefined'});
const d = document.createElement('p'); d.id = 'done'; d.textContent = 'done'; document.body.appendChild(d);
</script></body></html>"""


async def _engine(request: web.Request) -> web.Response:
    page = ENGINE.replace("{sec_ch_ua}", request.headers.get("sec-ch-ua", "absent"))
    page = page.replace("{agent}", request.headers.get("User-Agent", ""))
    return web.Response(text=page, content_type="text/html")


def _html(body: str) -> web.RequestHandler:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(text=body, content_type="text/html")

    return handler


# Logs at every level, fetches a resource that 404s and one the egress refuses, then throws.
# `#done` appears once all of it has happened.
NOISY = """<!doctype html><html><head><title>Noisy</title></head><body><script>
console.log('page loaded', 42);
console.warn('careful');
console.error('something broke');
Promise.allSettled([fetch('/missing'), fetch('http://127.0.0.2:8080/refused')]).then(([missing, refused]) => {
  console.info('missing answered ' + missing.value.status);
  console.info('refused: ' + refused.status);
  setTimeout(() => { throw new Error('boom'); }, 0);
  setTimeout(() => { const d = document.createElement('p'); d.id = 'done'; d.textContent = 'done';
                    document.body.appendChild(d); }, 50);
});
</script></body></html>"""


def site_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/form", _html(FORM))
    app.router.add_get("/submitted", _html(SUBMITTED))
    app.router.add_get("/late", _html(LATE))
    app.router.add_get("/redirecting", _html(REDIRECTING))
    app.router.add_get("/cookie", _html(COOKIE))
    app.router.add_get("/login", _login)
    app.router.add_get("/whoami", _whoami)
    app.router.add_get("/signup", _html(SIGNUP))
    app.router.add_get("/welcome", _welcome)
    app.router.add_get("/engine", _engine)
    app.router.add_get("/noisy", _html(NOISY))
    return app
