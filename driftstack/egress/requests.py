"""What a browser asks its proxy: `CONNECT host:port` or `METHOD http://host/path`, and the request it
becomes on its way to the site."""

from __future__ import annotations

from urllib.parse import urlsplit

_HOP_BY_HOP = frozenset(
    {"proxy-connection", "proxy-authorization", "connection", "keep-alive", "te", "trailer", "upgrade"}
)


class ProxyRequest:
    """The head of one request to the proxy: `CONNECT host:port` or `METHOD http://host/path`."""

    def __init__(self, method: str, target: str, version: str, headers: list[tuple[str, str]]) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.kind = "tunnel" if method == "CONNECT" else "http"
        self.host = ""
        self.port = 0
        self.path = "/"

    @classmethod
    def parse(cls, head: bytes) -> ProxyRequest | None:
        try:
            text = head.decode("latin-1")
            first, *lines = text.split("\r\n")
            method, target, version = first.split(" ")
        except ValueError:
            return None
        headers = []
        for line in lines:
            if line:
                name, sep, value = line.partition(":")
                if not sep:
                    return None
                headers.append((name.strip(), value.strip()))
        request = cls(method, target, version, headers)
        return request if request._locate() else None

    def _locate(self) -> bool:
        try:
            if self.kind == "tunnel":
                parts = urlsplit(f"//{self.target}")
            else:
                parts = urlsplit(self.target)
                if parts.scheme != "http":
                    return False  # only http:// comes as a plain request; https:// tunnels
                self.path = parts.path or "/"
                if parts.query:
                    self.path += f"?{parts.query}"
            port = parts.port or (80 if self.kind == "http" else None)
        except ValueError:
            return False
        if not parts.hostname or port is None:
            return False
        self.host, self.port = parts.hostname, port
        return True

    def forwarded_head(self) -> bytes:
        """The request as the site gets it: origin-form, our hop-by-hop headers, and one request only."""
        lines = [f"{self.method} {self.path} {self.version}"]
        lines += [f"{n}: {v}" for n, v in self.headers if n.lower() not in _HOP_BY_HOP]
        lines.append("Connection: close")  # one request per connection: each is judged and recorded
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
