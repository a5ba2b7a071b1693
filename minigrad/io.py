"""Checkpoints: save and load state dicts as safetensors files.

safetensors is a simple, safe format (a JSON header of names, dtypes, shapes
and offsets, then the raw bytes): unlike pickle, loading one cannot run code,
and PyTorch and Hugging Face read it too.

    mg.save(model.state_dict(), "model.safetensors", metadata={"step": "100"})
    model.load_state_dict(mg.load("model.safetensors"))

A save never leaves a broken file behind: the bytes go to a temporary file in
the same folder, are flushed to disk (fsync), and only then renamed over the
target. A rename within one file system is atomic, so whenever the process
dies, the path holds either the old checkpoint or the new one, never half.
Saving through a symbolic link writes the file it points to (the link stays),
and an overwritten file keeps its permission bits.
"""
import os
import stat
from pathlib import Path

import safetensors
import safetensors.numpy

from minigrad.tensor import Tensor


def save(state_dict, path, metadata=None):
    """Write {name: Tensor} (CPU or CUDA) to path, atomically; metadata is an optional {str: str}."""
    if not isinstance(state_dict, dict):
        raise TypeError(f"save: expected a state dict {{name: Tensor}} such as model.state_dict(), "
                        f"got {type(state_dict).__name__}")
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str) or not isinstance(value, Tensor):
            raise TypeError(f"save: expected {{str: Tensor}}, got {type(name).__name__} -> {type(value).__name__}")
        array = value.numpy()  # on the host
        # safetensors writes the raw memory, so it must be one C-ordered block
        arrays[name] = array if array.flags.c_contiguous else array.copy(order="C")
    for key, text in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(text, str):
            raise TypeError(f"save: metadata must map str to str, got {key!r}: {text!r}")
    write_atomically(Path(path), safetensors.numpy.save(arrays, metadata=metadata))


def write_atomically(path, data):
    """Write data to path via a temporary file and a rename: the old file stays whole until the end."""
    # a rename replaces a link itself: rename onto the file it points to instead, from a temporary
    # file next to that file, as a rename across file systems would not be atomic
    path = path.resolve()
    check_not_a_directory(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None  # a new file: the temporary's mode (from the umask) is what open() would give
    try:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the name points at them
        if mode is not None:
            os.chmod(temporary, mode)  # the new file replaces the old one, its permissions would not stay
        os.replace(temporary, path)
    except BaseException:  # also Ctrl-C: clean up, then let it through
        temporary.unlink(missing_ok=True)
        raise
    if os.name == "posix":  # make the rename itself durable
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def load(path, device="cpu"):
    """Read a safetensors file into {name: Tensor} on device; a damaged file is a clear ValueError."""
    check_not_a_directory(path)
    try:
        arrays = safetensors.numpy.load_file(path)
    except safetensors.SafetensorError as error:
        raise damaged(path, error) from None
    return {name: Tensor(array, device=device) for name, array in arrays.items()}


def check_not_a_directory(path):
    if os.path.isdir(path):  # safetensors would report only "No such device"
        raise IsADirectoryError(f"{path} is a directory, expected a safetensors checkpoint file")


def damaged(path, error):
    return ValueError(f"{path} is not a readable safetensors checkpoint (truncated or corrupt?): {error}")


def load_metadata(path):
    """The {str: str} metadata saved with the checkpoint at path ({} if none), without reading the tensors."""
    check_not_a_directory(path)
    try:
        with safetensors.safe_open(path, framework="np") as file:
            return file.metadata() or {}
    except safetensors.SafetensorError as error:
        raise damaged(path, error) from None
