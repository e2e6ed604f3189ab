"""_dask_checks: what dispatch on dask input checks at call time, before any block runs."""

from __future__ import annotations

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from arrayport.errors import InvalidOptionError
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.DASK)


def _overlapped(x, depth):
    from dask.array.overlap import overlap

    return overlap(x, depth=depth, boundary="none")


def test_whole_args_are_checked_against_the_real_blocks() -> None:
    import dask.array as da

    from arrayport._dask_checks import check_whole_args

    x = da.zeros((64, 64), chunks=16)
    # A kernel, a scalar-like and a broadcastable row fit the whole array or no block.
    check_whole_args("f", x, [np.ones((5, 5)), np.ones((1, 1)), np.float64(2.0)], x, x)
    with pytest.raises(InvalidOptionError, match="does against a block"):
        check_whole_args("f", x, [np.ones(16)], x, x)
    with pytest.raises(InvalidOptionError, match="ambiguous"):
        check_whole_args("f", x, [np.ones(64)], x, x)
    # With a halo the blocks are 17 or 18 wide (inner ones 18), never 16: a (4, 4) kernel
    # on 4-wide chunks with depth 1 fits no real block.
    small = da.zeros((8, 8), chunks=4)
    check_whole_args("f", small, [np.ones((4, 4))], small, _overlapped(small, {0: 1, 1: 1}))
    # A chunk smaller than the halo is merged by dask: the real extents decide.
    tail = da.zeros(1025, chunks=256)  # the last chunk is 1 long
    check_whole_args("f", tail, [np.ones(3)], tail, _overlapped(tail, {0: 1}))


def test_an_argument_meeting_only_known_axes_is_checked_when_another_is_unknown() -> None:
    import dask.array as da

    from arrayport._dask_checks import check_whole_args

    x = da.from_array(np.arange(40.0).reshape(4, 10), chunks=(2, 5))
    rows = x[da.from_array(np.array([True, False, True, False]), chunks=2)]  # (nan, 10)
    with pytest.raises(InvalidOptionError, match="does against a block"):
        check_whole_args("f", rows, [np.arange(5.0)], rows, rows)
    check_whole_args("f", rows, [np.arange(10.0)[None, :]], rows.rechunk({1: -1}), rows)
    with pytest.raises(InvalidOptionError, match="compute_chunk_sizes"):
        check_whole_args("f", rows, [np.ones((2, 1))], rows, rows)


def test_whole_slices_rechunks_only_what_cuts_a_slice() -> None:
    import dask.array as da

    from arrayport._dask_checks import whole_slices

    stack = da.zeros((4, 32, 32), chunks=(1, 32, 32))
    assert whole_slices("f", [stack], True)[0] is stack
    cut = whole_slices("f", [da.zeros((4, 32, 32), chunks=(2, 8, 16))], True)[0]
    assert cut.chunks[1:] == ((32,), (32,))
    assert sum(cut.chunks[0]) == 4  # axis 0 toward dask's chunk size, never cut in a slice
    plane = whole_slices("f", [da.zeros((32, 32), chunks=8)], False)[0]
    assert plane.chunks == ((32,), (32,))
    # Not sliced (4-D, or a stack inside a list): one block, as the call runs once.
    whole = whole_slices("f", [da.zeros((4, 3, 5, 6), chunks=(1, 3, 5, 6))], False)[0]
    assert whole.chunks == ((4,), (3,), (5,), (6,))


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_blocks_the_declared_type_cannot_hold_are_refused_at_the_call() -> None:
    import dask.array as da

    import arrayport as ap
    from arrayport.backends import get_backend
    from arrayport.errors import UnsupportedDtypeError

    get_backend(MemoryType.PYCLESPERANTO).load()  # asked only of a framework imported here

    @ap.memory_type(
        "pyclesperanto", dtype_conversion=ap.DtypeConversion.PRESERVE_INPUT, blockwise=True
    )
    def keep(x):
        return x

    complex_blocks = da.from_array(np.ones((4, 4), np.complex64), chunks=2)
    # Before, the call returned a lazy array and compute() raised.
    with pytest.raises(UnsupportedDtypeError, match=r"keep runs in pyclesperanto.*complex64"):
        keep(complex_blocks)
    # Every dask argument is asked, not only the first; dtypes it holds pass.
    real = da.from_array(np.ones((4, 4), np.float32), chunks=2)
    assert keep(real).compute().dtype == np.float32

    @ap.memory_type("pyclesperanto", blockwise=True)
    def add(a, b):
        return a + b

    with pytest.raises(UnsupportedDtypeError, match="complex64"):
        add(real, complex_blocks)


def test_a_framework_not_imported_here_is_neither_imported_nor_asked() -> None:
    # The check imported the declared framework in the client: a lazy tensorflow-declared
    # call took 3 s instead of 0.01 s. The workers' framework decides then.
    from tests.conftest import python_c

    out = python_c(
        "import sys, numpy as np, dask.array as da\n"
        "from arrayport._dask_checks import check_dtypes\n"
        "from arrayport import MemoryType\n"
        "check_dtypes('f', MemoryType.PYCLESPERANTO, [da.zeros(4, dtype='c16', chunks=2)])\n"
        "check_dtypes('f', MemoryType.TENSORFLOW, [da.zeros(4, dtype='c16', chunks=2)])\n"
        "print('pyclesperanto' in sys.modules, 'tensorflow' in sys.modules)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_input_of_several_blocks_needs_the_contract_to_say_how_they_relate() -> None:
    # Mapped block by block by default, the README's normalise gave each block its own
    # min..max on a dask array of 2 x 2 blocks: [[0, .2, 0, .2], [.8, 1, .8, 1], ...].
    import dask
    import dask.array as da

    import arrayport as ap

    @ap.memory_type("numpy")
    def normalise(image: np.ndarray) -> np.ndarray:
        lo, hi = image.min(), image.max()
        return (image - lo) / (hi - lo)

    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    with pytest.raises(InvalidOptionError, match=r"2 x 2 blocks.*blockwise=True.*whole_array"):
        normalise(da.from_array(a, chunks=2))
    with dask.config.set(scheduler="synchronous"):
        whole = normalise.options(whole_array=True)(da.from_array(a, chunks=2)).compute()
        one_block = normalise(da.from_array(a, chunks=4)).compute()  # the whole array
    np.testing.assert_allclose(whole, (a - a.min()) / (a.max() - a.min()))
    np.testing.assert_array_equal(one_block, whole)
    for rule in ({"blockwise": True}, {"depth": 1}, {"slice_by_slice": True}):
        normalise.options(**rule)(da.from_array(a, chunks=2))  # declared: lazily mapped


def test_the_block_rule_refusal_names_compute_chunk_sizes_for_unknown_chunks() -> None:
    # Its remedies depth= and whole_array=True are refused themselves on such input.
    import dask.array as da

    import arrayport as ap
    from arrayport.errors import BlockRuleError

    double = ap.memory_type("numpy")(lambda x: x * 2)
    x = da.arange(12, chunks=4)
    picked = x[x > 2]
    with pytest.raises(BlockRuleError, match=r"compute_chunk_sizes\(\)"):
        double(picked)
    with pytest.raises(BlockRuleError) as caught:
        double(x)
    assert "need x.compute_chunk_sizes()" not in str(caught.value)


def test_a_dtype_refused_at_the_call_keeps_the_errors_attributes() -> None:
    # Re-raised for dask input without them: exc.dtype, .source, .target were None where
    # the same refusal of numpy input had them.
    pytest.importorskip("jax")
    import dask.array as da
    import jax

    if jax.config.jax_enable_x64:
        pytest.skip("needs jax without 64-bit mode")
    f = ap.memory_type("jax", blockwise=True)(lambda x: x)
    ap.convert(np.zeros(1, np.float32), "jax")  # jax imported: refused at the call
    with pytest.raises(ap.UnsupportedDtypeError) as info:
        f(da.from_array(np.arange(4, dtype=np.int64), chunks=2))
    assert info.value.dtype == "int64"
    assert (info.value.source, info.value.target) == (ap.MemoryType.DASK, ap.MemoryType.JAX)


def test_whole_slices_keeps_a_stack_whole_along_axis_0_for_a_whole_argument() -> None:
    import dask
    import dask.array as da

    from arrayport._dask_checks import whole_slices

    # A chunk size smaller than one slice: "auto" alone would cut axis 0 into single slices.
    with dask.config.set({"array.chunk-size": "1KiB"}):
        held = da.zeros((8, 8, 8), chunks=(8, 4, 4))
        volume = np.ones((8, 8, 8))
        kept = whole_slices("f", [held], True, [volume])[0]
        assert kept.chunks == ((8,), (8,), (8,))
        # Without an argument spanning the stack, or a broadcast one, blocks stay small.
        for whole in ([], [np.ones((8, 8))], [np.ones((1, 8, 8))]):
            assert len(whole_slices("f", [held], True, whole)[0].chunks[0]) > 1


def test_slice_by_slice_follows_its_own_remedy_for_a_whole_stack_argument() -> None:
    import dask
    import dask.array as da

    sub = ap.memory_type("numpy", slice_by_slice=True)(lambda a, b: a - b)
    stack = np.arange(512.0).reshape(8, 8, 8)
    volume = np.ones((8, 8, 8))
    with dask.config.set({"array.chunk-size": "1KiB", "scheduler": "synchronous"}):
        split = da.from_array(stack, chunks=(4, 4, 4))
        with pytest.raises(InvalidOptionError, match=r"x.rechunk\(\{0: -1\}\)"):
            sub(split, volume)
        with pytest.warns(UserWarning, match="larger than dask's array.chunk-size"):
            out = sub(split.rechunk({0: -1}), volume).compute()
    np.testing.assert_array_equal(out, stack - volume)


# --- from a dask audit (session 22) ----------------------------------------------------------


def test_a_later_dask_argument_with_masked_chunks_is_refused_at_the_call_by_name() -> None:
    # Only the first dask argument's chunk type was checked: a masked one later passed the
    # call and failed at compute() with numpy's words, without the dask remedy.
    import dask.array as da

    add = ap.memory_type("numpy", blockwise=True)(lambda x, y: x + y)
    total = ap.memory_type("numpy", blockwise=True)(lambda xs: xs[0] + xs[1])
    plain = da.from_array(np.arange(4.0), chunks=2)
    masked = da.ma.masked_greater(da.from_array(np.arange(4.0), chunks=2), 1)
    refusal = r"^argument 'y' of \S*<lambda> is a dask array with masked chunks.*getmaskarray"
    with pytest.raises(ap.UnsupportedArrayError, match=refusal):
        add(plain, masked)
    with pytest.raises(ap.UnsupportedArrayError, match=refusal):
        add(plain, y=masked)
    with pytest.raises(
        ap.UnsupportedArrayError, match=r"^an item of argument 'xs' of \S*<lambda> is"
    ):
        total([plain, masked])
    with pytest.raises(
        ap.UnsupportedArrayError, match=r"^argument 'x' of \S*<lambda> is .* masked"
    ):
        add(masked, plain)


@skip_unless_installed(MemoryType.TORCH)
def test_a_later_dask_argument_with_torch_chunks_is_refused_by_name_not_by_numpy() -> None:
    # Its torch dtype reached np.dtype() first: builtins.TypeError "Cannot interpret
    # 'torch.float64' as a data type".
    import dask.array as da
    import torch

    add = ap.memory_type("numpy", blockwise=True)(lambda x, y: x + y)
    plain = da.from_array(np.arange(4.0), chunks=2)
    tc = plain.map_blocks(torch.from_numpy, meta=torch.empty(0, dtype=torch.float64))
    refusal = (
        r"^argument 'y' of \S*<lambda> is a dask array with torch\.Tensor chunks; .*"
        r"x\.map_blocks\(numpy\.asarray\)"
    )
    with pytest.raises(ap.UnsupportedArrayError, match=refusal):
        add(plain, tc)
    with pytest.raises(ap.UnsupportedArrayError, match=refusal):
        add(np.ones(4), y=tc)  # after a non-dask first argument too


def test_check_inputs_checks_every_dask_argument_by_its_number_without_a_namer() -> None:
    import dask.array as da

    from arrayport._dask_checks import check_inputs

    plain = da.zeros(4, chunks=2)
    masked = da.ma.masked_equal(da.zeros(4, chunks=2), 0)
    check_inputs("f", [plain, plain])
    with pytest.raises(ap.UnsupportedArrayError, match=r"^f: dask argument #3 is .* masked"):
        check_inputs("f", [plain, plain, masked])
    with pytest.raises(ap.UnsupportedArrayError, match=r"^argument 'm' of f is"):
        check_inputs("f", [plain, masked], lambda i: "argument 'm' of f")


def test_whole_slices_keeps_the_caller_s_chunks_along_axis_0() -> None:
    # {0: "auto"} merged one-slice blocks into one block of 8 slices, undoing
    # x.rechunk({0: 1}), the remedy arrayport's own out-of-memory note gives.
    import dask
    import dask.array as da

    from arrayport._dask_checks import whole_slices

    ones = whole_slices("f", [da.zeros((8, 4, 4), chunks=(1, 2, 2))], True)[0]
    assert ones.chunks == ((1,) * 8, (4,), (4,))
    uneven = whole_slices("f", [da.zeros((8, 4, 4), chunks=((3, 0, 5), 2, 2))], True)[0]
    assert uneven.chunks == ((3, 0, 5), (4,), (4,))
    # Split along axis 0 only where whole slices would pass array.chunk-size: 8 KiB
    # slices, 20 KiB blocks hold 2.
    with dask.config.set({"array.chunk-size": "20KiB"}):
        x = da.zeros((7, 32, 64), chunks=((5, 1, 1), 16, 64), dtype=np.float32)
        [fit, mask] = whole_slices("f", [x, x.astype(bool)], True)
    assert fit.chunks == ((2, 2, 1, 1, 1), (32,), (64,))
    assert mask.chunks == fit.chunks  # the first's blocks, whatever the dtype


@pytest.mark.parametrize("dtype", ["datetime64[s]", "O", "U3", "i4,f8"])
def test_blocks_that_hold_no_numbers_are_refused_at_the_call_and_every_dtype_is_asked(
    dtype: str,
) -> None:
    # Before, the call was accepted and compute() raised (on a worker, under distributed);
    # and such a first argument ended the check, so a later float8 one was never asked.
    import dask.array as da

    pytest.importorskip("torch")
    ml_dtypes = pytest.importorskip("ml_dtypes")

    @ap.memory_type("torch", blockwise=True)
    def ft(x, y):
        return x

    odd = da.from_array(np.zeros(4, dtype), chunks=2)
    f8 = da.from_array(np.zeros(4, ml_dtypes.float8_e4m3fn), chunks=2)
    real = da.from_array(np.zeros(4, np.float32), chunks=2)
    with pytest.raises(ap.UnsupportedArrayError, match=r"ft runs in torch.*hold no numbers"):
        ft(real, odd)
    with pytest.raises(ap.ArrayportError, match="ft runs in torch"):
        ft(odd, f8)


def test_blocks_that_hold_no_numbers_are_refused_whatever_is_imported() -> None:
    from tests.conftest import python_c

    out = python_c(
        "import sys, numpy as np, dask.array as da\n"
        "from arrayport._dask_checks import check_dtypes\n"
        "from arrayport import MemoryType, UnsupportedArrayError\n"
        "for mt in (MemoryType.TENSORFLOW, MemoryType.JAX):\n"
        "    try:\n"
        "        check_dtypes('f', mt, [da.zeros(4, dtype='M8[s]', chunks=2)])\n"
        "    except UnsupportedArrayError as exc:\n"
        "        print('refused', 'hold no numbers' in str(exc))\n"
        "check_dtypes('f', MemoryType.NUMPY, [da.zeros(4, dtype='M8[s]', chunks=2)])\n"
        "print('tensorflow' in sys.modules, 'jax' in sys.modules)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["refused", "True", "refused", "True", "False", "False"]


def test_whole_array_is_not_recommended_for_reductions() -> None:
    # The message said "whole_array=True (one block: reductions, ...)", and a reduction
    # declared so is then refused: on dask input a function keeps its input's shape.
    import dask.array as da

    @ap.memory_type("numpy")
    def f(x):
        return x

    with pytest.raises(ap.BlockRuleError) as info:
        f(da.zeros((8, 8), chunks=4))
    assert "one block: reductions" not in str(info.value)
    assert "a reduction needs x.compute() first" in str(info.value)


def test_a_kernel_refused_beside_a_halo_is_told_which_axis_and_block_halo_included() -> None:
    # A (3, 3) kernel beside depth=1 on chunks of 4 (10 = 4 + 4 + 2): the last block with
    # its halo is 3 long; the message said "no block has that extent" while x.chunks shows
    # none of 3.
    import dask.array as da

    from arrayport._dask_checks import check_whole_args

    x = da.zeros((10, 10), chunks=4)
    blocks = _overlapped(x, {0: 1, 1: 1})
    with pytest.raises(InvalidOptionError) as info:
        check_whole_args("f", x, [np.ones((3, 3))], x, blocks)
    msg = str(info.value)
    assert "a block is 3 long along axis 0, halo included" in msg
    assert "(chunks (4, 4, 2), with their halos (5, 6, 3))" in msg
    assert "along axis 1" in msg
    # Without a halo the chunks are the blocks.
    with pytest.raises(InvalidOptionError, match=r"a block is 2 long along axis 0 \(chunks "):
        check_whole_args("f", x, [np.ones((2, 1))], x, x)


def test_a_stencil_sized_argument_beside_a_halo_stays_refused() -> None:
    # Why the rule is kept for arguments no longer than 2 * depth + 1: on a (4, 4) array in
    # chunks of 2 with depth=1 every block is 3 x 3, so `x * k` with a (3, 3) k would run on
    # every block where numpy raises on the whole array, and join values numpy never gives.
    import dask.array as da

    @ap.memory_type("numpy", depth=1)
    def scale(x, k):
        return x * k

    with pytest.raises(ValueError, match="broadcast"):
        scale(np.ones((4, 4)), np.ones((3, 3)))
    with pytest.raises(InvalidOptionError, match="a block is 3 long along axis 0"):
        scale(da.ones((4, 4), chunks=2), np.ones((3, 3)))
