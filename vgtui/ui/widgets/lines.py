"""The base of every dashboard widget: lines of styled text that repaint only where they changed.

A widget describes what it shows as plain, hashable lines (tuples of ``(text, style)`` segments,
each exactly as wide as the widget). Each frame it builds them anew from its data and compares
them with the previous frame's: an unchanged widget asks Textual for nothing, a changed one
repaints only its changed lines, from their first to their last changed column. The `Strip` of a
line is built once, when Textual first asks for it (Textual's Line API), and kept until the line
changes. What is drawn is quantised by its own text (an eighth of a block, a printed number), so a
change too small to see costs nothing.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

Seg = tuple[str, str]  # (text, Rich style: "" for the widget's own, "bold red", "dim", ...)
Line = tuple[Seg, ...]


def fit(line: Line, width: int) -> Line:
    """``line`` cropped or padded with spaces to exactly ``width`` cells, in as few segments as
    look the same: each segment costs its own escape codes on the wire.

    Neighbours of one style are joined, and so are blanks between two segments (a space looks the
    same in any of the foreground-only styles used here); blanks at the end stay apart, so that
    a change before them does not repaint them. Every character is taken as one cell wide, as all
    those the dashboard draws are (a user's layer name in a wide script only shifts its own line,
    which Textual crops to the widget).
    """
    out: list[list[str]] = []
    used = 0
    blank = ""  # blanks since the last segment with something to see
    for text, style in line:
        if used + len(text) > width:
            text = text[: width - used]
        if not text:
            continue
        used += len(text)
        if text.isspace():
            blank += text
        elif out and out[-1][1] == style:
            out[-1][0] += blank + text
            blank = ""
        elif out:
            out[-1][0] += blank  # blanks inside the line take the style before them
            out.append([text, style])
            blank = ""
        else:
            out.append([blank + text, style])
            blank = ""
    tail = blank + " " * (width - used)
    if tail:
        out.append([tail, ""])
    return tuple((text, style) for text, style in out)


def changed_span(old: Line, new: Line) -> tuple[int, int]:
    """Columns ``[x1, x2)`` covering every segment that differs between two equally wide lines."""
    head = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        head += 1
    tail = 0
    for a, b in zip(reversed(old[head:]), reversed(new[head:]), strict=False):
        if a != b:
            break
        tail += 1
    x1 = sum(len(text) for text, _ in new[:head])
    x2 = x1 + sum(len(text) for text, _ in new[head : len(new) - tail])
    return x1, max(x2, x1 + 1)


class Steady:
    """Whole levels (eighths of a bar) that move only when the value moves by a whole level.

    Rounding alone makes a value that sits near the middle between two levels flicker between
    them from one frame to the next although it hardly changed; here a level, once shown, stays
    until the value is a whole level away from it. ``clear`` forgets every level (a new run).
    """

    def __init__(self) -> None:
        self.shown: dict[object, np.ndarray] = {}

    def __call__(self, key: object, exact: np.ndarray) -> np.ndarray:
        level = np.round(exact).astype(np.int64)
        before = self.shown.get(key)
        if before is not None and before.shape == level.shape:
            level = np.where(np.abs(exact - before) < 1, before, level)
        self.shown[key] = level
        return level

    def clear(self) -> None:
        self.shown.clear()


def with_gutter(line: Line, gutter: int) -> Line:
    """``line`` with ``gutter`` blank cells either side, inside its first and last segments.

    A space looks the same in any foreground style, so the margin costs no segment of its own
    (CSS padding would: its own escape codes on every repainted line).
    """
    if not gutter or not line:
        return line
    pad = " " * gutter
    if len(line) == 1:
        return ((pad + line[0][0] + pad, line[0][1]),)
    (first, s1), (last, s2) = line[0], line[-1]
    return ((pad + first, s1), *line[1:-1], (last + pad, s2))


class LineView(Widget):
    """A widget drawn from `build`'s lines, repainting only what changed since the last frame.

    Subclasses implement `build(width, height)`; the app calls `redraw()` once per frame. A widget
    with ``height: auto`` is as tall as its lines; the layout is refreshed only when their number
    changes. ``GUTTER`` blank cells frame each line left and right (instead of CSS padding).
    """

    GUTTER = 1

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines: list[Line] = []
        self.built_size = Size(0, 0)
        self.repainted = 0  # lines repainted by the last redraw (for tests and the bench)
        self._strips: list[Strip | None] = []
        self._styles: dict[str, Style] = {}
        self._base: Style | None = None
        self._version: object = None

    def build(self, width: int, height: int) -> list[Line]:
        """The lines to show at this content size (a height of 0: as many as needed)."""
        raise NotImplementedError

    def version(self) -> object:
        """Changes whenever the lines might; while it stays, a redraw builds nothing.

        ``None`` (the default): build every time.
        """
        return None

    def _lines_for(self, width: int, height: int) -> list[Line]:
        inner = max(1, width - 2 * self.GUTTER)
        return [with_gutter(fit(line, inner), self.GUTTER) for line in self.build(inner, height)]

    def redraw(self) -> int:
        """Rebuild the lines from the current data and repaint the ones that changed.

        Returns how many lines changed (0: Textual is not asked to do anything).
        """
        size = self.content_size
        if not size.width or not self.is_mounted:
            return 0  # not laid out yet: the first layout builds the lines
        base = self._base or self.rich_style  # recomputed after a change of CSS or theme
        version = self.version()
        if (
            version is not None
            and version == self._version
            and base == self._base
            and size == self.built_size
        ):
            self.repainted = 0
            return 0
        self._version = version
        height = 0 if self.styles.height is not None and self.styles.height.is_auto else size.height
        new = self._lines_for(size.width, height)
        if base != self._base or size != self.built_size or len(new) != len(self.lines):
            # A new theme, size or height: everything is drawn again (and laid out, if taller).
            self._base, self.built_size, self._styles = base, size, {}
            taller = len(new) != len(self.lines)
            self.lines, self._strips = new, [None] * len(new)
            self.refresh(layout=taller)
            self.repainted = len(new)
            return self.repainted
        regions = []
        for y, (old, line) in enumerate(zip(self.lines, new, strict=True)):
            if old != line:
                x1, x2 = changed_span(old, line)
                regions.append(Region(x1, y, x2 - x1, 1))
                self._strips[y] = None
        self.lines = new
        if regions:
            self.refresh(*regions)
        self.repainted = len(regions)
        return self.repainted

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width != self.built_size.width or not self.lines:
            self._version = None
            self.lines = self._lines_for(width, 0)
            self._strips = [None] * len(self.lines)
            self.built_size = Size(width, len(self.lines))
        return len(self.lines)

    def on_resize(self) -> None:
        self.redraw()

    def notify_style_update(self) -> None:
        """New CSS or theme: the cached strips carry the old colours."""
        super().notify_style_update()
        self.invalidate()

    def invalidate(self) -> None:
        """Forget what is on screen: the next redraw builds and repaints every line."""
        self._base, self._styles, self._version = None, {}, None
        self._strips = [None] * len(self.lines)

    @property
    def text(self) -> str:
        """What the widget shows, as plain text."""
        lines = ("".join(text for text, _ in line) for line in self.lines)
        return "\n".join(line[self.GUTTER :].rstrip() for line in lines)

    def style(self, name: str) -> Style:
        """The widget's own style with ``name`` over it (cached per theme)."""
        style = self._styles.get(name)
        if style is None:
            base = self._base or self.rich_style
            style = self._styles[name] = base + Style.parse(name) if name else base
        return style

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        if y >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        strip = self._strips[y]
        if strip is None:
            line = self.lines[y]
            strip = Strip([Segment(text, self.style(name)) for text, name in line])
            if y < len(self._strips):
                self._strips[y] = strip
        return strip
