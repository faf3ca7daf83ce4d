"""Messages from the source reader (a thread) to the app."""

from __future__ import annotations

from textual.message import Message

from vgtui.engine.records import End, Event, RunHeader, Snapshot


class SnapshotArrived(Message):
    """The newest snapshot; replaces one still waiting in the queue, so a fast trainer never
    floods the UI."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotArrived)


class RunStarted(Message):
    def __init__(self, header: RunHeader) -> None:
        super().__init__()
        self.header = header


class EventArrived(Message):
    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class RunEnded(Message):
    def __init__(self, end: End) -> None:
        super().__init__()
        self.end = end


class SourceFailed(Message):
    """The trainer process died or could not start; ``text`` says why."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
