"""The field app on a phone-sized headless Chromium against a running server (issue 16), with `make run` serving:

    make run                                     # in another shell: the demo on 127.0.0.1:8000
    .venv/bin/python bench/field_app_bench.py    # --url http://HOST:PORT, --members 12, --cpu-slowdown 4

It prints, each the median of --runs fresh phones (a new browser profile: nothing cached):
  first sync    seconds from pressing 登录 to the households list after the first sync, the API requests and the
                bytes their bodies held (the forms, the change feed, the yearly lines);
  open form     seconds from 开始走访 on a household to its form on screen (household_visit, members pre-filled);
  one answer    milliseconds from typing into a member's name to the draft saved with it, with --members rows;
  photo         a 4000 x 3000 camera JPEG shrunk before it is stored: bytes in, bytes stored, seconds.
--cpu-slowdown throttles the page's CPU as DevTools does (4: a cheap Android phone's worth), for the two middle
figures. Demo accounts: server/demo/accounts.py.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.demo.accounts import ACCOUNTS  # noqa: E402 - after the checkout is on the path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
ENUMERATOR = next(a for a in ACCOUNTS if a.username == "demo_enumerator")
DRAFT = "async (id) => (await (await import('/app/static/store.js')).get('drafts', id))"


def until(page, expression: str, arg: Any = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for: {expression}")
        time.sleep(0.01)


def camera_jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((4000, 3000), 48).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def one_phone(browser, url: str, members: int, slowdown: float, photo: bytes) -> dict[str, float]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 412, "height": 860})
    page = context.new_page()
    api: list[int] = []
    page.on("requestfinished", lambda r: api.append(r.sizes()["responseBodySize"]) if "/api/v1/" in r.url else None)
    page.goto(url + "/app/")
    page.fill("input[name=username]", ENUMERATOR.username)
    page.fill("input[name=password]", ENUMERATOR.password)
    started = time.perf_counter()
    page.click("form.login button[type=submit]")
    until(page, "document.querySelector('#sync-status')?.dataset.state === 'idle' && "
                "document.querySelectorAll('ul.households a[data-household]').length > 0")
    figures = {"first sync s": time.perf_counter() - started, "requests": len(api), "KB": sum(api) / 1024}
    if slowdown > 1:
        page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
    page.click("ul.households a[data-household]")
    started = time.perf_counter()
    page.click("button[data-form=household_visit]")
    until(page, "document.querySelector(\"div.field[data-path='members']\") !== null")
    figures["open form s"] = time.perf_counter() - started
    draft = page.evaluate("location.hash.slice('#/visit/'.length)")
    while page.locator("div.repeat-row[data-path^='members[']").count() < members:
        page.click("button[data-add='members']")
    typed = []
    for attempt in range(5):
        text = f"测试{attempt}"
        started = time.perf_counter()
        page.fill("[name='members[0].name']", text)
        until(page, f"({DRAFT})({draft!r}).then((d) => d.data.members?.[0]?.name === '{text}')")
        typed.append((time.perf_counter() - started) * 1000)
    figures["one answer ms"] = statistics.median(typed)
    started = time.perf_counter()
    page.set_input_files("input[type=file][name='photo_house']",
                         files=[{"name": "camera.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    until(page, f"({DRAFT})({draft!r}).then((d) => Boolean(d.data.photo_house))")
    figures["photo s"] = time.perf_counter() - started
    stored = page.evaluate("async (key) => (await (await import('/app/static/store.js')).get('files', key)).size",
                           f"{draft}/photo_house.jpg")
    figures["photo KB in"], figures["photo KB stored"] = len(photo) / 1024, stored / 1024
    context.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--members", type=int, default=12)
    parser.add_argument("--cpu-slowdown", type=float, default=1)
    args = parser.parse_args()
    photo = camera_jpeg()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        runs = [one_phone(browser, args.url, args.members, args.cpu_slowdown, photo) for _ in range(args.runs)]
        browser.close()
    print(f"field app at {args.url}: {args.runs} fresh phones, {args.members} members, CPU slowdown {args.cpu_slowdown}x")
    for name in runs[0]:
        print(f"  {name:16} {statistics.median(run[name] for run in runs):10.2f}")


if __name__ == "__main__":
    main()
