"""Loading history.jsonl: pairing invokes with completions, and clear errors for broken files."""

import json
import re

import pytest

from invariants import RunFileError, load_history, ops_by_key, parse_history


def event(index, process, event_type, key="k1", *, value=None, error=None, f="read", time=None):
    return {
        "index": index,
        "time": index * 10 if time is None else time,
        "process": process,
        "type": event_type,
        "f": f,
        "key": key,
        "value": value,
        "error": error,
    }


def write_lines(tmp_path, lines):
    path = tmp_path / "history.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_pairs_interleaved_invokes_with_completions_in_invoke_order():
    ops = parse_history(
        [
            event(0, 1, "invoke", "a"),
            event(1, 2, "invoke", "b"),
            event(2, 2, "ok", "b"),
            event(3, 1, "fail", "a", error="card_declined"),
        ]
    )

    assert [(op.key, op.type, op.invoke_index, op.completion_index) for op in ops] == [
        ("a", "fail", 0, 3),
        ("b", "ok", 1, 2),
    ]
    assert ops[0].error == "card_declined"
    assert (ops[1].invoke_time, ops[1].completion_time) == (10, 20)


def test_invoke_without_completion_counts_as_info():
    ops = parse_history([event(0, 1, "invoke")])

    assert ops[0].type == "info"
    assert not ops[0].completed
    assert ops[0].completion_index is None


def test_retry_after_info_is_a_new_op_of_a_new_process():
    ops = parse_history(
        [
            event(0, 1, "invoke"),
            event(1, 1, "info", error="timeout"),
            event(2, 2, "invoke"),
            event(3, 2, "ok"),
        ]
    )

    assert ops_by_key(ops) == {"k1": ops}
    assert [op.type for op in ops] == ["info", "ok"]


def test_ops_by_key_groups_in_invoke_order():
    ops = parse_history(
        [event(0, 1, "invoke", "a"), event(1, 2, "invoke", "b"), event(2, 3, "invoke", "a")]
    )

    groups = ops_by_key(ops)

    assert [op.invoke_index for op in groups["a"]] == [0, 2]
    assert [op.invoke_index for op in groups["b"]] == [1]


def test_load_history_reads_a_file(tmp_path):
    path = write_lines(tmp_path, [json.dumps(event(0, 1, "invoke")), json.dumps(event(1, 1, "ok"))])

    assert [op.type for op in load_history(path)] == ["ok"]


def test_malformed_line_names_file_and_line(tmp_path):
    path = write_lines(tmp_path, [json.dumps(event(0, 1, "invoke")), '{"index": 1, "ti'])

    with pytest.raises(RunFileError, match=r"history\.jsonl:2: not valid JSON"):
        load_history(path)


@pytest.mark.parametrize("line", ["", "[1, 2]", '{"index": 1} {"index": 2}'])
def test_line_that_is_not_one_object_names_the_line(tmp_path, line):
    path = write_lines(tmp_path, [json.dumps(event(0, 1, "invoke")), line])

    with pytest.raises(RunFileError, match=r"history\.jsonl:2: "):
        load_history(path)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([event(1, 1, "invoke")], "index 1 out of order, expected 0"),
        ([event(0, 1, "ok")], "ok of process 1 has no prior invoke"),
        ([event(0, 1, "invoke"), event(1, 1, "invoke")], "invokes while its op invoked at index 0"),
        (
            [event(0, 1, "invoke"), event(1, 1, "info"), event(2, 1, "invoke")],
            "process 1 was retired by the info at index 1",
        ),
        ([event(0, 1, "invoke", "a"), event(1, 1, "ok", "b")], "does not match the invoke"),
        ([event(0, 1, "invoke"), event(1, 1, "fail")], "a fail must name its error"),
        ([event(0, 1, "invoke", time=-1)], "time -1 is negative"),
        ([event(0, 1, "start")], "field 'type' must be one of"),
        ([event(0, True, "invoke")], "field 'process' must be an integer, got true"),
        ([{"index": 0, "time": 0, "process": 1, "type": "invoke"}], "missing field 'f'"),
        ([event(0, 1, "invoke", f="charge", value={"amount": 5})], "value: missing field"),
    ],
)
def test_broken_precondition_raises_naming_the_line(events, message):
    with pytest.raises(
        RunFileError, match=rf"history\.jsonl:{len(events)}: .*{re.escape(message)}"
    ):
        parse_history(events)


def test_charge_values_are_checked_on_load():
    invoke = event(
        0,
        1,
        "invoke",
        f="charge",
        value={
            "merchant": "acct_1",
            "amount": "10.00",
            "currency": "usd",
            "card": "4242424242424242",
            "attempt": 1,
        },
    )

    with pytest.raises(RunFileError, match="field 'amount' must be an integer"):
        parse_history([invoke])
