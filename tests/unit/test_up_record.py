"""``up.json``: the run-file model of the `up` process, and `down` signalling only the process
it can prove is that one."""

import time

import msgspec
import pytest

from invariants import RunFileError
from invariants.model.files import UP_FILE
from invariants.model.up_record import UpRecord, load_up_record
from scenarios import supervise
from scenarios.errors import HarnessError
from scenarios.process_identity import identify
from scenarios.run_files import write_up_record


def _record_of(pid: int) -> UpRecord:
    process = identify(pid)
    assert process is not None
    return UpRecord(
        pid=pid, start_ticks=process.start_ticks, command_line=process.command_line, run_dir="r"
    )


def test_the_record_reads_back_as_written(tmp_path):
    record = UpRecord(pid=42, start_ticks=7, command_line=("paychaos", "up"), run_dir="r")
    write_up_record(tmp_path, record)
    assert load_up_record(tmp_path / UP_FILE) == record


@pytest.mark.parametrize(
    ("text", "field"),
    [('{"pid": 42, "run_dir": "r"}', "start_ticks"), ('{"pid": 0}', "pid"), ("{", "JSON")],
)
def test_a_malformed_record_names_the_file_and_field(tmp_path, text, field):
    (tmp_path / UP_FILE).write_text(text)
    with pytest.raises(RunFileError, match=rf"{UP_FILE}.*{field}"):
        load_up_record(tmp_path / UP_FILE)


def test_the_identity_of_a_process_is_its_start_and_command_line(unrelated_sleep):
    process = identify(unrelated_sleep.pid)
    assert process is not None
    assert process.command_line == ("sleep", "300")
    assert process.start_ticks > 0


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"start_ticks": 1}, "another time"),
        ({"command_line": ("paychaos", "up")}, "another command line"),
    ],
)
def test_down_refuses_a_process_other_than_the_recorded_one(
    tmp_path, unrelated_sleep, change, said
):
    write_up_record(tmp_path, msgspec.structs.replace(_record_of(unrelated_sleep.pid), **change))
    with pytest.raises(
        HarnessError, match=f"refused to signal pid {unrelated_sleep.pid}: .*{said}"
    ):
        supervise.take_down(tmp_path)
    assert unrelated_sleep.poll() is None


def test_down_signals_the_recorded_process_and_waits_for_it(tmp_path, unrelated_sleep):
    write_up_record(tmp_path, _record_of(unrelated_sleep.pid))
    assert supervise.take_down(tmp_path) == "topology down"
    assert unrelated_sleep.wait(timeout=5) == -15


def test_a_gone_process_is_nothing_to_tear_down(tmp_path, unrelated_sleep):
    record = _record_of(unrelated_sleep.pid)
    unrelated_sleep.kill()
    unrelated_sleep.wait()
    write_up_record(tmp_path, record)
    assert "is gone" in supervise.take_down(tmp_path)
    assert not (tmp_path / UP_FILE).exists()


def test_an_exited_process_not_reaped_yet_is_gone(tmp_path, unrelated_sleep):
    record = _record_of(unrelated_sleep.pid)
    unrelated_sleep.kill()
    # Not waited for: a zombie until the fixture reaps it.
    deadline = time.monotonic() + 5
    while identify(unrelated_sleep.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    write_up_record(tmp_path, record)
    assert "is gone" in supervise.take_down(tmp_path)
