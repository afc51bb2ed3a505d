"""What the CI scripts share: a Dentex server on embedded defaults in a
fresh data folder, JSON calls to it, and the links in the mail it wrote."""

import email
import glob
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None):
    """(status, JSON body or None) of one request; errors are answers too."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


class Server:
    """`dentex serve` on 127.0.0.1 and a free port, in a fresh data folder,
    its public URL the address it listens on (`env` adds to its
    environment); stopped on leaving `with`."""

    def __init__(self, binary, prefix, env=None):
        self.binary = binary
        self.data = tempfile.mkdtemp(prefix=prefix)
        self.maildir = os.path.join(self.data, "mail")
        self.base = f"http://127.0.0.1:{free_port()}"
        env = dict(os.environ, DENTEX_METRICS__ADDR="127.0.0.1:0", DENTEX_HTTP__PUBLIC_BASE_URL=self.base, RUST_LOG="warn", **(env or {}))
        self.log = os.path.join(self.data, "server.log")
        self.proc = subprocess.Popen(
            [binary, "serve", "--data-dir", self.data, "--addr", self.base.removeprefix("http://")],
            env=env, stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"),
        )
        for _ in range(300):
            try:
                if call(self.base, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the server did not come up (log: {self.log})")

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def link_in_mail(maildir, to, subject=""):
    """The newest `…#token=HEX` link mailed to `to` about `subject`."""
    for _ in range(300):
        for path in sorted(glob.glob(os.path.join(maildir, "*.eml")), key=os.path.getmtime, reverse=True):
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f)
            if to not in (msg.get("To") or "") or subject not in (msg.get("Subject") or ""):
                continue
            for part in msg.walk():
                if part.get_content_type() == "text/plain":
                    text = part.get_payload(decode=True).decode("utf-8", "replace")
                    m = re.search(r"(https?://\S+#token=[0-9a-f]{64})", text)
                    if m:
                        return m.group(1)
        time.sleep(0.1)
    raise SystemExit(f"no mail to {to} about {subject!r} with a link in {maildir}")


def token_in_mail(maildir, to, subject=""):
    return link_in_mail(maildir, to, subject).rsplit("#token=", 1)[1]
