"""The dashboard on logs and sources that misbehave (pilot tests): a snapshot whose step does not
fit is a broken line and the rest plays; an error in the reader thread is shown on screen, never
swallowed; attach to a log not written yet shows only what is known."""

from __future__ import annotations

from vgtui.core.config import RunConfig
from vgtui.core.records import Record, Snapshot
from vgtui.runlog.codec import encode
from vgtui.ui.app import VgtuiApp
from vgtui.ui.log_app import log_app

SIZE = (120, 40)


def status(app) -> str:
    return app.query_one("#status").text


async def test_replay_plays_a_log_with_a_step_too_big_for_64_bits(tmp_path, recorded, wait_until):
    records = recorded("relu_he_spiral.jsonl")
    snaps = [r for r in records if isinstance(r, Snapshot)]
    lines = [encode(r) for r in records]
    broken = lines.index(encode(snaps[4]))
    lines[broken] = lines[broken].replace(f'"step":{snaps[4].step},', f'"step":{10**30},', 1)
    path = tmp_path / "big-step.jsonl"
    path.write_text("\n".join(lines) + "\n")
    app = log_app(path, "replay", fps=30, speed=4096)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot, lambda: app.latest is not None and app.latest.step == snaps[-1].step, "the end"
        )
        assert app.book.current.count == len(snaps) - 1  # every snapshot but the broken one
        assert app.error_text == ""


class ExplodingSource:
    """A source whose reading fails with an error no check foresaw."""

    live = False
    readonly = "this is a test"

    def start(self) -> None:
        pass

    def recv(self, timeout: float) -> list[Record]:
        raise RuntimeError("the reader met something new")

    def send(self, command: tuple) -> None:
        pass

    def close(self) -> None:
        pass


async def test_an_error_in_the_reader_thread_is_shown_in_one_line(
    tmp_path, monkeypatch, wait_until
):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # where the traceback goes
    app = VgtuiApp(RunConfig(), source_factory=lambda config: ExplodingSource(), fps=30)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.error_text, "the error shown")
        what, way_out = app.error_text.splitlines()
        assert what.startswith(
            "reading the run stopped: RuntimeError: the reader met something new"
        )
        assert way_out == "press q to quit"  # nothing to restart: this run is not ours
        assert app.state == "error" and app.query_one("#error").has_class("-visible")
        saved = list((tmp_path / "vgtui").glob("error-*.txt"))
        assert len(saved) == 1 and str(saved[0]) in what
        assert "the reader met something new" in saved[0].read_text()


async def test_attach_to_a_log_not_written_yet_shows_only_the_path_and_waiting(
    tmp_path, recorded, wait_until
):
    path = tmp_path / "later.jsonl"
    app = log_app(path, "attach", fps=30)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: f"waiting for {path}" in status(app), "waiting shown")
        shown = status(app)
        for default in ("sigmoid", "xavier", "10x32", "spiral", "step", "sgd"):
            assert default not in shown, shown
        header = recorded("relu_he_spiral.jsonl")[0]
        path.write_text(encode(header) + "\n")
        await wait_until(pilot, lambda: "relu · he" in status(app), "the header's config")
        assert "step 0" in status(app)
