"""A session step's input and output as the session page shows them, and the
timeline's ticks."""

from __future__ import annotations

import orjson

from relayscope.dashboard import steps


def _chat(*messages: tuple[str, str]) -> str:
    body = {"model": "gpt-4o-mini", "messages": [{"role": r, "content": c} for r, c in messages]}
    return orjson.dumps(body).decode()


def _answer(text: str) -> str:
    message = {"role": "assistant", "content": text}
    return orjson.dumps({"choices": [{"index": 0, "message": message}]}).decode()


def test_the_input_is_the_last_user_message_and_the_output_the_answer():
    request = _chat(
        ("system", "Be brief."), ("user", "first"), ("assistant", "ok"), ("user", "second")
    )
    io = steps.step_io(request, _answer("the reply"))
    assert io.input is not None and io.input.preview == "second" and not io.input.cut
    assert io.output is not None and io.output.full == "the reply"


def test_a_long_text_is_previewed_on_one_line_and_kept_whole_for_show_all():
    long = "word " * 100 + "\n\nTHE END"
    io = steps.step_io(_chat(("user", long)), None)
    assert io.input is not None and io.input.cut
    assert len(io.input.preview) == steps.PREVIEW_CHARS and io.input.preview.endswith("…")
    assert "\n" not in io.input.preview
    assert io.input.full.endswith("THE END") and not io.input.cut_in_full
    assert io.output is None


def test_a_huge_text_is_cut_even_in_show_all():
    io = steps.step_io(_chat(("user", "x" * (steps.FULL_CHARS + 5))), None)
    assert io.input is not None and io.input.cut_in_full
    assert io.input.length == steps.FULL_CHARS + 5 and len(io.input.full) == steps.FULL_CHARS


def test_bodies_that_are_not_chat_show_as_text_and_errors_as_their_error():
    io = steps.step_io("plain text, not JSON", '{"error": {"message": "nope"}}')
    assert io.input is not None and io.input.full == "plain text, not JSON"
    assert io.output is not None and '"message":"nope"' in io.output.full


def test_offsets_read_as_ms_seconds_and_minutes():
    assert [steps.offset_label(v) for v in (0, 4.5, 250, 1000, 1500, 12_340, 150_000)] == [
        "0",
        "4.5 ms",
        "250 ms",
        "1 s",
        "1.5 s",
        "12.34 s",
        "2 min 30 s",
    ]
    assert steps.offset_label(2 * 3_600_000 + 60_000) == "2 h 1 min"


def test_ticks_are_round_offsets_that_cover_the_session():
    assert [t.label for t in steps.ticks(1_000)] == [
        "0",
        "200 ms",
        "400 ms",
        "600 ms",
        "800 ms",
        "1 s",
    ]
    assert [t.label for t in steps.ticks(95_000)] == [
        "0",
        "30 s",
        "1 min",
        "1 min 30 s",
    ]
    for total in (0.3, 7, 999, 3_210, 61_000, 9_000_000):
        found = steps.ticks(total)
        assert found[0].offset_ms == 0 and 2 <= len(found) <= 7, (total, found)
        assert found[-1].offset_ms <= max(total, 1.0)
