"""backends/_tf_memory: tensorflow's memory figures, asked only once it has started."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from arrayport import MemoryType
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.TENSORFLOW)


@pytest.fixture(scope="module")
def be() -> Any:
    from arrayport.backends import tensorflow as backend

    backend.load()
    return backend


def test_the_backend_re_exports_memory_info(be: Any) -> None:
    from arrayport.backends import _tf_memory

    assert be.memory_info is _tf_memory.memory_info


def test_the_cpu_row_says_what_its_figure_leaves_out(be: Any) -> None:
    # A 4 MiB tensor arrayport made from numpy was alive, and the row said "0 B in use".
    import tensorflow as tf

    import arrayport as ap
    from arrayport.backends._tf_memory import CPU_NOTE

    try:
        tf.config.experimental.get_memory_info("CPU:0")
    except ValueError:
        pytest.skip("this tensorflow build does not track CPU memory")
    held = ap.convert(np.ones((256, 1024), np.float32), "tensorflow")
    (row, *_) = ap.memory_report("tensorflow").rows
    assert (row.device, row.note) == ("cpu", CPU_NOTE)
    assert row.note == (
        "in use: tensorflow's CPU allocator only; tensors over memory it did not allocate "
        "(imported from numpy, as arrayport's conversions make them) are not counted"
    )
    del held


class _Context:
    """tensorflow's eager context as the report reads it: made at import, started later."""

    def __init__(self, **state: object) -> None:
        self.__dict__.update(state)


@pytest.mark.parametrize(
    ("made", "said"),
    [
        (None, "tensorflow has not started its runtime (no tensor made yet)"),
        (_Context(_initialized=False), "tensorflow has not started its runtime"),
        (_Context(), "not asked: this tensorflow version does not tell"),
    ],
)
def test_a_runtime_not_started_is_not_started_to_report_on_it(
    be: Any, monkeypatch: pytest.MonkeyPatch, made: object, said: str
) -> None:
    # get_memory_info started tensorflow's runtime: on a GPU nearly all of its memory, and
    # tf.config's settings raised afterwards.
    import tensorflow as tf
    from tensorflow.python.eager import context

    asked: list[str] = []
    monkeypatch.setattr(context, "context_safe", lambda: made)
    monkeypatch.setattr(tf.config.experimental, "get_memory_info", asked.append)
    monkeypatch.setattr(be, "devices", lambda: asked.append("devices"))
    (row,) = be.memory_info()
    assert (row["device"], row["in_use"], asked) == ("-", None, [])
    assert row["note"].startswith(said)


def test_a_context_without_its_lookup_is_not_asked(
    be: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tensorflow.python.eager import context

    monkeypatch.delattr(context, "context_safe")
    (row,) = be.memory_info()
    assert (row["device"], row["in_use"]) == ("-", None)
    assert row["note"].startswith("not asked: this tensorflow version does not tell")
