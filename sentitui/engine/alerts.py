"""Alerts in continuous mode: check the pipelines' rules on a timer and soon after new
posts land, and deliver what fired or resolved (webhook, terminal bell, desktop).

State lives in the `alerts` table (store/alerts.py), so an alert fires once, stays
firing without repeating itself, resolves once, and a restart sends nothing again.
A webhook gets a POST with a Slack-compatible JSON body (`text`), retried with
backoff on 429/5xx/network errors; a delivery that fails for good is logged and kept
on the alert's row (`delivery_error`), which `sentitui alerts` shows. The webhook
URL is a secret (it comes from ${VARS}) and is never logged.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sentitui.config.alerts import AlertRule
from sentitui.engine.waiting import wait_event
from sentitui.models import AlertChanged, EngineEvent, RunFinished, RunProgress
from sentitui.store.alerts import Transition, check, record_delivery

if TYPE_CHECKING:
    import aiohttp

    from sentitui.engine.engine import Engine

CHECK_EVERY = 30.0  # seconds between checks when nothing happens
AFTER_POSTS = 2.0  # seconds after committed posts before a check (bursts share one)
RETRY_DELAYS = (1.0, 4.0, 15.0)  # waits before the webhook's 2nd, 3rd and 4th attempt
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: str) -> str:
    """Text from posts for a notification: no control characters, no Slack markup."""
    text = _CONTROL.sub(" ", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(transition: Transition) -> str:
    rule = transition.rule
    if transition.state == "firing":
        head = f"FIRING {rule.pipeline}/{rule.name}: {rule.describe()} — {transition.detail}"
    else:
        head = f"RESOLVED {rule.pipeline}/{rule.name}: {transition.detail}"
    lines = [plain(head)]
    for post in transition.posts[:3] if transition.state == "firing" else []:
        snippet = " ".join(str(post.get("text") or "").split())[:160]
        lines.append(f"• {post.get('why')}: “{plain(snippet)}” ({plain(str(post.get('source')))})")
    return "\n".join(lines)


def payload(transition: Transition) -> dict[str, Any]:
    rule = transition.rule
    return {
        "text": message(transition),
        "alert": {
            "pipeline": rule.pipeline,
            "name": rule.name,
            "kind": rule.kind,
            "state": transition.state,
            "condition": rule.describe(),
            "detail": transition.detail,
            "posts": [
                {k: p.get(k) for k in ("source", "url", "text", "polarity", "created_at", "why")}
                for p in transition.posts
            ],
        },
    }


async def post_webhook(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    delays: Sequence[float] = RETRY_DELAYS,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> str | None:
    """POST `body`; None once delivered, else why it failed (naming the host only)."""
    import aiohttp  # here: a console that never sends an alert never loads it

    host = urlsplit(url).netloc.rpartition("@")[2]
    error = ""
    for attempt in range(len(delays) + 1):
        if attempt:
            await sleep(delays[attempt - 1])
        try:
            async with session.post(
                url, json=body, timeout=aiohttp.ClientTimeout(total=15), allow_redirects=False
            ) as resp:
                if resp.status < 300:
                    return None
                error = f"HTTP {resp.status} from {host}"
                if resp.status != 429 and resp.status < 500:
                    break  # a refusal: trying again will not help
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__} talking to {host}"
    return f"{error} (after {attempt + 1} attempt(s))"


def ring_bell() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\a")
        sys.stderr.flush()


async def desktop_notify(title: str, body: str) -> str | None:
    """notify-send, where the machine has it; None when shown (or nothing to use)."""
    program = shutil.which("notify-send")
    if program is None:
        return None
    try:
        proc = await asyncio.create_subprocess_exec(
            program,
            "--app-name=SentiTUI",
            _CONTROL.sub(" ", title),
            _CONTROL.sub(" ", body),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with asyncio.timeout(10):  # not wait_for: engine/waiting.py
            code = await proc.wait()
    except (OSError, TimeoutError) as exc:
        return f"notify-send failed: {exc}"
    return None if code == 0 else f"notify-send exited {code}"


async def deliver(
    transition: Transition,
    session: aiohttp.ClientSession,
    delays: Sequence[float] = RETRY_DELAYS,
) -> str | None:
    """Send one transition through the rule's channels; the errors joined, or None."""
    rule: AlertRule = transition.rule
    errors = []
    for channel in rule.notify:
        if channel == "webhook" and rule.webhook:
            error = await post_webhook(session, rule.webhook, payload(transition), delays)
            if error:
                errors.append(f"webhook: {error}")
        elif channel == "bell":
            ring_bell()
        elif channel == "desktop":
            title = f"SentiTUI {transition.state}: {rule.pipeline}/{rule.name}"
            error = await desktop_notify(title, message(transition))
            if error:
                errors.append(error)
    return "; ".join(errors) or None


class AlertWatcher:
    """Checks the engine's pipelines' alert rules and delivers their transitions."""

    def __init__(
        self,
        engine: Engine,
        *,
        every: float = CHECK_EVERY,
        after_posts: float = AFTER_POSTS,
        delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self.engine = engine
        self.every = every
        self.after_posts = after_posts
        self.delays = delays
        self._poke = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def rules(self) -> list[AlertRule]:
        return [rule for p in self.engine.pipelines.values() for rule in p.alerts]

    async def start(self) -> None:
        self._unsubscribe = self.engine.subscribe(self._on_event)
        self._task = asyncio.create_task(self._loop(), name="alerts")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, RunProgress | RunFinished):
            self._poke.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.check_now()
            except Exception as exc:  # a bad check must not end the watching
                self.engine.log("ERROR", f"checking alerts failed: {type(exc).__name__}: {exc}")
            self._poke.clear()
            if await wait_event(self._poke, self.every):
                await asyncio.sleep(self.after_posts)  # let a burst of pages land first

    async def check_now(self, now: float | None = None) -> list[Transition]:
        """Check every rule now; deliver and announce what fired or resolved."""
        rules = self.rules()
        pipelines = list(self.engine.pipelines)
        when = time.time() if now is None else now
        transitions = await self.engine.writer.call(
            lambda store: check(store, rules, when, pipelines)
        )
        for transition in transitions:
            rule = transition.rule
            level = "WARNING" if transition.state == "firing" else "INFO"
            self.engine.log(
                level, f"alert {rule.name} {transition.state}: {transition.detail}", rule.pipeline
            )
            self.engine.emit(
                AlertChanged(
                    pipeline=rule.pipeline,
                    name=rule.name,
                    state=transition.state,
                    detail=transition.detail,
                    bell="bell" in rule.notify,
                )
            )
            if not rule.notify:
                continue
            error = await deliver(transition, self.engine.http.session, self.delays)
            if error:
                self.engine.log(
                    "ERROR", f"alert {rule.name}: delivery failed: {error}", rule.pipeline
                )
            await self.engine.writer.call(
                lambda store, r=rule, e=error: record_delivery(store, r.pipeline, r.name, e)
            )
        return transitions
