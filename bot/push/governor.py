"""When the next message may leave: Telegram's flood limits as sliding windows.

Telegram allows about 30 messages a second overall, 20 a minute into one group or channel,
and about one a second into one private chat. The governor keeps the exact send times of the
last window, so a steady fan-out runs right at the limit without ever crossing it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FloodLimits:
    per_second: float = 30.0
    per_group_minute: int = 20
    private_interval: float = 1.0
    group_window: float = 60.0
    """The group limit's window in seconds: a minute at Telegram, shorter in tests."""
    margin: float = 0.01
    """Extra fraction on every window, for clock jitter between us and Telegram."""


def is_group_chat(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids; users and bots positive ones."""
    return chat_id < 0


@dataclass
class SendGovernor:
    limits: FloodLimits = field(default_factory=FloodLimits)
    _global: deque[float] = field(default_factory=deque)
    _groups: dict[int, deque[float]] = field(default_factory=dict)
    _private: dict[int, float] = field(default_factory=dict)
    _hold_until: float = 0.0

    def __post_init__(self) -> None:
        per_second = self.limits.per_second
        self._global_slots = max(1, int(per_second)) if per_second >= 1 else 1
        self._global_window = (self._global_slots / per_second) * (1 + self.limits.margin)
        self._group_window = self.limits.group_window * (1 + self.limits.margin)
        self._private_gap = self.limits.private_interval * (1 + self.limits.margin)

    def chat_ready_at(self, chat_id: int) -> float:
        """The earliest moment this chat's own limit lets a message in (0 = now)."""
        if is_group_chat(chat_id):
            sent = self._groups.get(chat_id)
            if sent and len(sent) >= self.limits.per_group_minute:
                return sent[0] + self._group_window
            return 0.0
        last = self._private.get(chat_id)
        return 0.0 if last is None else last + self._private_gap

    def global_ready_at(self) -> float:
        ready = self._hold_until
        if len(self._global) >= self._global_slots:
            ready = max(ready, self._global[0] + self._global_window)
        return ready

    def ready_at(self, chat_id: int) -> float:
        return max(self.chat_ready_at(chat_id), self.global_ready_at())

    def record(self, chat_id: int, at: float) -> None:
        """Count one message whose answer came back at `at` (a monotonic time).

        Counting at the answer, not at the request, makes our windows end no earlier than
        Telegram's, whatever the network delay.
        """
        self._global.append(at)
        while len(self._global) > self._global_slots:
            self._global.popleft()
        if is_group_chat(chat_id):
            sent = self._groups.setdefault(chat_id, deque())
            sent.append(at)
            while len(sent) > self.limits.per_group_minute:
                sent.popleft()
        else:
            self._private[chat_id] = at

    def hold(self, until: float) -> None:
        """Stop everything until `until`, as Telegram asks with a `retry_after`."""
        self._hold_until = max(self._hold_until, until)

    def forget(self, now: float) -> None:
        """Drop chats whose windows have passed, so memory stays flat on long runs."""
        for chat_id in [
            c for c, s in self._groups.items() if s and s[-1] + self._group_window < now
        ]:
            del self._groups[chat_id]
        for chat_id in [c for c, t in self._private.items() if t + self._private_gap < now]:
            del self._private[chat_id]
