"""Messages from the source reader (a thread) to the node that reads it (the app, or one side of a
comparison). They do not bubble: each host handles its own run's."""

from __future__ import annotations

from textual.message import Message

from vgtui.core.records import End, Event, RunHeader, Snapshot


class SnapshotArrived(Message, bubble=False):
    """The newest snapshot; replaces one still waiting in the queue, so a fast trainer never
    floods the UI."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotArrived)


class RunStarted(Message, bubble=False):
    def __init__(self, header: RunHeader) -> None:
        super().__init__()
        self.header = header


class EventArrived(Message, bubble=False):
    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class RunEnded(Message, bubble=False):
    def __init__(self, end: End) -> None:
        super().__init__()
        self.end = end


class SourceFailed(Message, bubble=False):
    """The trainer process died or could not start; ``text`` says why."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
