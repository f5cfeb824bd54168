"""The site under 50 concurrent users: gunicorn + PostgreSQL, on loopback, bounded in time.

Set-up: every lab in labs/ (and the trivial test lab) imported; 50 learners, each with a
failed and a passed submission of the trivial lab, graded by real workers (so each has a
signed credential), and a public portfolio. Then the workers stop and gunicorn serves.

Each simulated user (asyncio + aiohttp, its own session and client address) logs in, then
loops over the four pages: the lab list (/), a lab page (/labs/<slug>/), one of its own
submission pages (/submissions/<id>/) and a portfolio (/u/<handle>/, another learner's).
Two phases, each repeated:

  paced      50 users, each waiting 0.5-1.5 s between pages (locust's between(0.5, 1.5))
  saturated  50 users, no wait: the most requests per second the site answers

against two gunicorns side by side, the phases interleaved: one opening a database
connection per request (DB_CONN_MAX_AGE=0, the default) and one keeping it (=60).
p50/p95 per page and phase and requests per second; target p95 <= 50 ms (paced phase).
Query counts per page are asserted in tests/unit/test_site_queries.py.

    .venv/bin/python bench/web.py [--seconds 15] [--rounds 1] [--users 50] [--web-workers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import time
from collections import defaultdict

from _stack import LEARNER_PASSWORD, REPO, Stack, load, p50, pct, table, wait_done

PAGES = ("lab list", "lab page", "submission page", "portfolio")


def seed(stack: Stack, users: int) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """Labs, learners with graded submissions and public portfolios. Returns the lab slugs,
    each learner's submission ids, and the portfolio handles."""
    from django.contrib.auth import get_user_model

    from catalog.models import Lab
    from portfolios.models import Portfolio
    from submissions import services
    from submissions.models import Submission

    learners = stack.add_learners(users)
    lab = Lab.objects.select_related("current_version").get(slug="tiny-answer")
    attempts = []
    for learner in learners:
        user = get_user_model().objects.get(pk=learner.pk)
        for text in ("print(0)\n", "print(42)\n"):
            sub = services.submit(learner=user, lab=lab, intake=services.Intake(
                source=Submission.Source.API_FILES, files={"main.py": text}))
            attempts.append(sub.latest_attempt.pk)
    proc = stack.start_worker_processes(2)
    wait_done(attempts, timeout=600)
    stack.stop(proc)
    handles = []
    for learner in learners:
        handle = learner.username.replace("_", "-").lower()
        Portfolio.objects.update_or_create(user_id=learner.pk, defaults={"handle": handle, "public": True})
        handles.append(handle)
    subs = {lr.username: [str(s) for s in Submission.objects.filter(learner_id=lr.pk).values_list("id", flat=True)]
            for lr in learners}
    slugs = list(Lab.objects.exclude(current_version=None).values_list("slug", flat=True))
    return slugs, subs, handles


async def login(session: object, base: str, username: str) -> None:
    async with session.get(base + "/accounts/login/") as resp:  # type: ignore[attr-defined]
        html = await resp.text()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token, "no CSRF token on the login page"
    form = {"username": username, "password": LEARNER_PASSWORD, "csrfmiddlewaretoken": token.group(1)}
    async with session.post(base + "/accounts/login/", data=form,  # type: ignore[attr-defined]
                            headers={"Referer": base + "/accounts/login/"}, allow_redirects=False) as resp:
        assert resp.status == 302, f"login of {username} answered {resp.status}"


async def phase(stack: Stack, base: str, data: tuple[list[str], dict[str, list[str]], list[str]], *, users: int,
                seconds: float, think: tuple[float, float]) -> tuple[dict[str, list[float]], int, float]:
    import aiohttp

    slugs, subs, handles = data
    learners = stack.learners[:users]
    times: dict[str, list[float]] = defaultdict(list)
    failures = 0
    connector = aiohttp.TCPConnector(limit=0)
    sessions = []
    for learner in learners:
        session = aiohttp.ClientSession(base_url=None, connector=connector, connector_owner=False,
                                        cookie_jar=aiohttp.CookieJar(unsafe=True),
                                        headers={"X-Forwarded-For": learner.ip})
        await login(session, base, learner.username)
        sessions.append(session)
    start = time.monotonic()
    stop_at = start + seconds

    async def user(i: int) -> None:
        nonlocal failures
        rnd = random.Random(i)
        learner, session = learners[i], sessions[i]
        k = rnd.randrange(len(PAGES))
        await asyncio.sleep(rnd.uniform(0, think[1] or 0.05))  # do not all start at once
        while time.monotonic() < stop_at:
            page = PAGES[k % len(PAGES)]
            k += 1
            path = {
                "lab list": "/",
                "lab page": f"/labs/{rnd.choice(slugs)}/",
                "submission page": f"/submissions/{rnd.choice(subs[learner.username])}/",
                "portfolio": f"/u/{rnd.choice(handles)}/",
            }[page]
            t0 = time.perf_counter()
            async with session.get(base + path, allow_redirects=False) as resp:
                await resp.read()
                ok = resp.status == 200
            times[page].append(time.perf_counter() - t0)
            if not ok:
                failures += 1
            if think[1]:
                await asyncio.sleep(rnd.uniform(*think))

    await asyncio.gather(*(user(i) for i in range(len(learners))))
    elapsed = time.monotonic() - start
    for session in sessions:
        await session.close()
    await connector.close()
    return times, failures, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=1, help="paced + saturated, this many times (interleaved)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn sync workers")
    args = parser.parse_args()
    labs = ["tiny-answer", *sorted(p.parent.name for p in (REPO / "labs").glob("*/lab.toml"))]
    configs = {"conn per request": "0", "kept conn": "60"}
    with Stack(labs=labs, backend="bubblewrap") as stack:
        data = seed(stack, args.users)
        bases = {name: stack.start_web(workers=args.web_workers, env={"DB_CONN_MAX_AGE": age})
                 for name, age in configs.items()}
        results: dict[str, tuple[dict[str, list[float]], int, float]] = {}
        for r in range(args.rounds):
            order = list(configs) if r % 2 == 0 else list(reversed(configs))
            for kind, think in (("paced", (0.5, 1.5)), ("saturated", (0.0, 0.0))):
                for config in order:
                    name = f"{kind}, {config}"
                    times, failures, elapsed = asyncio.run(
                        phase(stack, bases[config], data, users=args.users, seconds=args.seconds, think=think))
                    old = results.get(name, ({}, 0, 0.0))
                    merged = {p: old[0].get(p, []) + times.get(p, []) for p in PAGES}
                    results[name] = (merged, old[1] + failures, old[2] + elapsed)
    print(f"{args.users} users, gunicorn {args.web_workers} sync workers each + PostgreSQL, {args.rounds} x "
          f"{args.seconds:.0f} s per phase and gunicorn; {load()}")
    rows = []
    for name, (times, failures, elapsed) in results.items():
        every = [t for p in PAGES for t in times[p]]
        for p in PAGES:
            rows.append((f"{name}: {p}", 1000 * p50(times[p]), 1000 * pct(times[p], 0.95), len(times[p]), ""))
        rows.append((f"{name}: all pages", 1000 * p50(every), 1000 * pct(every, 0.95), len(every),
                     f"{len(every) / elapsed:.0f}/s" + (f", {failures} not 200" if failures else "")))
    print(table(["phase, gunicorn: page", "p50 ms", "p95 ms", "requests", "rate"], rows, first=46))
    for config in configs:
        paced = results[f"paced, {config}"][0]
        worst = max(pct(paced[p], 0.95) for p in PAGES)
        every = [t for p in PAGES for t in paced[p]]
        print(f"target p95 <= 50 ms (paced, every page), {config}: worst page p95 {1000 * worst:.0f} ms, all pages "
              f"{1000 * pct(every, 0.95):.0f} ms: {'holds' if worst <= 0.05 else 'MISSES'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
