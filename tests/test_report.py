"""The provenance lines every chapter prints (drnet_core/report.py): profile first, then the chapter's own run time."""

from drnet_core import report


def test_second_call_reports_the_chapters_execution_time(monkeypatch, capsys):
    monkeypatch.setattr(report, "_first_printed", None)
    clock = iter([100.0, 100.0 + 125.0])
    monkeypatch.setattr(report.time, "perf_counter", lambda: next(clock))
    report.print_run_info("ci")
    first = capsys.readouterr().out.splitlines()
    assert first[0].startswith("profile=ci | device=") and first[1].startswith("python ")
    assert not any("executed in" in line for line in first)
    report.print_run_info("ci")
    assert capsys.readouterr().out.splitlines()[-1] == "this chapter executed in 2 min 05 s (first cell to last)"


def test_provenance_lines_fit_the_page():
    where, _, versions = report.run_info("cpu").partition(" | python ")
    assert len(where) <= 88 and len("python " + versions) <= 88
