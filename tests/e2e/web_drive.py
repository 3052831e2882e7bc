#!/usr/bin/env python3
"""Drive Chromium through chromedriver's WebDriver protocol (plain HTTP, no Selenium)
for the served page's test (113): open URL, wait until the page says it is drawn, click
the element CSS selects (a bar, a row), wait for the flow table to change, and write the
page's DOM before and after the click and a screenshot.

usage: web_drive.py CHROMEDRIVER_PORT URL CSS OUT_PREFIX
writes OUT_PREFIX.before.dom, OUT_PREFIX.after.dom, OUT_PREFIX.png; exit 1 on a failure.
"""
import base64
import json
import sys
import time
import urllib.request

port, url, css, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
base = "http://127.0.0.1:%s" % port


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read().decode())["value"]


caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
    "binary": "/usr/bin/chromium",
    "args": ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,2400"]}}}}
sid = call("POST", "/session", caps)["sessionId"]
s = "/session/" + sid


def script(js):
    return call("POST", s + "/execute/sync", {"script": js, "args": []})


def wait(js, what):
    for _ in range(300):
        if script(js):
            return
        time.sleep(0.1)
    sys.exit("web_drive: timed out waiting for " + what)


try:
    call("POST", s + "/url", {"url": url})
    wait("return document.body.getAttribute('data-drawn') !== null", "the page")
    before = script("return document.documentElement.outerHTML")
    open(out + ".before.dom", "w").write(before)
    el = call("POST", s + "/element", {"using": "css selector", "value": css})
    eid = list(el.values())[0]
    old = script("return document.getElementById('drill').textContent")
    call("POST", s + "/element/%s/click" % eid, {})
    wait("return document.getElementById('drill').textContent !== %s || "
         "!document.getElementById('error').hidden" % json.dumps(old), "the drill-down")
    time.sleep(0.2)
    open(out + ".after.dom", "w").write(script("return document.documentElement.outerHTML"))
    call("POST", s + "/window/rect", {"width": 1400, "height": 2400})
    open(out + ".png", "wb").write(base64.b64decode(call("GET", s + "/screenshot")))
finally:
    call("DELETE", s)
