#!/usr/bin/env python3
"""The OpenAPI document as the server serves it, through a strict validator.

Starts the server binary on embedded defaults in a fresh data folder, fetches
`/api/v1/openapi.json` and validates it against the OpenAPI 3.1 schema
(openapi-spec-validator); every error is printed and fails the run.
"""

import argparse
import json
import sys
import urllib.request

from dentex_ci import Server
from openapi_spec_validator import OpenAPIV31SpecValidator


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    with Server(args.binary, "dentex-openapi-") as server:
        with urllib.request.urlopen(f"{server.base}/api/v1/openapi.json", timeout=30) as r:
            doc = json.load(r)
    errors = list(OpenAPIV31SpecValidator(doc).iter_errors())
    for e in errors:
        print(f"- {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
    ops = sum(1 for item in doc["paths"].values() for m in item if m in ("get", "post", "put", "patch", "delete"))
    print(f"openapi: {len(doc['paths'])} paths, {ops} operations, {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
