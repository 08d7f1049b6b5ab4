"""The reserved $crash/$error events: what is a crash, the field checks, and the vendor
events mapped onto them (shapes taken from the vendors' SDK sources)."""

from __future__ import annotations

import pytest

from eventkit.capture.issues import (
    check_issue_properties,
    is_fatal,
    map_vendor_issue,
    stack_hash_of,
)
from eventkit.capture.names import check_name


@pytest.mark.parametrize(
    ("name", "props", "fatal"),
    [
        ("$crash", {}, True),
        ("$crash", {"fatal": True}, True),
        ("$crash", {"fatal": False}, False),
        ("$crash", {"fatal": "no"}, True),  # not a boolean: the default
        ("$error", {}, False),
        ("$error", {"fatal": True}, True),
        ("$error", {"fatal": 1}, False),
        ("$screen", {"fatal": True}, False),
    ],
)
def test_what_counts_as_a_crash(name: str, props: dict[str, object], fatal: bool) -> None:
    assert is_fatal(name, props) is fatal


def test_clients_may_send_them() -> None:
    assert check_name("$crash") is None and check_name("$error") is None
    assert "$crash, $error" in str(check_name("$exception"))


def test_field_checks_name_the_field() -> None:
    assert check_issue_properties({"type": "X", "fatal": True, "stack_hash": "ab"}) == []
    assert check_issue_properties({"fatal": "yes", "message": 5, "stack_hash": "x" * 65}) == [
        ("properties.fatal", "must be true or false"),
        ("properties.message", "must be a string"),
        ("properties.stack_hash", "must be at most 64 characters"),
    ]


def test_posthog_android_uncaught_exception_is_a_crash() -> None:
    # posthog-android ThrowableCoercer: level "fatal" for an uncaught crash.
    props = {
        "$exception_level": "fatal",
        "$exception_list": [{
            "type": "IllegalStateException", "value": "boom", "module": "java.lang",
            "mechanism": {"handled": False, "synthetic": False, "type": "UncaughtExceptionHandler"},
            "stacktrace": {"type": "raw", "frames": [
                {"module": "com.example.Feed", "function": "load", "filename": "Feed.kt",
                 "lineno": 42, "in_app": True, "platform": "java"}]},
        }],
        "$screen_name": "feed",
    }  # fmt: skip
    mapped = map_vendor_issue("posthog", "$exception", props)
    assert mapped is not None
    name, out = mapped
    assert name == "$crash"
    assert (out["type"], out["message"], out["fatal"], out["handled"]) == (
        "IllegalStateException", "boom", True, False)  # fmt: skip
    assert out["$source_event"] == "$exception" and out["$screen_name"] == "feed"
    assert out["stack_hash"] == stack_hash_of(
        "IllegalStateException",
        props["$exception_list"][0]["stacktrace"]["frames"],  # type: ignore[index]
    )
    # The line number is not part of the hash: a rebuild that moves lines keeps it.
    moved = [{"module": "com.example.Feed", "function": "load", "filename": "Feed.kt",
              "lineno": 50}]  # fmt: skip
    assert stack_hash_of("IllegalStateException", moved) == out["stack_hash"]


def test_posthog_handled_error_and_older_properties() -> None:
    mapped = map_vendor_issue("posthog", "$exception", {
        "$exception_level": "error", "$exception_type": "TypeError",
        "$exception_message": "x is undefined", "$exception_fingerprint": "fp-1",
    })  # fmt: skip
    assert mapped is not None
    name, out = mapped
    assert name == "$error"
    assert (out["type"], out["message"], out["fatal"], out["stack_hash"]) == (
        "TypeError", "x is undefined", False, "fp-1")  # fmt: skip
    # Fields the app set itself win.
    _, kept = map_vendor_issue("posthog", "$exception", {"type": "Mine"}) or ("", {})
    assert kept["type"] == "Mine"


def test_segment_and_mixpanel_crash_events() -> None:
    name, out = map_vendor_issue("segment", "Application Crashed", {"screen": "cart"}) or ("", {})
    assert (name, out["fatal"], out["screen"]) == ("$crash", True, "cart")
    name, out = map_vendor_issue(
        "mixpanel", "$ae_crashed",
        {"$ae_crashed_reason": "java.lang.NullPointerException: feed was null"},
    ) or ("", {})  # fmt: skip
    assert (name, out["type"], out["message"]) == (
        "$crash", "java.lang.NullPointerException", "feed was null")  # fmt: skip
    # The Segment name arriving through Amplitude is mapped too; other names are not.
    assert map_vendor_issue("amplitude", "Application Crashed", {}) is not None
    assert map_vendor_issue("amplitude", "$exception", {}) is None
    assert map_vendor_issue("posthog", "Checkout Failed", {}) is None


def test_posthog_frames_are_kept_as_text_within_the_depth_limit() -> None:
    frames = [{"module": "app.feed", "function": "load", "filename": "feed.py", "lineno": i,
               "vars": {"a": {"b": [1]}}} for i in range(80)]  # fmt: skip
    props = {"$exception_list": [{"type": "KeyError", "value": "x",
                                  "mechanism": {"handled": True, "meta": {"x": 1}},
                                  "stacktrace": {"type": "raw", "frames": frames}}]}  # fmt: skip
    _, out = map_vendor_issue("posthog", "$exception", props) or ("", {})
    [exc] = out["$exception_list"]
    assert exc["type"] == "KeyError" and exc["mechanism"] == {"handled": True}
    assert len(exc["frames"]) == 50 and exc["frames"][-1] == "app.feed.load (feed.py:79)"

    def depth(v: object) -> int:
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        return 0

    assert depth(out) <= 5  # limits.max_property_depth
