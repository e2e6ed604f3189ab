"""Tests of the name tracking: what each name holds, scope by scope, as the walk goes."""

from __future__ import annotations

import ast
import textwrap

from arrayport.portcheck import check_source, standard
from arrayport.portcheck._scopes import ScopeTracker


class _Probe(ScopeTracker):
    """Records, at each ``probe(a, b, ...)`` call, what each argument name holds there."""

    def __init__(self) -> None:
        super().__init__(standard())
        self.seen: list[dict[str, str | None]] = []

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id == "probe":
            self.seen.append(
                {a.id: self._kind_of_name(a.id) for a in node.args if isinstance(a, ast.Name)}
            )
        self.generic_visit(node)


def walk(source: str) -> _Probe:
    tree = ast.parse(textwrap.dedent(source))
    tracker = _Probe()
    tracker.collect(tree)
    tracker.visit(tree)
    return tracker


def kinds(source: str) -> list[dict[str, str | None]]:
    """What the names given to each ``probe(...)`` call hold there, in walk order."""
    return walk(source).seen


def test_collect_reads_module_imports_and_classes_anywhere_in_the_file() -> None:
    tracker = walk(
        """
        import numpy as xnp, json
        import numpy.linalg
        import numpy.fft as nf
        import os.path
        def f():
            from numpy import pad as p, concatenate
            from scipy import ndimage
            from numpy import *
            from . import sibling
        class Stats:
            class Inner:
                pass
        class Grid(xnp.ndarray):
            pass
        """
    )
    # A function's numpy imports are its own (they bind in its scope), not the file's.
    assert tracker.aliases == {"xnp": "numpy", "numpy": "numpy", "nf": "numpy.fft"}
    assert tracker.modules == {"json", "os", "ndimage", "sibling"}
    assert tracker.classes == {"Stats", "Inner"}  # Grid subclasses ndarray


def test_resolve_follows_aliases_through_attributes() -> None:
    tracker = walk("import numpy as xnp\nfrom numpy import linalg\n")
    resolve = tracker.resolve
    assert resolve(ast.parse("xnp.random.rand", mode="eval").body) == "numpy.random.rand"
    assert resolve(ast.parse("linalg.norm", mode="eval").body) == "numpy.linalg.norm"
    assert resolve(ast.parse("np.sum", mode="eval").body) is None  # np is not bound here
    assert resolve(ast.parse("xnp.zeros(3).T", mode="eval").body) is None


def test_assignment_records_what_the_value_is() -> None:
    source = """
        import numpy as np
        import array_api_compat
        class Stats:
            pass
        a = np.zeros(3)
        b = -a[0] + 1
        c = a.reshape((3, 1))
        d = x.dtype
        e = np.result_type(a, 1)
        ns = array_api_compat.array_namespace(a)
        s = Stats()
        rng = np.random.default_rng(0)
        info = np.finfo(a.dtype)
        other = {}
        t = u = np.ones(2)
        probe(a, b, c, d, e, ns, s, rng, info, other, t, u, never_bound)
        """
    assert kinds(source) == [
        {
            "a": "array",
            "b": "array",
            "c": "array",
            "d": "dtype",
            "e": "dtype",
            "ns": "namespace",
            "s": "object",
            "rng": None,
            "info": None,
            "other": None,
            "t": "array",
            "u": "array",
            "never_bound": None,
        }
    ]


def test_rebinding_replaces_the_kind() -> None:
    source = """
        import numpy as np
        a = np.zeros(3)
        probe(a)
        a = [3, 1]
        probe(a)
        a = np.asarray(a)
        probe(a)
        """
    assert kinds(source) == [{"a": "array"}, {"a": None}, {"a": "array"}]


def test_unpacking_an_array_gives_arrays_but_unpacking_a_dtype_does_not() -> None:
    source = """
        import numpy as np
        first, (second, *rest) = np.zeros((3, 2))
        k, v = x.dtype
        (w) = x.dtype
        probe(first, second, rest, k, v, w)
        """
    assert kinds(source) == [
        {"first": "array", "second": "array", "rest": "array", "k": None, "v": None, "w": "dtype"}
    ]


def test_annotations_give_the_kind() -> None:
    source = """
        import numpy as np
        import numpy.typing as npt
        class Stats:
            pass
        a: np.ndarray
        b: npt.NDArray[np.float64] = load()
        c: "list[int]" = np.zeros(3)
        n: list[int] = [3, 1]
        s: Stats = make()
        z = np.zeros(3)
        z: int
        probe(a, b, c, n, s, z)
        """
    # An annotation without a value and without a known kind leaves z as it was.
    assert kinds(source) == [
        {"a": "array", "b": "array", "c": "array", "n": None, "s": "object", "z": "array"}
    ]


def test_parameters_take_their_annotations_kind() -> None:
    source = """
        import numpy as np
        class Stats:
            pass
        a = np.zeros(3)
        def f(a, /, b: np.ndarray, *c, d: Stats, e=a, **kw):
            probe(a, b, c, d, e, kw)
        g = lambda a: probe(a)
        """
    assert kinds(source) == [
        {"a": None, "b": "array", "c": None, "d": "object", "e": None, "kw": None},
        {"a": None},
    ]


def test_defaults_decorators_and_annotations_are_read_in_the_enclosing_scope() -> None:
    source = """
        import numpy as np
        a = np.zeros(3)
        @probe(a)
        def f(a=probe(a)) -> probe(a):
            a = 1
        """
    assert kinds(source) == [{"a": "array"}] * 3


def test_walrus_binds_and_in_a_comprehension_binds_in_the_function() -> None:
    source = """
        import numpy as np
        def f(x):
            if (c := np.asarray(x)) is not None:
                probe(c)
            ys = [(e := np.zeros(2)) for _ in x]
            probe(e)
            if (n := len(x)) > 1:
                probe(n)
        """
    assert kinds(source) == [{"c": "array"}, {"e": "array"}, {"n": None}]


def test_loop_with_except_and_match_targets_hold_unknown_values() -> None:
    source = """
        import numpy as np
        a = b = c = d = e = f = g = np.zeros(3)
        for a, (b, *c) in pairs:
            probe(a, b, c)
        with open(p) as d, lock:
            probe(d)
        try:
            pass
        except OSError as e:
            probe(e)
        match command:
            case [f, *g]:
                probe(f, g)
        probe(a, d, e, f, g)
        """
    assert kinds(source) == [
        {"a": None, "b": None, "c": None},
        {"d": None},
        {"e": None},
        {"f": None, "g": None},
        dict.fromkeys("adefg"),
    ]


def test_match_mapping_rest_and_capture_bind() -> None:
    source = """
        import numpy as np
        h = rest = np.zeros(3)
        match command:
            case {"x": h, **rest}:
                probe(h, rest)
        """
    assert kinds(source) == [{"h": None, "rest": None}]


def test_comprehension_variables_stay_in_the_comprehension() -> None:
    source = """
        import numpy as np
        x = np.zeros(3)
        ys = [probe(x) for x in items]
        zs = {k: probe(x) for k in probe(x) for x in k}
        probe(x)
        """
    # The first iterable is evaluated outside the comprehension; later ones inside it.
    assert kinds(source) == [{"x": None}, {"x": "array"}, {"x": None}, {"x": "array"}]


def test_a_comprehension_in_a_class_body_sees_class_names_only_in_its_first_iterable() -> None:
    source = """
        import numpy as np
        class C:
            b = np.ones(2)
            ys = [probe(b) for _ in probe(b)]
        """
    assert kinds(source) == [{"b": "array"}, {"b": None}]


def test_a_local_hides_an_outer_array_before_and_after_its_binding() -> None:
    source = """
        import numpy as np
        data = np.zeros(3)
        def f():
            probe(data)
            data = {}
            probe(data)
        def g():
            probe(data)
        def h():
            import data
            probe(data)
        """
    assert kinds(source) == [{"data": None}, {"data": None}, {"data": "array"}, {"data": None}]


def test_nested_functions_see_enclosing_arrays_but_methods_do_not_see_class_names() -> None:
    source = """
        import numpy as np
        def outer():
            a = np.zeros(3)
            def inner():
                probe(a)
            class C:
                b = np.ones(2)
                probe(a, b)
                def m(self):
                    probe(a, b)
        """
    assert kinds(source) == [
        {"a": "array"},
        {"a": "array", "b": "array"},
        {"a": "array", "b": None},
    ]


def test_global_and_nonlocal_bind_in_the_declared_scope() -> None:
    source = """
        import numpy as np
        data = np.zeros(3)
        def rebinds_global():
            global data
            probe(data)
            data = {}
        probe(data)
        def outer():
            a = {}
            def inner():
                nonlocal a
                a = np.zeros(3)
                probe(a)
            probe(a)
        def lonely():
            def inner():
                nonlocal missing
                missing = np.zeros(3)
                probe(missing)
        """
    assert kinds(source) == [
        {"data": "array"},
        {"data": None},
        {"a": "array"},
        {"a": "array"},
        {"missing": None},
    ]


def test_defining_a_function_or_class_binds_its_name() -> None:
    source = """
        import numpy as np
        f = C = np.zeros(3)
        def f():
            pass
        class C:
            pass
        probe(f, C)
        """
    assert kinds(source) == [{"f": None, "C": None}]


def test_scopes_are_left_as_the_walk_leaves_them() -> None:
    tracker = walk(
        """
        import numpy as np
        a = np.zeros(3)
        def f(b: np.ndarray):
            c = [b for b in range(3)]
            return lambda d: d
        class C:
            e = np.ones(2)
        """
    )
    assert len(tracker.scopes) == 1
    module = tracker.scopes[0]
    assert module.kind == "module"
    assert module.names == {"a": "array", "f": None, "C": None}


def test_a_local_name_hides_the_files_numpy_alias() -> None:
    # Names are scoped as Python scopes them: a parameter, assignment or loop variable
    # called np is not numpy there, nor is another module imported as np; an import of
    # numpy inside the function still is.
    from arrayport.portcheck import check_source

    cases = {
        "import numpy as np\ndef f(np):\n    return np.concatenate(x)\n": [],
        "import numpy as np\ndef f():\n    np = other\n    return np.amax(x)\n": [],
        "import numpy as np\ny = [np.amax(v) for np in z]\n": [],
        "import numpy as np\ng = lambda np: np.amax(1)\n": [],
        "def f():\n    import numpy as np\n    return np.amax(x)\n": ["numpy.amax"],
        "import numpy as np\ndef f(np):\n    pass\nnp.amax(x)\n": ["numpy.amax"],
        "import numpy as np\ndef f():\n    global np\n    return np.amax(x)\n": ["numpy.amax"],
        # Another module imported as np in a function hides numpy there, not elsewhere.
        "import numpy as np\ndef f():\n    from scipy import sparse as np\n"
        "    return np.csr_matrix(x)\ndef g():\n    return np.amax(x)\n": ["numpy.amax"],
        "import numpy as np\ndef f():\n    import numpy, scipy as np\n"
        "    return np.amax(x), numpy.amax(x)\n": ["numpy.amax"],
        # A function's own numpy import is its own: it neither leaks into other functions
        # nor replaces the file's alias there ("numpy.random.sum" was reported in k).
        "import numpy as np\ndef h():\n    import numpy.random as np\n    return np.rand(3)\n"
        "def k(x):\n    return np.sum(x)\n": ["numpy.random.rand"],
        "import numpy as np\ndef g(x):\n    from scipy import sparse as np\n    return np\n"
        "def h():\n    import numpy.random as np\n    return np\n": ["numpy.random"],
        "import numpy as np\ndef f(x):\n    from numpy import linalg as np\n"
        "    return np.norm(x)\ndef k(x):\n    return np.linalg.vector_norm(x)\n": [
            "numpy.linalg.norm"
        ],
    }
    for source, names in cases.items():
        assert [f.name for f in check_source(source)] == names, source


def test_parameters_named_xp_or_namespace_hold_a_namespace() -> None:
    # def f(x, namespace): namespace.sum(x) was taken for ndarray.sum: the parameter's
    # kind was unknown, where xp was recognised by its name alone.
    source = """
        import numpy as np
        def f(x, namespace, *, xp=None):
            probe(x, namespace, xp)
        def g(namespace: np.ndarray):
            probe(namespace)
        h = lambda namespace: probe(namespace)
        """
    assert kinds(source) == [
        {"x": None, "namespace": "namespace", "xp": "namespace"},
        {"namespace": "array"},
        {"namespace": "namespace"},
    ]


def test_numpy_through_a_conditional_a_default_or_get_array_module_is_followed() -> None:
    # xp = cp if ... else np, def f(x, lib=np) and cupy.get_array_module(x) were not
    # followed: their non-standard functions passed silently (lib.mean was ndarray.mean).
    from arrayport.portcheck import check_source

    source = """
        import numpy as np
        import cupy
        try:
            import cupy as cp
        except ImportError:
            cp = None
        xp = cp if cp is not None else np

        def smooth(x):
            return xp.concatenate([x[:1], x, x[-1:]])

        def center(x, lib=np):
            return x - lib.mean(x, 0)

        def both(x, *, xq=np):
            return xq.concatenate([x, x]), xq.sum(x, axis=0)

        def gpu(x):
            xr = cupy.get_array_module(x)
            return xr.concatenate([x, x])

        def other(x, lib=None):
            return lib.concatenate([x])
        """
    found = [(f.line, f.name) for f in check_source(textwrap.dedent(source))]
    assert found == [
        (11, "numpy.concatenate"),
        (14, "numpy.mean(positional)"),
        (17, "numpy.concatenate"),
        (21, "numpy.concatenate"),
    ]
    tracker = walk(source)
    assert tracker.aliases["xp"] == "numpy"


def test_a_numpy_default_rebound_or_a_get_array_module_not_cupys_is_not_numpy() -> None:
    # def f(a, xp=np): xp = array_namespace(a) made xp.linalg.pinv a NumPy call, and any
    # function named get_array_module (the file's own) was taken for CuPy's.
    from arrayport.portcheck import check_source

    source = """
        import numpy as np
        from array_api_compat import array_namespace

        def get_array_module(x):
            return array_namespace(x)

        def f(a, xp=np):
            xp = array_namespace(a)
            return xp.linalg.pinv(a)

        def g(a):
            xq = get_array_module(a)
            return xq.linalg.pinv(a)

        def h(a, xr=np):
            return xr.concatenate([a])
        """
    found = [(f.line, f.name) for f in check_source(textwrap.dedent(source))]
    assert found == [(17, "numpy.concatenate")]


def _found(source: str) -> list[tuple[int, str]]:
    return [(f.line, f.name) for f in check_source(textwrap.dedent(source))]


def test_a_module_level_definition_replaces_a_numpy_import_of_its_name() -> None:
    # from numpy import concatenate, then def concatenate(...): calls of the module's own
    # function were reported as numpy.concatenate, and trapz = np.trapezoid as numpy.trapz.
    source = """
        from numpy import concatenate, trapz, pad
        import numpy as np
        pad(a, 1)
        def concatenate(xs):
            return sum(xs, [])
        trapz = np.trapezoid
        class pad:
            pass
        def f(a, b):
            return concatenate([a, b]), trapz(a), pad()
        try:
            from numpy import cov
        except ImportError:
            def cov(m):
                return m
        c = cov(a)
        """
    assert _found(source) == [(4, "numpy.pad"), (7, "numpy.trapezoid"), (17, "numpy.cov")]
    # A function's global declaration rebinding the name does not drop the module's alias.
    source = """
        import numpy as np
        def g():
            global np
            np = None
        def h(a):
            return np.concatenate(a)
        """
    assert _found(source) == [(7, "numpy.concatenate")]


def test_names_from_a_numpy_star_import_are_followed() -> None:
    # Only the import line was reported; concatenate((x, x)), zeros(3, dtype="float32")
    # and array([1, 2]) after it were not.
    source = """
        from numpy import *
        from numpy.linalg import *
        e = 2
        def f(x, pi):
            c = concatenate((x, x))
            w = zeros(3, dtype="float32")
            q = array([1, 2])
            n = norm(x)
            s = sum(x) + round(x, 2) + pi + e  # builtins, a parameter, the module's own
            return c, w, q, n, s
        """
    assert _found(source) == [
        (2, "from numpy import *"),
        (3, "from numpy.linalg import *"),
        (6, "numpy.concatenate"),
        (7, "numpy.zeros(dtype='float32')"),
        (8, "numpy.array"),
        (9, "numpy.linalg.norm"),
    ]
    # Another library's star import may rebind any of them: none is followed.
    assert _found("from numpy import *\nfrom pylab import *\nc = concatenate(x)\n") == [
        (1, "from numpy import *")
    ]
