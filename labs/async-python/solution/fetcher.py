"""A polite concurrent HTTP fetcher (reference solution).

fetch_all downloads many URLs with asyncio and aiohttp:

* at most `concurrency` requests in flight at once (an asyncio.Semaphore);
* each attempt limited to `timeout` seconds (aiohttp.ClientTimeout);
* 5xx answers, timeouts and connection errors retried up to `retries` times, waiting
  backoff * 2 ** (n - 1) seconds before retry n (the slot is released while waiting);
* 4xx answers never retried;
* one ClientSession per call, closed before fetch_all returns.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp


@dataclass
class Result:
    """The outcome of fetching one URL.

    url:      the URL, as given.
    status:   HTTP status of the last response received, or None if the last attempt
              got no response (timeout, connection error).
    body:     text of that last response, or None if there was none.
    error:    None when a response was received (whatever its status); "timeout" when
              the last attempt timed out; a short description for other failures.
    attempts: how many requests were made for this URL.
    """

    url: str
    status: int | None = None
    body: str | None = None
    error: str | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


def is_retryable_status(status: int) -> bool:
    """Server errors are transient; client errors (4xx) are not."""
    return 500 <= status <= 599


def backoff_delay(backoff: float, retry: int) -> float:
    """Seconds to wait before retry number `retry` (1 for the first retry)."""
    return backoff * 2 ** (retry - 1)


async def fetch_one(
    session: aiohttp.ClientSession,
    slots: asyncio.Semaphore,
    url: str,
    *,
    timeout: float,
    retries: int,
    backoff: float,
) -> Result:
    result = Result(url)
    per_attempt = aiohttp.ClientTimeout(total=timeout)
    for attempt in range(retries + 1):
        if attempt:
            await asyncio.sleep(backoff_delay(backoff, attempt))  # not holding a slot
        result.attempts += 1
        try:
            async with slots:
                async with session.get(url, timeout=per_attempt) as response:
                    body = await response.text(errors="replace")
        except TimeoutError:
            result.status, result.body, result.error = None, None, "timeout"
            continue
        except aiohttp.ClientError as exc:
            result.status, result.body, result.error = None, None, f"{type(exc).__name__}: {exc}"
            continue
        result.status, result.body, result.error = response.status, body, None
        if not is_retryable_status(response.status):
            break
    return result


async def fetch_all(
    urls: list[str],
    *,
    concurrency: int,
    timeout: float,
    retries: int,
    backoff: float,
) -> list[Result]:
    """Fetch every URL; return one Result per URL, in the order of `urls`."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if retries < 0:
        raise ValueError("retries cannot be negative")
    slots = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as session:
        return list(
            await asyncio.gather(
                *(fetch_one(session, slots, url, timeout=timeout, retries=retries, backoff=backoff) for url in urls)
            )
        )
