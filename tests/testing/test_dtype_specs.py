"""testing/_dtype_specs: a dtype arrays() is asked for keeps the byte order it names (an audit
of the kit, round 5: "<f2" was drawn big-endian by the default layouts)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from arrayport import InvalidOptionError, MemoryType
from arrayport.testing import as_numpy
from arrayport.testing._dtype_specs import Asked, fixed_dtypes
from arrayport.testing.strategies import arrays, dtypes_for
from tests.conftest import INSTALLED, skip_unless_installed

MANY = settings(database=None, max_examples=150, deadline=None)
LITTLE = np.dtype("<f4").byteorder == "="  # this machine is little-endian


def _never(strategy: Any, condition: Any) -> None:
    with pytest.raises(NoSuchExample):
        find(strategy, condition, settings=MANY)


@pytest.mark.skipif(not LITTLE, reason="'<' and '=' name another order on big-endian machines")
@pytest.mark.parametrize("spec", ["<f2", "=f4", "<i8", np.dtype("<c8").str], ids=repr)
def test_a_dtype_naming_its_byte_order_is_never_drawn_big_endian(spec: str) -> None:
    want = np.dtype(spec).str
    _never(arrays("numpy", dtype=spec, shape=(3,)), lambda x: x.dtype.str != want)
    drawn = st.sampled_from([spec])  # a dtype strategy's draws too
    _never(arrays("numpy", dtype=drawn, shape=(3,)), lambda x: x.dtype.str != want)


@pytest.mark.skipif(not LITTLE, reason="'<' names another order on big-endian machines")
def test_only_the_dtypes_naming_their_order_keep_it() -> None:
    strategy = arrays("numpy", dtype=["<i4", "float32"], shape=(2,))
    _never(strategy, lambda x: x.dtype.kind == "i" and x.dtype.str != "<i4")
    # A dtype given without a byte order is still drawn in both.
    assert find(strategy, lambda x: x.dtype.str == ">f4", settings=MANY).dtype.str == ">f4"
    assert fixed_dtypes(MemoryType.NUMPY, ["<i4", "int32", "i4"], dtypes_for("numpy")) == [
        Asked(np.dtype("int32"), True),
        Asked(np.dtype("int32"), False),
    ]


@pytest.mark.skipif(not LITTLE, reason="'<' names another order on big-endian machines")
def test_bigendian_asked_for_with_another_byte_order_is_refused() -> None:
    with pytest.raises(
        InvalidOptionError,
        match=r"^arrays\(dtype='<f2', layout='bigendian'\): the dtype asked for names its "
        r"byte order \(<f2\), which layout 'bigendian' would turn into >f2; ask for '>f2'",
    ):
        arrays("numpy", dtype="<f2", layout="bigendian")
    with pytest.raises(InvalidOptionError, match="names its byte order"):
        arrays("numpy", dtype=["float32", "=f8"], layout=["bigendian", "strided"])

    @settings(max_examples=5, database=None, deadline=None)
    @given(x=arrays("numpy", dtype="<f4", shape=(2,), layout=st.just("bigendian")))
    def draw(x: Any) -> None:
        raise AssertionError(x)  # never reached: the drawn layout is refused

    with pytest.raises(InvalidOptionError, match="names its byte order"):
        draw()
    # Where the order asked for is big-endian already, or names none, the layout is taken.
    for spec, want in ((">f2", ">f2"), ("float16", ">f2"), ("u1", "|u1")):
        x = find(arrays("numpy", dtype=spec, shape=(2,), layout="bigendian"), lambda _: True)
        assert x.dtype.str == want
    if MemoryType.TORCH in INSTALLED:  # native whatever numpy array it starts from: taken
        x = find(arrays("torch", dtype="<f4", shape=(2,), layout="bigendian"), lambda _: True)
        assert as_numpy(x).dtype.str == "<f4"


@skip_unless_installed(MemoryType.DASK)
@pytest.mark.skipif(not LITTLE, reason="'<' names another order on big-endian machines")
def test_dask_keeps_the_byte_order_asked_for_too() -> None:
    _never(arrays("dask", dtype="<f4", shape=(2, 3)), lambda x: as_numpy(x).dtype.str != "<f4")


_JAX_X64_BY_CONFIG = """
import sys
from arrayport.errors import InvalidOptionError
from arrayport.testing.strategies import arrays
try:
    arrays("jax", dtype="float64")
except InvalidOptionError as exc:
    print("refused:", exc)
import jax
jax.config.update("jax_enable_x64", True)
arrays("jax", dtype="float64")
print("built")
"""


@skip_unless_installed(MemoryType.JAX)
def test_a_64_bit_jax_dtype_is_refused_with_how_to_enable_64_bit_mode() -> None:
    # The refusal named what jax holds, not the setting that lets it hold float64.
    import os

    from tests.conftest import python_c

    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    done = python_c(_JAX_X64_BY_CONFIG, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    refused, built = done.stdout.strip().splitlines()
    assert refused.startswith("refused: arrays('jax', dtype='float64'): jax cannot hold float64")
    assert "set JAX_ENABLE_X64=1 before jax is imported" in refused
    assert "jax.config.update('jax_enable_x64', True)" in refused
    assert built == "built"  # the setting it names lets arrays() build the strategy


def test_other_refusals_name_no_jax_setting() -> None:
    held = ("int8", "float32")
    with pytest.raises(InvalidOptionError) as caught:
        fixed_dtypes(MemoryType.PYCLESPERANTO, "float64", held)
    assert "JAX_ENABLE_X64" not in str(caught.value)
    with pytest.raises(InvalidOptionError) as caught:
        fixed_dtypes(MemoryType.JAX, "float16", held)  # not a 64-bit dtype
    assert "JAX_ENABLE_X64" not in str(caught.value)
