"""Public tests for fetcher.fetch_all: run them as often as you like.

    python -m pytest public_tests -q

They use a real HTTP server on 127.0.0.1 (see conftest.py) and check, from the server's
side, the same behaviours the grader checks, with different URLs and numbers. Passing
them all is a very good sign, not a guarantee: the grader has its own scenarios.
"""

from __future__ import annotations

import asyncio
import time

import fetcher

LIMIT = 20  # seconds any one fetch_all call may take here before the test fails


def fetch(urls, *, concurrency=4, timeout=2.0, retries=2, backoff=0.05):
    """Run fetch_all to completion and return its results."""

    async def go():
        return await asyncio.wait_for(
            fetcher.fetch_all(urls, concurrency=concurrency, timeout=timeout, retries=retries, backoff=backoff),
            LIMIT,
        )

    return asyncio.run(go())


# -- results ----------------------------------------------------------------------------


def test_one_result_per_url_in_order(server):
    paths = ["/ok/a", "/ok/b", "/missing/c", "/ok/d", "/error/e"]
    results = fetch([server.url(p) for p in paths], retries=0)
    assert isinstance(results, list) and len(results) == len(paths)
    for path, result in zip(paths, results, strict=True):
        assert result.url == server.url(path), "results must come back in the order of the URLs"
        assert result.body == server.body(path), f"{path}: the body must be the response's text"
    assert [r.status for r in results] == [200, 200, 404, 200, 500]
    assert [r.error for r in results] == [None] * 5, "error stays None whenever there was a response"


def test_ok_results(server):
    [result] = fetch([server.url("/ok/x")])
    assert (result.status, result.error, result.attempts) == (200, None, 1)
    assert result.ok


# -- concurrency ---------------------------------------------------------------------------


def test_never_more_requests_in_flight_than_the_limit(server):
    results = fetch([server.url(f"/slow/{i}") for i in range(12)], concurrency=3)
    assert [r.status for r in results] == [200] * 12
    assert server.peak_in_flight <= 3, f"{server.peak_in_flight} requests were in flight at once; the limit is 3"


def test_requests_really_run_concurrently(server):
    delay, count, concurrency = 0.2, 12, 4
    started = time.monotonic()
    results = fetch([server.url(f"/slow/{i}?delay={delay}") for i in range(count)], concurrency=concurrency)
    elapsed = time.monotonic() - started
    assert all(r.status == 200 for r in results)
    assert server.peak_in_flight == concurrency, (
        f"only {server.peak_in_flight} requests were ever in flight at once; expected {concurrency}"
    )
    one_by_one = count * delay
    assert elapsed < one_by_one / 2, f"took {elapsed:.2f} s; one by one takes {one_by_one:.2f} s"


# -- retries -----------------------------------------------------------------------------


def test_retries_a_5xx_until_it_succeeds(server):
    [result] = fetch([server.url("/flaky/f")], retries=2)
    assert len(server.requests("/flaky/f")) == 3, "503, 503, then 200: that takes 3 requests"
    assert (result.status, result.body, result.error) == (200, server.body("/flaky/f"), None)
    assert result.attempts == 3


def test_gives_up_after_the_retry_limit(server):
    [result] = fetch([server.url("/error/e")], retries=2)
    assert len(server.requests("/error/e")) == 3, "retries=2 allows 1 + 2 = 3 requests, no more"
    assert (result.status, result.body, result.error) == (500, server.body("/error/e"), None)


def test_retries_zero_means_a_single_attempt(server):
    [result] = fetch([server.url("/error/z")], retries=0)
    assert len(server.requests("/error/z")) == 1
    assert result.status == 500


def test_does_not_retry_4xx(server):
    results = fetch([server.url("/missing/m"), server.url("/bad/b")], retries=3)
    assert len(server.requests("/missing/m")) == 1, "a 404 will not change if you ask again"
    assert len(server.requests("/bad/b")) == 1, "a 400 will not change if you ask again"
    assert [r.status for r in results] == [404, 400]
    assert results[0].body == server.body("/missing/m")


def test_backoff_grows_between_retries(server):
    backoff = 0.1
    fetch([server.url("/error/slowdown")], retries=2, backoff=backoff)
    gaps = server.gaps("/error/slowdown")
    assert len(gaps) == 2, f"expected 3 requests, got {len(gaps) + 1}"
    assert gaps[0] >= 0.6 * backoff, f"waited only {gaps[0]:.3f} s before the first retry (backoff={backoff})"
    assert gaps[1] >= 1.4 * gaps[0], f"gaps {gaps[0]:.3f} s then {gaps[1]:.3f} s: the wait should double"


# -- timeouts ----------------------------------------------------------------------------


def test_a_hanging_request_times_out_and_is_retried(server):
    timeout = 0.3
    started = time.monotonic()
    [result] = fetch([server.url("/hang/h")], timeout=timeout, retries=1, backoff=0.05)
    elapsed = time.monotonic() - started
    assert (result.status, result.body, result.error) == (None, None, "timeout")
    attempts = server.requests("/hang/h")
    assert len(attempts) == 2, "a timeout is transient: retries=1 allows a second attempt"
    for a in attempts:
        assert a.abandoned and a.seconds < timeout + 0.4, f"a request hung for {a.seconds:.2f} s (timeout {timeout})"
    assert elapsed < 3, f"fetch_all took {elapsed:.2f} s"


def test_a_hanging_url_does_not_hold_up_the_others(server):
    started = time.monotonic()
    results = fetch([server.url("/hang/slowpoke"), server.url("/ok/quick")], timeout=0.3, retries=0)
    assert results[0].error == "timeout"
    assert results[1].status == 200
    assert time.monotonic() - started < 2


# -- the session ---------------------------------------------------------------------------


def test_connections_are_closed_when_fetch_all_returns(server):
    async def go():
        results = await fetcher.fetch_all(
            [server.url(f"/ok/{i}") for i in range(6)], concurrency=3, timeout=2, retries=0, backoff=0.05
        )
        # Freeze this event loop on purpose (no await): whatever fetch_all left to be
        # closed "later" stays open, as it would in a long-running program.
        time.sleep(0.2)
        return results, server.open_connections()

    results, still_open = asyncio.run(asyncio.wait_for(go(), LIMIT))
    assert [r.status for r in results] == [200] * 6
    assert still_open == 0, (
        f"{still_open} connection(s) still open after fetch_all returned: close the ClientSession "
        "(async with aiohttp.ClientSession() as session: ...) before returning"
    )
