"""JSON log lines: one object per line, with the current request's id."""

from __future__ import annotations

import io
import logging
import logging.config

import orjson
import pytest

from atlas_streams.logs import CURRENT_REQUEST, logging_config


@pytest.fixture
def json_lines() -> io.StringIO:
    stream = io.StringIO()
    config = logging_config("info", "json")
    assert config is not None
    config["handlers"]["stderr"]["stream"] = stream
    config["root"] = {"level": "INFO", "handlers": []}
    config["loggers"] = {"atlas-test": {"level": "INFO", "handlers": ["stderr"],
                                        "propagate": False}}
    logging.config.dictConfig(config)
    yield stream
    logging.getLogger("atlas-test").handlers.clear()


def test_each_record_is_one_json_object_with_level_logger_message(json_lines: io.StringIO) -> None:
    log = logging.getLogger("atlas-test")
    log.info("profiled %d rows", 3, extra={"dataset": "orders"})
    log.warning("second line")
    first, second = (orjson.loads(line) for line in json_lines.getvalue().splitlines())
    assert first["level"] == "INFO" and first["logger"] == "atlas-test"
    assert first["message"] == "profiled 3 rows" and first["dataset"] == "orders"
    assert first["request_id"] is None and first["time"]
    assert second["level"] == "WARNING"


def test_a_record_written_while_answering_carries_the_request_id(json_lines: io.StringIO) -> None:
    token = CURRENT_REQUEST.set({"request_id": "req-42"})
    try:
        logging.getLogger("atlas-test").error("inside a request")
    finally:
        CURRENT_REQUEST.reset(token)
    assert orjson.loads(json_lines.getvalue())["request_id"] == "req-42"


def test_text_keeps_fausts_format_and_unknown_formats_are_refused() -> None:
    assert logging_config("info", "text") is None
    with pytest.raises(ValueError, match="text, json"):
        logging_config("info", "xml")
