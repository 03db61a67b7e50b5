"""local_spark's start: a JVM that exits before the session exists is started again."""
import pytest
from pyspark.errors import PySparkRuntimeError

from soundlake.local.spark import start_retrying


def gateway_exited() -> PySparkRuntimeError:
    return PySparkRuntimeError(errorClass="JAVA_GATEWAY_EXITED", messageParameters={})


def test_a_jvm_that_exits_is_started_again_until_it_starts(capsys):
    calls = []

    def start():
        calls.append(1)
        if len(calls) < 3:
            raise gateway_exited()
        return "session"

    assert start_retrying(start, attempts=3, pauses=(0, 0)) == "session"
    assert len(calls) == 3
    assert capsys.readouterr().err.count("the JVM exited before starting") == 2


def test_gives_up_after_the_attempts_with_the_last_error():
    calls = []

    def start():
        calls.append(1)
        raise gateway_exited()

    with pytest.raises(PySparkRuntimeError) as raised:
        start_retrying(start, attempts=2, pauses=(0,))
    assert raised.value.getCondition() == "JAVA_GATEWAY_EXITED"
    assert len(calls) == 2


def test_any_other_error_is_raised_at_once():
    calls = []

    def start():
        calls.append(1)
        raise PySparkRuntimeError(errorClass="CANNOT_CONFIGURE_SPARK_CONNECT", messageParameters={"existing_url": "x", "new_url": "y"})

    with pytest.raises(PySparkRuntimeError):
        start_retrying(start, attempts=3, pauses=(0, 0))
    assert len(calls) == 1
