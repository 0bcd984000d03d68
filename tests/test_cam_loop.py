"""Parts of the ``digit-cam`` loop on their own: Backoff, the reading record, outputs, live state."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from edge.cam.live import Backoff
from edge.cam.options import Options
from edge.cam.outputs import Outputs, saved_name, scaled
from edge.cam.record import ReadingRecord
from edge.cam.server import STALE_SECONDS, LiveState, ModelInfo
from edge.cam.sources import DemoSource, Frame, ImageSource, VideoFileSource
from edge.recognizer import DigitReading, Reading, Timings
from tests.conftest import REPO_ROOT

SCHEMA = json.loads((REPO_ROOT / "docs" / "reading.schema.json").read_text())


def test_backoff_doubles_up_to_the_cap_then_gives_up():
    backoff = Backoff(retries=8)
    waits = [backoff.next_wait() for _ in range(9)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, None]


def test_backoff_reset_starts_a_fresh_series():
    backoff = Backoff(retries=2)
    assert [backoff.next_wait(), backoff.next_wait(), backoff.next_wait()] == [0.5, 1.0, None]
    backoff.reset()
    assert backoff.next_wait() == 0.5 and backoff.attempt == 1
    assert Backoff(retries=0).next_wait() is None


def reading(*confidences: float) -> Reading:
    digits = tuple(DigitReading(value=i if c >= 0.5 else None, confidence=c, box=(10 * i, 5, 8, 12), line=0,
                                top_k=((i, c),)) for i, c in enumerate(confidences))
    return Reading(digits, Timings(1.23456, 2.5), "dark", (640, 480))


def frame(index=7, truth=None) -> Frame:
    return Frame(np.zeros((480, 640, 3), np.uint8), "bgr", index, 1_700_000_000.123456, "shots/page.png",
                 0.4444, truth=truth)


def test_record_json_follows_the_schema_in_documented_order():
    record = ReadingRecord.of(frame(truth="01"), reading(0.9, 0.3), "folder of 1 file(s) shots", stable=True)
    data = record.to_dict()
    jsonschema.validate(data, SCHEMA)
    assert list(data) == ["schema", "source", "name", "frame", "timestamp", "text", "stable", "digits",
                          "polarity", "frame_size", "latency_ms", "truth"]
    assert data["text"] == "0?" and data["timestamp"] == 1_700_000_000.123
    assert data["latency_ms"] == {"capture": 0.444, "preprocess": 1.235, "inference": 2.5, "total": 4.179}
    assert "truth" not in ReadingRecord.of(frame(), reading(0.9), "demo", stable=False).to_dict()


def test_record_human_line():
    assert ReadingRecord.of(frame(), reading(), "demo", True).human_line() == "[page.png #7] no digits"
    line = ReadingRecord.of(frame(truth="0?"), reading(0.91, 0.2), "demo", True).human_line()
    assert line == "[page.png #7] 0?   (2 digits, lowest confidence 20%, 4.2 ms)  ✓"
    wrong = ReadingRecord.of(frame(truth="05"), reading(0.91), "demo", True).human_line()
    assert wrong.endswith("(1 digit, lowest confidence 91%, 4.2 ms)  (shown: 05)")


def test_outputs_print_json_or_text_and_publish_every_frame():
    for as_json in (True, False):
        out = io.StringIO()
        outputs = Outputs(Options(json=as_json), out=out, log=lambda _m: None)
        record = ReadingRecord.of(frame(), reading(0.9), "demo", True)
        assert outputs.deliver(frame(), record, DemoSource(), emit=True, fps=None) is False
        assert outputs.deliver(frame(), record, DemoSource(), emit=False, fps=None) is False
        lines = out.getvalue().splitlines()
        assert len(lines) == 1 and outputs.emitted == 1 and outputs.state.frames == 2
        assert lines[0] == (json.dumps(record.to_dict()) if as_json else record.human_line())
        assert outputs.state.reading == record.to_dict() and outputs.state.jpeg is None  # no --serve: no JPEG


@pytest.mark.parametrize("source,name", [
    (DemoSource(), "frame-000007.jpg"),
    (ImageSource(Path("shots")), "page.png.annotated.png"),
    (VideoFileSource(Path("shots/page.png")), "frame-000007.annotated.png"),
])
def test_saved_names(source, name):
    assert saved_name(frame(), source) == name


def test_boxes_are_scaled_to_the_preview():
    assert scaled(reading(0.9, 0.8), 2.0, 1.5).digits[1].box == (20, 8, 16, 18)


def test_live_state_health():
    state = LiveState()
    healthy, body = state.health(state.started + 1)
    assert not healthy and body["frames"] == 0 and body["model"] == {} and body["model_sha256"] is None
    state.model = ModelInfo(path="m.tflite", sha256="ab" * 32, backend="ai_edge_litert", xnnpack=True,
                            accuracy=0.99)
    state.publish(b"jpeg", {"text": "1"})
    healthy, body = state.health(state.last_frame_time + 1)
    assert healthy and body["model_sha256"] == "ab" * 32 and body["model"]["accuracy"] == 0.99
    assert state.jpeg_sequence == 1 and state.reading == {"text": "1"}
    assert not state.health(state.last_frame_time + STALE_SECONDS)[0]
