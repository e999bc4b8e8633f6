"""MATLAB MAT-files: format detection, small variables, and big arrays read piece by piece.

Small variables (sampling rates, labels, structs, cells) go through
:func:`scipy.io.loadmat` (v5/v6/v7) or :mod:`h5py` (v7.3). A large numeric array
is read one slice of its last axis at a time (one NMED-T participant, 36 MB)
instead of whole (720 MB), because :func:`scipy.io.loadmat` can only return a
variable in full: that keeps a loader's peak memory near the size of what it
returns and lets it skip the participants nobody asked for. For v5 files the
slices are located with the MAT-file v5 element layout (MathWorks, "MAT-File
Format", 2023): a 128-byte header, then one tagged ``miMATRIX`` (or
zlib-compressed ``miCOMPRESSED``) element per variable holding the array flags,
dimensions, name and the column-major data.
"""

import struct
import zlib
from pathlib import Path

import numpy as np

MAT_V5 = "5"
MAT_V73 = "7.3"

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MI_INT8, _MI_INT32, _MI_UINT32 = 1, 5, 6
_MI_MATRIX, _MI_COMPRESSED = 14, 15
_MI_DTYPES = {
    1: "i1",
    2: "u1",
    3: "i2",
    4: "u2",
    5: "i4",
    6: "u4",
    7: "f4",
    9: "f8",
    12: "i8",
    13: "u8",
}
# mxCLASS ids of numeric arrays (double, single, int8 ... uint64).
_NUMERIC_CLASSES = {6: "double", 7: "single", 8: "int8", 9: "uint8", 10: "int16", 11: "uint16"}
_NUMERIC_CLASSES.update({12: "int32", 13: "uint32", 14: "int64", 15: "uint64"})
_CLASS_NAMES = {1: "cell", 2: "struct", 3: "object", 4: "char", 5: "sparse"}


def corrupt_error(path, detail):
    """The ValueError raised for an unreadable file (names the file and the fix)."""
    return ValueError(
        f"could not read {Path(path)}: {detail}. The file is truncated or corrupt; "
        "download it again (compare its size with the one on the download page)."
    )


def mat_version(path):
    """Detect the MAT-file version from the file header, not from its name.

    Parameters
    ----------
    path : str | Path

    Returns
    -------
    version : {"5", "7.3"}
        ``"5"`` for MATLAB v5/v6/v7 files (read by :func:`scipy.io.loadmat`),
        ``"7.3"`` for HDF5-based files (read by :mod:`h5py`).
    """
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(128)
        f.seek(512)
        hdf5_at_512 = f.read(8) == _HDF5_SIGNATURE
    if len(head) < 128:
        raise corrupt_error(path, f"only {len(head)} bytes, shorter than a MAT-file header")
    # v7.3 files are HDF5 with a 512-byte user block holding the MATLAB header text.
    if head.startswith(_HDF5_SIGNATURE) or hdf5_at_512 or b"MATLAB 7.3 MAT-file" in head[:116]:
        return MAT_V73
    if head[126:128] in (b"IM", b"MI"):
        return MAT_V5
    raise corrupt_error(path, "not a MATLAB v5/v7/v7.3 MAT-file (unrecognised header)")


def read_small(path, names, simplify=True):
    """Read variables (numbers, strings, structs, cells) by name, each in full.

    Parameters
    ----------
    path : str | Path
    names : sequence of str
        Variables to read; the others are skipped, not loaded.
    simplify : bool, default=True
        ``True``: as :func:`scipy.io.loadmat` returns them with
        ``simplify_cells=True`` (structs as dicts, cells as object arrays or
        lists, singleton dimensions squeezed); v7.3 files are converted to the
        same form. ``False``: loadmat's raw form (every cell and struct a 2-D
        array, indexed ``[0, 0]``), which keeps 1 x 1 cells nested (v5 only).

    Returns
    -------
    variables : dict
        The variables found; missing names are absent.
    """
    path = Path(path)
    if mat_version(path) == MAT_V73:
        return _read_small_h5(path, names)
    check_v5_complete(path)
    from scipy.io import loadmat

    try:
        options = dict(simplify_cells=True) if simplify else dict(squeeze_me=False)
        out = loadmat(path, variable_names=list(names), **options)
    except Exception as exc:  # scipy raises many types for damaged files
        raise corrupt_error(path, f"{type(exc).__name__}: {exc}") from exc
    return {k: v for k, v in out.items() if not k.startswith("__")}


def variable_shapes(path):
    """Names, shapes (MATLAB axis order) and classes of the variables of a MAT-file.

    Returns
    -------
    shapes : dict of str -> (tuple of int, str)
    """
    path = Path(path)
    if mat_version(path) == MAT_V73:
        import h5py

        out = {}
        try:
            with h5py.File(path, "r") as f:
                for name, obj in f.items():
                    if isinstance(obj, h5py.Dataset) and not name.startswith("#"):
                        cls = obj.attrs.get("MATLAB_class", b"")
                        cls = cls.decode() if isinstance(cls, bytes) else str(cls)
                        out[name] = (tuple(obj.shape[::-1]), cls)
                    elif isinstance(obj, h5py.Group) and not name.startswith("#"):
                        out[name] = ((1, 1), "struct")
        except OSError as exc:
            raise corrupt_error(path, f"{type(exc).__name__}: {exc}") from exc
        return out
    check_v5_complete(path)
    from scipy.io import whosmat

    try:
        return {name: (tuple(shape), cls) for name, shape, cls in whosmat(path)}
    except Exception as exc:
        raise corrupt_error(path, f"{type(exc).__name__}: {exc}") from exc


def iter_last_axis(path, name, indices):
    """Yield slices of a numeric array along its last (MATLAB) axis, one at a time.

    Only the requested slices are kept in memory; uncompressed v5 files and
    v7.3 files are read only where the requested slices lie.

    Parameters
    ----------
    path : str | Path
    name : str
        Variable name.
    indices : sequence of int
        Indices along the last axis, in increasing order.

    Yields
    ------
    index : int
    block : ndarray, shape (shape[:-1]) in MATLAB axis order
        The stored values (stored dtype); a new array each time.
    """
    path = Path(path)
    indices = [int(i) for i in indices]
    if indices != sorted(set(indices)):
        raise ValueError("indices must be increasing and unique.")
    if mat_version(path) == MAT_V73:
        yield from _iter_h5(path, name, indices)
    else:
        yield from _iter_v5(path, name, indices)


# ----------------------------------------------------------------------------- v7.3 (HDF5)


def _iter_h5(path, name, indices):
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise corrupt_error(path, f"{type(exc).__name__}: {exc}") from exc
    with f:
        if name not in f or not isinstance(f[name], h5py.Dataset):
            raise ValueError(f"{path} has no numeric variable {name!r}.")
        ds = f[name]
        # h5py sees MATLAB's column-major arrays with the axes reversed.
        n_last = ds.shape[0]
        for i in indices:
            if not 0 <= i < n_last:
                raise IndexError(f"index {i} out of range for {name} with {n_last} slices.")
            try:
                block = ds[i]
            except OSError as exc:
                raise corrupt_error(path, f"reading {name}: {exc}") from exc
            yield i, np.ascontiguousarray(block.T)


def _h5_class(obj):
    cls = obj.attrs.get("MATLAB_class", b"")
    return cls.decode() if isinstance(cls, bytes) else str(cls)


def _h5_to_python(f, obj):
    """Convert a v7.3 object to what ``loadmat(simplify_cells=True)`` would give."""
    import h5py

    if isinstance(obj, h5py.Group):
        return {k: _h5_to_python(f, v) for k, v in obj.items()}
    cls = _h5_class(obj)
    if obj.attrs.get("MATLAB_empty", 0):
        return np.array([])
    data = obj[()]
    if cls == "char":
        codes = np.asarray(data, dtype=np.uint16)
        if codes.ndim == 2 and codes.shape[1] > 1:  # char matrix: one string per MATLAB row
            return np.array(["".join(map(chr, row)) for row in codes.T])
        return "".join(map(chr, codes.ravel()))
    if cls == "cell" or data.dtype == h5py.ref_dtype:
        items = [_h5_to_python(f, f[ref]) for ref in np.asarray(data).T.ravel()]
        arr = np.empty(len(items), dtype=object)
        arr[:] = items
        return arr.reshape(np.asarray(data).T.shape).squeeze()
    arr = np.asarray(data).T.squeeze()
    return arr.item() if arr.ndim == 0 else arr


def _read_small_h5(path, names):
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return {n: _h5_to_python(f, f[n]) for n in names if n in f}
    except OSError as exc:
        raise corrupt_error(path, f"{type(exc).__name__}: {exc}") from exc


# ----------------------------------------------------------------------------- v5 / v7


class _FileStream:
    """Sequential reads from a byte range of a file that fail loudly when it ends early."""

    def __init__(self, f, path, end):
        self.f, self.path, self.end = f, path, end

    def read(self, n):
        data = self.f.read(n)
        if len(data) != n:
            raise corrupt_error(self.path, "the file ends in the middle of a variable")
        return data

    def readinto(self, buf):
        n = self.f.readinto(buf)
        if n != len(memoryview(buf).cast("B")):
            raise corrupt_error(self.path, "the file ends in the middle of a variable")

    def skip(self, n):
        self.f.seek(n, 1)


class _ZlibStream:
    """Sequential reads from a zlib-compressed element (``miCOMPRESSED``)."""

    _CHUNK = 1 << 20

    def __init__(self, f, path, n_compressed):
        self.f, self.path, self.left = f, path, n_compressed
        self.dec = zlib.decompressobj()
        self.buf = bytearray()

    def _fill(self, n):
        while len(self.buf) < n:
            if self.dec.unconsumed_tail:
                chunk = self.dec.unconsumed_tail
            else:
                if self.left <= 0:
                    raise corrupt_error(self.path, "a compressed variable ends early")
                chunk = self.f.read(min(self._CHUNK, self.left))
                if not chunk:
                    raise corrupt_error(self.path, "the file ends in a compressed variable")
                self.left -= len(chunk)
            try:
                self.buf += self.dec.decompress(chunk, max(n - len(self.buf), self._CHUNK))
            except zlib.error as exc:
                raise corrupt_error(self.path, f"zlib: {exc}") from exc

    def read(self, n):
        self._fill(n)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def readinto(self, buf):
        view = memoryview(buf).cast("B")
        pos = 0
        while pos < len(view):
            step = min(len(view) - pos, self._CHUNK)
            self._fill(step)
            view[pos : pos + step] = self.buf[:step]
            del self.buf[:step]
            pos += step

    def skip(self, n):
        while n > 0:
            step = min(n, self._CHUNK)
            self._fill(step)
            del self.buf[:step]
            n -= step


def _read_tag(stream, endian):
    """Read a data-element tag; returns (type, n_bytes, small_data or None)."""
    raw = stream.read(8)
    mtype, n_bytes = struct.unpack(endian + "II", raw)
    if mtype >> 16:  # small data element: type and size packed in 4 bytes, data in the other 4
        return mtype & 0xFFFF, mtype >> 16, raw[4 : 4 + (mtype >> 16)]
    return mtype, n_bytes, None


def _read_element(stream, endian):
    mtype, n_bytes, small = _read_tag(stream, endian)
    if small is not None:
        return mtype, small
    data = stream.read(n_bytes)
    stream.read((-n_bytes) % 8)  # elements are padded to 8 bytes
    return mtype, data


def _matrix_header(stream, endian, path):
    """Parse array flags, dimensions and name of an miMATRIX element."""
    mtype, flags = _read_element(stream, endian)
    if mtype != _MI_UINT32 or len(flags) < 8:
        raise corrupt_error(path, "malformed array flags")
    flag_word = struct.unpack(endian + "I", flags[:4])[0]
    mclass, is_complex = flag_word & 0xFF, bool(flag_word & 0x800)
    mtype, dims = _read_element(stream, endian)
    if mtype != _MI_INT32:
        raise corrupt_error(path, "malformed array dimensions")
    dims = struct.unpack(endian + f"{len(dims) // 4}i", dims)
    mtype, name = _read_element(stream, endian)
    if mtype != _MI_INT8:
        raise corrupt_error(path, "malformed array name")
    return name.decode("latin-1"), mclass, is_complex, tuple(dims)


def check_v5_complete(path):
    """Raise the corrupt-file ValueError unless every variable of a v5 file fits in it.

    :func:`scipy.io.loadmat` silently stops at the end of a truncated file; this
    reads only the 8-byte tag of each top-level variable.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(128)
        endian = "<" if head[126:128] == b"IM" else ">"
        pos = 128
        while pos < size:
            f.seek(pos)
            raw = f.read(8)
            if len(raw) < 8:
                raise corrupt_error(path, f"the file ends inside a variable tag at byte {pos}")
            mtype, n_bytes = struct.unpack(endian + "II", raw)
            if mtype not in (_MI_MATRIX, _MI_COMPRESSED):
                raise corrupt_error(path, f"unexpected element type {mtype} at byte {pos}")
            end = pos + 8 + n_bytes
            if end > size:
                raise corrupt_error(
                    path, f"a variable ends at byte {end} but the file has only {size} bytes"
                )
            pos = end


def _iter_v5(path, name, indices):
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(128)
        endian = "<" if head[126:128] == b"IM" else ">"
        pos = 128
        while True:
            if pos + 8 > size:
                raise ValueError(f"{path} has no variable {name!r}.")
            f.seek(pos)
            mtype, n_bytes, _ = _read_tag(_FileStream(f, path, size), endian)
            end = pos + 8 + n_bytes
            if mtype == _MI_COMPRESSED:
                stream = _ZlibStream(f, path, n_bytes)
                inner, _, _ = _read_tag(stream, endian)
            elif mtype == _MI_MATRIX:
                stream, inner = _FileStream(f, path, end), mtype
            else:
                raise corrupt_error(path, f"unexpected element type {mtype} at byte {pos}")
            if inner != _MI_MATRIX:
                raise corrupt_error(path, f"unexpected element type {inner} at byte {pos}")
            var, mclass, is_complex, dims = _matrix_header(stream, endian, path)
            if var == name:
                break
            pos = end
        if mclass not in _NUMERIC_CLASSES or is_complex:
            kind = "complex" if is_complex else _CLASS_NAMES.get(mclass, f"class {mclass}")
            raise ValueError(f"{name} in {path} is a {kind} array; expected a real numeric array.")
        dtype_id, n_data, small = _read_tag(stream, endian)
        if dtype_id not in _MI_DTYPES:
            raise corrupt_error(path, f"{name} has an unknown data type {dtype_id}")
        dtype = np.dtype(endian + _MI_DTYPES[dtype_id])
        n_values = int(np.prod(dims, dtype=np.int64))
        if n_data != n_values * dtype.itemsize:
            raise corrupt_error(path, f"{name} holds {n_data} bytes for shape {dims}")
        if mtype == _MI_MATRIX and f.tell() + n_data > size:
            raise corrupt_error(
                path, f"{name} needs {f.tell() + n_data} bytes but the file has {size}"
            )
        block_shape = dims[:-1]
        n_block = n_values // dims[-1] if dims[-1] else 0
        if small is not None:  # tiny arrays (<= 4 bytes) live inside the tag
            values = np.frombuffer(small, dtype).reshape(dims, order="F")
            for i in indices:
                yield i, values[..., i].copy()
            return
        done = 0  # slices consumed so far
        for i in indices:
            if not 0 <= i < dims[-1]:
                raise IndexError(f"index {i} out of range for {name} with {dims[-1]} slices.")
            stream.skip((i - done) * n_block * dtype.itemsize)
            block = np.empty(n_block, dtype)
            stream.readinto(block)
            done = i + 1
            yield i, block.reshape(block_shape, order="F")
