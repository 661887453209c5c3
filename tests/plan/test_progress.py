"""The progress bar appears only for a person at a terminal, and grows with the registrations."""

from __future__ import annotations

from tenancy.plan.run import Progress


def test_progress_writes_nothing_when_disabled(capsys):
    progress = Progress(enabled=False)
    progress.registered("running dev")(100)
    progress.step("x")
    progress.done()
    assert capsys.readouterr().err == ""


def test_progress_bar_grows_with_registrations(capsys):
    progress = Progress(enabled=True)
    update = progress.registered("running dev")
    update(50)
    update(500)
    err = capsys.readouterr().err
    first, second = err.split("\r\033[K")[1:3]
    assert "running dev [##" in first and "50 registered" in first
    assert second.count("#") > first.count("#") and "500 registered" in second
