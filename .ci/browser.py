#!/usr/bin/env python3
"""The e-mailed links, followed in a real headless browser.

Starts the server binary on embedded defaults (its public URL the port it
listens on), then for each of the three mails with a link — address
confirmation, password reset, invitation — reads the link from the .eml file
the server wrote, opens it in Debian's Chromium through its ChromeDriver
(WebDriver over HTTP), finishes the step as a person would (types the new
password, or a name and password, and presses the button), reads the answer
the page shows, and checks through the API that the step took effect. Also
checks that the token is gone from the address bar once the page has read it.

    .ci/browser.py --binary target/debug/dentex
"""

import argparse
import subprocess
import sys
import time

from dentex_ci import Server, call, free_port, link_in_mail

PASSWORD = "correct horse battery staple 42"
NEW_PASSWORD = "a different long passphrase 7"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class Browser:
    """Just enough WebDriver: open, find, type, click, read."""

    def __init__(self, driver_port):
        self.base = f"http://127.0.0.1:{driver_port}"
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        }}}}
        status, v = call(self.base, "POST", "/session", caps)
        assert status == 200, (status, v)
        self.session = f"/session/{v['value']['sessionId']}"

    def cmd(self, method, path, body=None):
        status, v = call(self.base, method, self.session + path, body)
        assert status == 200, (path, status, v)
        return v["value"]

    def open(self, url):
        self.cmd("POST", "/url", {"url": url})

    def find(self, css):
        for _ in range(100):
            status, v = call(self.base, "POST", self.session + "/element", {"using": "css selector", "value": css})
            if status == 200 and ELEMENT in (v.get("value") or {}):
                return v["value"][ELEMENT]
            time.sleep(0.05)
        raise AssertionError(f"no {css} on {self.js('return location.pathname')}: {v}")

    def type(self, css, text):
        self.cmd("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css):
        self.cmd("POST", f"/element/{self.find(css)}/click", {})

    def js(self, script):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": []})

    def answer(self, expect):
        for _ in range(200):
            text = self.js("var a=document.getElementById('answer');return a.hidden?'':a.textContent;")
            if text:
                assert expect in text, f"the page says {text!r}, not {expect!r}"
                return text
            time.sleep(0.05)
        raise AssertionError(f"the page showed no answer (expected {expect!r})")

    def close(self):
        call(self.base, "DELETE", self.session)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = ap.parse_args()
    driver_port = free_port()
    driver = subprocess.Popen([args.chromedriver, f"--port={driver_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    browser = None
    with Server(args.binary, "dentex-browser-") as server:
        try:
            base, maildir = server.base, server.maildir
            for _ in range(300):
                try:
                    if call(f"http://127.0.0.1:{driver_port}", "GET", "/status")[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            browser = Browser(driver_port)
            owner = "owner@browser.test"

            # 1. Confirm the address: the page sends the token as it opens.
            body = {"email": owner, "password": PASSWORD, "display_name": "Dr Browser",
                    "organization": {"name": "Browser Clinic", "kind": "clinic", "country": "DE", "region": "eu"}}
            assert call(base, "POST", "/api/v1/auth/register", body)[0] == 202
            verify_link = link_in_mail(maildir, owner, "Confirm your e-mail")
            browser.open(verify_link)
            print("verify-email:", browser.answer("Your e-mail address is confirmed"))
            assert "token" not in browser.js("return location.href"), "the token stayed in the address bar"
            # The same link again: the page shows the server's refusal.
            browser.open("about:blank")
            browser.open(verify_link)
            print("verify-email, used:", browser.answer("already used"))
            assert browser.js("return document.getElementById('answer').className") == "bad"
            status, v = call(base, "POST", "/api/v1/auth/login", {"email": owner, "password": PASSWORD})
            assert status == 200, (status, v)
            token = v["token"]

            # 2. Reset the password: type the new one, press the button.
            assert call(base, "POST", "/api/v1/auth/password-reset", {"email": owner})[0] == 202
            browser.open(link_in_mail(maildir, owner, "Reset your"))
            browser.type("#new_password", NEW_PASSWORD)
            browser.click("button")
            print("reset-password:", browser.answer("Your password is changed"))
            assert call(base, "POST", "/api/v1/auth/login", {"email": owner, "password": PASSWORD})[0] == 401
            status, v = call(base, "POST", "/api/v1/auth/login", {"email": owner, "password": NEW_PASSWORD})
            assert status == 200, (status, v)
            token = v["token"]

            # 3. Accept an invitation as someone new: a name and a password.
            status, me = call(base, "GET", "/api/v1/me", None, token)
            org = me["organizations"][0]["id"]
            invited = "new@browser.test"
            status, v = call(base, "POST", f"/api/v1/organizations/{org}/invitations", {"email": invited, "role": "member"}, token)
            assert status == 201, (status, v)
            browser.open(link_in_mail(maildir, invited, "invit"))
            browser.type("#display_name", "New Member")
            browser.type("#password", PASSWORD)
            browser.click("button")
            print("accept-invitation:", browser.answer("You are a member now"))
            status, v = call(base, "POST", "/api/v1/auth/login", {"email": invited, "password": PASSWORD})
            assert status == 200, (status, v)
            status, me = call(base, "GET", "/api/v1/me", None, v["token"])
            assert [o["id"] for o in me["organizations"]] == [org], me
            print("browser: the three links work")
            return 0
        finally:
            if browser:
                browser.close()
            driver.terminate()


if __name__ == "__main__":
    sys.exit(main())
