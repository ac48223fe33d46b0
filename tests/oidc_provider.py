"""A real OpenID Connect provider for tests: oidc-provider (Node.js, tests/oidc/) on loopback.

    with OidcProvider([{"client_id": "polku", "client_secret": "s3cret",
                        "redirect_uris": ["http://127.0.0.1:5000/auth/callback"]}]) as provider:
        provider.issuer  # http://127.0.0.1:<free port>

Its accounts are fixed (tests/oidc/provider.mjs): "asiakas-1" and "hoitaja-1". `sign_in_at_provider`
walks an authorization URL through the provider's login page as a browser would, without one.

`OidcProvider(clients, tamper={"aud": "someone-else"})` makes it mis-issue every ID token with those claims over
the real ones, still signed with its key: for tests that a client refuses such tokens.
"""

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
NPM_CI = "npm ci --prefix tests/oidc --no-audit --no-fund"
READY = "READY "


def _installed() -> bool:
    """node_modules holds the oidc-provider version that package-lock.json pins."""
    lock = json.loads((OIDC_DIR / "package-lock.json").read_text())
    installed = OIDC_DIR / "node_modules" / "oidc-provider" / "package.json"
    return installed.is_file() and (
        json.loads(installed.read_text())["version"] == lock["packages"]["node_modules/oidc-provider"]["version"]
    )


def ensure_installed() -> None:
    """Run `npm ci` in tests/oidc unless its node_modules is already there and current."""
    if _installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is not on PATH; the test OIDC provider needs Node.js 20+ and `{NPM_CI}`")
    args = [npm, *NPM_CI.split()[1:]]
    result = subprocess.run(args, cwd=OIDC_DIR.parent.parent, capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or not _installed():
        raise RuntimeError(f"`{NPM_CI}` failed (exit {result.returncode}):\n{result.stderr or result.stdout}")


class OidcProvider:
    """The provider as a child process on 127.0.0.1; `issuer` is its URL once entered."""

    def __init__(self, clients: list[dict], *, tamper: dict | None = None, port: int = 0,
                 startup_timeout: float = 20.0):
        self.clients, self.tamper, self.port, self.startup_timeout = clients, tamper, port, startup_timeout
        self.issuer: str | None = None
        self._process: subprocess.Popen | None = None
        self._readers: list[threading.Thread] = []
        self._stderr: list[str | None] = []

    def __enter__(self) -> "OidcProvider":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stderr(self) -> str:
        """What the provider has written to stderr so far."""
        return "".join(line for line in self._stderr if line is not None)

    def start(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on PATH: the test OIDC provider (tests/oidc/provider.mjs) needs Node.js")
        ensure_installed()
        env = {**os.environ, "PORT": str(self.port), "OIDC_CLIENTS": json.dumps(self.clients)}
        env.pop("ISSUER", None)
        env.pop("OIDC_TAMPER", None)
        if self.tamper is not None:
            env["OIDC_TAMPER"] = json.dumps(self.tamper)
        # The port is 0 by default: the OS picks a free one and the READY line names it, so nothing races for it.
        self._process = subprocess.Popen([node, str(OIDC_DIR / "provider.mjs")], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        lines: queue.Queue[str | None] = queue.Queue()
        self._stderr = []
        # Both pipes are drained for the provider's whole life, so that neither can fill up and stall it.
        self._readers = [threading.Thread(target=_pump, args=(self._process.stdout, lines.put), daemon=True),
                         threading.Thread(target=_pump, args=(self._process.stderr, self._stderr.append), daemon=True)]
        for reader in self._readers:
            reader.start()
        deadline = time.monotonic() + self.startup_timeout
        try:
            while True:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                if line is None:
                    code = self._process.wait()
                    self._readers[1].join(timeout=5)
                    raise RuntimeError(f"the OIDC provider exited with {code} before it was ready:\n{self.stderr()}")
                if line.startswith(READY):
                    self.issuer = line[len(READY):].strip()
                    return
        except queue.Empty:
            raise RuntimeError(f"the OIDC provider printed no READY line within {self.startup_timeout:g} s:\n"
                               f"{self.stderr()}") from None

    def stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            for reader in self._readers:
                reader.join(timeout=5)
            self._process.stdout.close()
            self._process.stderr.close()
            self._process, self._readers = None, []


def _pump(stream, sink) -> None:
    """Every line of `stream` to `sink`, then None at end of file."""
    for line in stream:
        sink(line)
    sink(None)


class _Form(HTMLParser):
    """The first form's action and method."""

    def __init__(self):
        super().__init__()
        self.action = self.method = None

    def handle_starttag(self, tag, attrs):
        if tag == "form" and self.action is None:
            attributes = dict(attrs)
            self.action, self.method = attributes.get("action") or "", (attributes.get("method") or "get").lower()


def sign_in_at_provider(session: requests.Session, authorize_url: str, login: str, redirect_prefix: str,
                        *, max_steps: int = 10) -> str:
    """Follow `authorize_url` through the provider's login page as `login`; return the redirect to the client.

    The redirect whose Location starts with `redirect_prefix` (the client's redirect_uri) is returned, not
    followed: it carries `code`, `state` and `iss` on success, or `error` and `error_description`.
    """
    response = session.get(authorize_url, allow_redirects=False)
    submitted = False
    for _ in range(max_steps):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(redirect_prefix):
                return location
            response = session.get(location, allow_redirects=False)
        elif response.status_code == 200 and not submitted:
            form = _Form()
            form.feed(response.text)
            if form.method != "post":
                raise AssertionError(f"no login form at {response.url}:\n{response.text[:2000]}")
            response = session.post(urljoin(response.url, form.action), data={"login": login}, allow_redirects=False)
            submitted = True
        else:
            raise AssertionError(f"the provider answered {response.status_code} at {response.url}:\n"
                                 f"{response.text[:2000]}")
    raise AssertionError(f"no redirect to {redirect_prefix} within {max_steps} steps")
