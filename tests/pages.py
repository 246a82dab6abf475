"""Pages the tests drive, served on 127.0.0.1 by an aiohttp app."""

from __future__ import annotations

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


def _html(body: str) -> web.RequestHandler:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(text=body, content_type="text/html")

    return handler


def site_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/form", _html(FORM))
    app.router.add_get("/submitted", _html(SUBMITTED))
    app.router.add_get("/late", _html(LATE))
    app.router.add_get("/redirecting", _html(REDIRECTING))
    app.router.add_get("/cookie", _html(COOKIE))
    return app
