#!/usr/bin/env python3
"""A bounded schemathesis pass over the OpenAPI document, as each role.

Starts the server binary on embedded defaults in a fresh data folder, makes a
clinic owner, a lab owner (each registered and verified through the API, the
link read from the .eml file the server wrote) and a support agent (created
by `dentex admin create-staff`, with two-step sign-in turned on through the
API), then runs `schemathesis run` over `/api/v1/openapi.json` as anonymous,
clinic, lab and support. Every check schemathesis has must pass. Exit status
is non-zero on any failure.

Payments run against the Stripe stand-in (`--standin`, the
`dentex-stripe-standin` binary; not Stripe), so that the payment routes and
the webhook answer as they do with keys; without `--standin` the server is in
manual mode.

    .ci/schemathesis.py --binary target/debug/dentex --standin target/debug/dentex-stripe-standin --max-examples 5
"""

import argparse
import base64
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import sys
import time

from dentex_ci import Server, call, free_port, token_in_mail

PASSWORD = "correct horse battery staple 42"

CONFIG = """\
# Written by .ci/schemathesis.py. schemathesis 4.32.5 fails in its own
# sign-up step unless told not to sign up: the script signs in itself.
[auth]
auto-signup = false

# The two rules a schema cannot say, each widening one check on the routes
# it concerns (and nothing else):
#
# A token comes by e-mail: any token a generator makes is unknown, and
# answers 400 `invalid_token`.
[[operations]]
include-path-regex = "^/api/v1/(auth/verify-email|auth/password-reset/confirm|invitations/accept)$"
checks.positive_data_acceptance.expected-statuses = ["2XX", 400, 401, 403, 404, 409, 422, 429]

# A new password must not be a commonly used one, one character or block
# repeated, or built from the address or name: 422 with the field.
[[operations]]
include-path-regex = "^/api/v1/auth/(register|password)$"
checks.positive_data_acceptance.expected-statuses = ["2XX", 401, 403, 404, 409, 422, 429]

# A one-time code comes from an authenticator: a generated one is wrong
# (400 `invalid_mfa_code`; 401 at sign-in).
[[operations]]
include-path-regex = "^/api/v1/auth/(mfa/totp|mfa/totp/confirm|login)$"
checks.positive_data_acceptance.expected-statuses = ["2XX", 400, 401, 403, 404, 409, 429]

# Rules relative to today or to what is stored: a due date or a quote's
# validity after today (422), a file within the organization's quota (413),
# bytes that are a scan, photo or document (415). One name regex ("METHOD
# path"): a path regex and a method regex side by side each select on
# their own, which would widen every write.
[[operations]]
include-name-regex = "^(POST|PATCH|PUT) /api/v1/(cases|cases/[^/]+|cases/[^/]+/quotes|quotes/[^/]+|cases/[^/]+/uploads|cases/[^/]+/files)$"
checks.positive_data_acceptance.expected-statuses = ["2XX", 401, 403, 404, 409, 413, 415, 422, 429]

# A reason is trimmed: one of spaces only, or too short once trimmed, is
# refused (422) though its length fits the schema.
[[operations]]
include-name-regex = "^POST /api/v1/(cases/[^/]+/cancel|support/credentials/[^/]+/decision|support/orders/[^/]+/(refunds|payment-status))$"
checks.positive_data_acceptance.expected-statuses = ["2XX", 401, 403, 404, 409, 422, 429]

# Whose data a privacy request is about: a person (no patient fields) or a
# clinic's patient (`patient_ref` with `clinic_org_id`; for support either
# `user_id` or both), one shape or the other, which a flat schema cannot
# say: 422 naming the missing field.
[[operations]]
include-name-regex = "^POST /api/v1/(privacy/requests|support/privacy/requests)$"
checks.positive_data_acceptance.expected-statuses = ["2XX", 401, 403, 404, 409, 422, 429]

# A webhook is signed by Stripe with a secret a generator does not know:
# 400 `webhook_signature_invalid`.
[[operations]]
include-path-regex = "^/api/v1/webhooks/stripe$"
checks.positive_data_acceptance.expected-statuses = ["2XX", 400]
"""

STANDIN_KEY = "sk_test_schemathesis"
STANDIN_WEBHOOK_SECRET = "whsec_schemathesis"


def standin(binary):
    """The Stripe stand-in on a free port: (process, its API base URL)."""
    addr = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [binary, "--addr", addr, "--secret-key", STANDIN_KEY],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"the Stripe stand-in exited ({proc.returncode})")
        try:
            host, port = addr.split(":")
            with socket.create_connection((host, int(port)), timeout=1):
                return proc, f"http://{addr}/"
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("the Stripe stand-in did not come up")



def totp(secret: str, at: float | None = None) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((at or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def member(base, maildir, address, kind):
    body = {
        "email": address,
        "password": PASSWORD,
        "display_name": "Schemathesis",
        "organization": {"name": f"{kind} under test", "kind": kind, "country": "DE", "region": "eu"},
    }
    status, v = call(base, "POST", "/api/v1/auth/register", body)
    assert status == 202, (status, v)
    token = token_in_mail(maildir, address)
    status, v = call(base, "POST", "/api/v1/auth/verify-email", {"token": token})
    assert status == 200, (status, v)
    status, v = call(base, "POST", "/api/v1/auth/login", {"email": address, "password": PASSWORD})
    assert status == 200, (status, v)
    return v["token"]


def support(base, binary, data, address):
    subprocess.run(
        [binary, "admin", "create-staff", "--data-dir", data, "--email", address, "--role", "support", "--password-stdin"],
        input=PASSWORD.encode(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    status, v = call(base, "POST", "/api/v1/auth/login", {"email": address, "password": PASSWORD})
    assert status == 200, (status, v)
    first = v["token"]
    status, v = call(base, "POST", "/api/v1/auth/mfa/totp", None, first)
    assert status == 200, (status, v)
    secret = v["secret"]
    status, v = call(base, "POST", "/api/v1/auth/mfa/totp/confirm", {"code": totp(secret)}, first)
    assert status == 200, (status, v)
    # A new step, so the sign-in's code is not the confirmation's.
    time.sleep(31 - time.time() % 30)
    status, v = call(base, "POST", "/api/v1/auth/login", {"email": address, "password": PASSWORD, "totp_code": totp(secret)})
    assert status == 200, (status, v)
    return v["token"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--standin", help="the dentex-stripe-standin binary; payments in manual mode without it")
    ap.add_argument("--max-examples", type=int, default=5)
    ap.add_argument("--roles", default="anonymous,clinic,lab,support")
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()
    env, stripe = {}, None
    if args.standin:
        stripe, api_base = standin(args.standin)
        env = {
            "DENTEX_PAYMENTS__STRIPE_API_BASE": api_base,
            "DENTEX_PAYMENTS__STRIPE_SECRET_KEY": STANDIN_KEY,
            "DENTEX_PAYMENTS__WEBHOOK_SECRET": STANDIN_WEBHOOK_SECRET,
        }
    try:
        return run(args, env)
    finally:
        if stripe:
            stripe.terminate()
            try:
                stripe.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stripe.kill()


def run(args, env) -> int:
    with Server(args.binary, "dentex-schemathesis-", env) as server:
        base, data, maildir = server.base, server.data, server.maildir
        tokens = {"anonymous": None}
        roles = args.roles.split(",")
        if "clinic" in roles:
            tokens["clinic"] = member(base, maildir, "clinic@schemathesis.test", "clinic")
        if "lab" in roles:
            tokens["lab"] = member(base, maildir, "lab@schemathesis.test", "dental_lab")
        if "support" in roles:
            tokens["support"] = support(base, args.binary, data, "support@schemathesis.test")
        config = os.path.join(data, "schemathesis.toml")
        with open(config, "w") as f:
            f.write(CONFIG)
        failed = []
        for role in roles:
            cmd = [
                "schemathesis", "--config-file", config, "run", f"{base}/api/v1/openapi.json",
                "--url", base, "--checks", "all", "--max-examples", str(args.max_examples),
                "--seed", str(args.seed), "--workers", "2", "--no-color",
                "--suppress-health-check", "all",
            ]
            if tokens.get(role):
                # Signing out would end the session the rest of the run
                # uses; the anonymous run covers the route.
                cmd += ["-H", f"Authorization: Bearer {tokens[role]}", "--exclude-path", "/api/v1/auth/logout"]
                # A signed-in event stream never ends (keep-alives every
                # 15 s): schemathesis would read it for ever. The anonymous
                # run covers its refusals (no session, a bad ticket);
                # tests/tests/chat.rs reads it with a real SSE client.
                cmd += ["--exclude-path", "/api/v1/events"]
            print(f"== schemathesis as {role}", flush=True)
            started = time.time()
            # Run in the data folder: schemathesis keeps a cache where it runs.
            r = subprocess.run(cmd, cwd=data)
            print(f"== {role}: exit {r.returncode} in {time.time() - started:.0f} s", flush=True)
            if r.returncode != 0:
                failed.append(role)
        if failed:
            print(f"schemathesis failed as: {', '.join(failed)} (server log: {server.log})")
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
