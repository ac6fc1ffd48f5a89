"""What the log keeps of bodies that are not text."""

from relayscope.logs.bodies import binary_marker, is_binary, multipart_summary

BOUNDARY = "xyz"
TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def form(*parts: bytes) -> bytes:
    return b"".join(b"--xyz\r\n" + part + b"\r\n" for part in parts) + b"--xyz--\r\n"


def test_file_parts_become_markers_and_fields_stay():
    body = form(
        b'Content-Disposition: form-data; name="model"\r\n\r\nwhisper-1',
        b'Content-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        b"Content-Type: audio/wav\r\n\r\n" + bytes(range(256)) * 40,
    )
    summary = multipart_summary(body, TYPE)
    assert 'name="model"\r\n\r\nwhisper-1' in summary
    assert 'filename="a.wav"' in summary
    assert "[RelayScope: 10240 bytes of audio/wav not logged]" in summary
    assert summary.endswith("--xyz--")


def test_long_fields_are_cut_with_a_marker():
    body = form(b'Content-Disposition: form-data; name="prompt"\r\n\r\n' + b"word " * 2000)
    summary = multipart_summary(body, TYPE)
    assert "[RelayScope: field cut, 10000 bytes]" in summary
    assert len(summary) < 5000


def test_a_body_that_is_not_multipart_is_its_size():
    assert multipart_summary(b"\x00" * 99, TYPE) == binary_marker(TYPE, 99)
    assert multipart_summary(b"abc", "multipart/form-data") == binary_marker(
        "multipart/form-data", 3
    )


def test_binary_types():
    assert is_binary("audio/mpeg") and is_binary("image/png; q=1")
    assert is_binary("application/octet-stream")
    assert not is_binary("application/json") and not is_binary("text/event-stream")
    assert not is_binary(None)
