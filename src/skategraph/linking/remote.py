"""Asking a remote SPARQL endpoint (Wikidata's, DBpedia's, or any URL) politely and robustly.

A SELECT goes out by POST (long VALUES lists do not fit a URL) with a User-Agent that says who asks,
at most one request per `interval` seconds, a timeout, and retries with exponential backoff on
timeouts, connection failures, 429 and 5xx (honouring Retry-After). Answers are cached on disk by
endpoint and query, so a rerun does not ask again. When the endpoint cannot be reached, the error
says so plainly; nothing here is needed by `skategraph build`, which works offline.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from skategraph import __version__
from skategraph.errors import EndpointUnreachable

USER_AGENT = f"skategraph/{__version__} (https://w3id.org/skategraph; linked-data linker)"


Row = dict[str, dict[str, str]]


@dataclass
class Endpoint:
    url: str
    cache: Path | None = None
    timeout: float = 60.0
    retries: int = 3
    backoff: float = 1.0  # seconds before the first retry; doubled each time
    interval: float = 1.0  # at least this long between two requests
    user_agent: str = USER_AGENT
    requests: int = field(default=0, init=False)  # how many went out (not from the cache)
    _last: float = field(default=0.0, init=False)

    def select(self, query: str) -> list[Row]:
        """The SELECT's bindings (SPARQL JSON), from the cache if this endpoint was asked before."""
        key = hashlib.sha256(f"{self.url}\n{query}".encode()).hexdigest()
        cached = self.cache / f"{key}.json" if self.cache else None
        if cached is not None and cached.exists():
            rows: list[Row] = json.loads(cached.read_text("utf-8"))
            return rows
        rows = self._ask(query)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(".partial")
            partial.write_text(json.dumps(rows), "utf-8")
            partial.replace(cached)
        return rows

    def _ask(self, query: str) -> list[Row]:
        body = urllib.parse.urlencode({"query": query}).encode()
        headers = {
            "Accept": "application/sparql-results+json",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": self.user_agent,
        }
        delay, last_error = self.backoff, ""
        for attempt in range(self.retries + 1):
            wait = self._last + self.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()
            self.requests += 1
            try:
                request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    data = json.loads(response.read())
                found: list[Row] = data["results"]["bindings"]
                return found
            except urllib.error.HTTPError as error:
                with error:  # the error is also the response: close it
                    detail = error.read()[:300].decode("utf-8", "replace")
                if error.code != 429 and error.code < 500:
                    raise EndpointUnreachable(f"{self.url} refused the query: HTTP {error.code}: {detail}") from None
                last_error = f"HTTP {error.code}"
                retry_after = error.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    delay = max(delay, float(retry_after))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                last_error = str(getattr(error, "reason", error))
            except (ValueError, KeyError) as error:
                raise EndpointUnreachable(f"{self.url} did not answer with SPARQL JSON results: {error}") from None
            if attempt < self.retries:
                time.sleep(delay)
                delay *= 2
        raise EndpointUnreachable(
            f"{self.url} could not be reached after {self.retries + 1} attempts ({last_error}); "
            "links need the endpoint, 'skategraph build' does not"
        )
