#!/usr/bin/env python3
"""The OpenAPI document as the server serves it, through a strict validator.

Starts the server binary on embedded defaults in a fresh data folder, fetches
`/api/v1/openapi.json` and validates it against the OpenAPI 3.1 schema
(openapi-spec-validator); every error is printed and fails the run.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from openapi_spec_validator import OpenAPIV31SpecValidator


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="dentex-openapi-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, DENTEX_METRICS__ADDR="127.0.0.1:0", RUST_LOG="warn")
    server = subprocess.Popen(
        [args.binary, "serve", "--data-dir", data, "--addr", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        doc = None
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=10) as r:
                    doc = json.load(r)
                break
            except OSError:
                time.sleep(0.1)
        if doc is None:
            print("the server did not answer")
            return 1
        errors = list(OpenAPIV31SpecValidator(doc).iter_errors())
        for e in errors:
            print(f"- {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
        ops = sum(1 for item in doc["paths"].values() for m in item if m in ("get", "post", "put", "patch", "delete"))
        print(f"openapi: {len(doc['paths'])} paths, {ops} operations, {len(errors)} errors")
        return 1 if errors else 0
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
