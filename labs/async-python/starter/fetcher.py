"""A polite concurrent HTTP fetcher, with asyncio and aiohttp.

Your job: implement fetch_all (and the helpers below it) so that it downloads many URLs
at once without overwhelming the server and without giving up on the first hiccup.
Read brief.md for the full rules; the short version:

* at most `concurrency` requests in flight at any moment;
* each attempt gives up after `timeout` seconds;
* a 5xx answer, a timeout or a connection error is retried, up to `retries` more times,
  waiting backoff * 2 ** (n - 1) seconds before retry n (0.2 s, 0.4 s, 0.8 s ... for
  backoff=0.2);
* a 4xx answer is final: never retried;
* one aiohttp.ClientSession per call, closed before fetch_all returns.

This file runs as it is (every URL comes back as "not implemented"), so you can run
the public tests right away and watch them turn green one by one:

    python -m pytest public_tests -q

Only the standard library and aiohttp are available when your code is graded.
"""

from __future__ import annotations

import asyncio  # noqa: F401  (you will need it)
from dataclasses import dataclass

import aiohttp  # noqa: F401  (you will need it)


@dataclass
class Result:
    """The outcome of fetching one URL. (Complete: you should not need to change it.)

    url:      the URL, exactly as given to fetch_all.
    status:   HTTP status code of the LAST response received (200, 404, 503, ...), or
              None when the last attempt got no response at all.
    body:     the text of that last response, or None when there was none.
    error:    None whenever a response was received, whatever its status.
              "timeout" when the last attempt timed out.
              A short description (e.g. "ClientConnectorError: ...") for other failures.
    attempts: how many requests you made for this URL (1 + the retries you used).
    """

    url: str
    status: int | None = None
    body: str | None = None
    error: str | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        """True for a 2xx response."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


def is_retryable_status(status: int) -> bool:
    """Should a response with this status be retried?

    TODO: 5xx (server errors: 500, 502, 503, 504, ...) are transient, so retry them.
          4xx (client errors: 400, 404, ...) will not change if you ask again: do not.
          2xx and 3xx are answers: do not.
    """
    return False


def backoff_delay(backoff: float, retry: int) -> float:
    """Seconds to wait before retry number `retry` (1 for the first retry, 2 for the second...).

    TODO: exponential backoff: backoff, 2 * backoff, 4 * backoff, ...
          i.e. backoff * 2 ** (retry - 1).
    """
    return 0.0


async def fetch_one(
    session: aiohttp.ClientSession,
    slots: asyncio.Semaphore,
    url: str,
    *,
    timeout: float,
    retries: int,
    backoff: float,
) -> Result:
    """Fetch one URL, retrying transient failures. Never raises for network problems.

    TODO:
      1. Loop over at most retries + 1 attempts. Before every attempt but the first,
         `await asyncio.sleep(backoff_delay(backoff, n))` (never time.sleep: it would
         freeze every other request). Do not hold a slot while you sleep.
      2. For each attempt, take a slot (`async with slots:`) and, while holding it, send
         the request with a per-attempt timeout and read the body:
             async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                 body = await resp.text()
      3. A response: record status and body (error=None). Stop unless
         is_retryable_status(status).
      4. TimeoutError (aiohttp raises it when the timeout passes): record
         status=None, body=None, error="timeout", and try again.
         aiohttp.ClientError (connection refused, reset...): record a short error, try again.
      5. Count every attempt in result.attempts.
    """
    return Result(url, error="not implemented")


async def fetch_all(
    urls: list[str],
    *,
    concurrency: int,
    timeout: float,
    retries: int,
    backoff: float,
) -> list[Result]:
    """Fetch every URL concurrently; return one Result per URL, in the order of `urls`.

    concurrency: the most requests in flight at any moment (>= 1).
    timeout:     seconds one attempt may take, connecting and reading the body included.
    retries:     how many times a failed attempt may be retried (0 = one attempt only).
    backoff:     base delay in seconds for the exponential backoff between attempts.

    TODO:
      1. Create ONE asyncio.Semaphore(concurrency) shared by all requests.
      2. Open ONE session for the whole call with `async with aiohttp.ClientSession() as
         session:` so it is closed (and its connections with it) before you return.
      3. Run fetch_one for every URL concurrently (asyncio.gather keeps the order) and
         return the results as a list.
    """
    return [Result(url, error="not implemented") for url in urls]
