"""Checkpoints: save and load state dicts as safetensors files.

safetensors is a simple, safe format (a JSON header of names, dtypes, shapes
and offsets, then the raw bytes): unlike pickle, loading one cannot run code,
and PyTorch and Hugging Face read it too.

    mg.save(model.state_dict(), "model.safetensors", metadata={"step": "100"})
    model.load_state_dict(mg.load("model.safetensors"))

A nested checkpoint, as PyTorch code saves with torch.save, works too:

    mg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, "ckpt.safetensors")
    ckpt = mg.load("ckpt.safetensors")  # the same dicts, lists and numbers back (tuples come back as lists)

Its tensors are stored under their paths ("model.weight", "optimizer.state.0.exp_avg"),
and the shape of the rest as JSON in the file's metadata: still a plain safetensors file,
and no pickle, so loading it runs no code.

A save never leaves a broken file behind: the bytes go to a temporary file in
the same folder, are flushed to disk (fsync), and only then renamed over the
target. A rename within one file system is atomic, so whenever the process
dies, the path holds either the old checkpoint or the new one, never half.
A temporary file left by a writer that was killed outright (SIGKILL) is deleted
by the next save to the same path.
Saving through a symbolic link writes the file it points to (the link stays),
and an overwritten file keeps its permission bits.
"""
import glob
import json
import os
import stat
from pathlib import Path

import safetensors
import safetensors.numpy

from minigrad.tensor import Tensor


TREE = "minigrad.tree"  # the metadata key that holds a nested checkpoint's structure


def save(state_dict, path, metadata=None):
    """Write {name: Tensor} (CPU or CUDA) to path, atomically; metadata is an optional {str: str}.
    A dict that nests dicts, lists and numbers around its tensors is saved too (see the top)."""
    if not isinstance(state_dict, dict):
        raise TypeError(f"save: expected a state dict {{name: Tensor}} such as model.state_dict(), "
                        f"got {type(state_dict).__name__}")
    for key, text in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(text, str) or key == TREE:
            raise TypeError(f"save: metadata must map str to str (other than {TREE!r}), got {key!r}: {text!r}")
    tensors, metadata = {}, dict(metadata or {})
    if all(isinstance(k, str) and isinstance(v, Tensor) for k, v in state_dict.items()):
        tensors = state_dict  # flat: the safetensors file any framework reads as {name: tensor}
    else:
        metadata[TREE] = json.dumps(tree(state_dict, [], tensors))
    arrays = {}
    for name, value in tensors.items():
        if name == "__metadata__":  # the header's own entry: a tensor there makes a file no reader takes
            raise ValueError("save: '__metadata__' is the name safetensors keeps for a file's metadata; rename that key")
        array = value.numpy()  # on the host
        # safetensors writes the raw memory, so it must be one C-ordered block
        arrays[name] = array if array.flags.c_contiguous else array.copy(order="C")
    write_atomically(Path(path), safetensors.numpy.save(arrays, metadata=metadata or None))


def tree(value, path, tensors):
    """value as JSON, each tensor replaced by its name in `tensors` (where it is put): its path."""
    where = ".".join(map(str, path))
    if isinstance(value, Tensor):
        if where in tensors:
            raise ValueError(f"save: two tensors would be stored as {where!r}; rename one of the keys")
        tensors[where] = value
        return {"tensor": where}
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"save: keys must be str or int, got {key!r} ({type(key).__name__}) "
                                f"in {where or 'the dict'}")
        return {"dict": [[key, tree(item, path + [key], tensors)] for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"list": [tree(item, path + [i], tensors) for i, item in enumerate(value)]}
    if value is None or isinstance(value, (str, int, float, bool)):
        return {"value": value}
    raise TypeError(f"save: {where or 'the value'} is a {type(value).__name__}; a checkpoint holds tensors, "
                    "numbers, strings, None, and dicts and lists of them")


def untree(node, tensors):
    """The inverse of tree: JSON and stored tensors -> the nested value."""
    if "tensor" in node:
        return tensors[node["tensor"]]
    if "dict" in node:
        return {key: untree(item, tensors) for key, item in node["dict"]}
    if "list" in node:
        return [untree(item, tensors) for item in node["list"]]
    return node["value"]


def write_atomically(path, data):
    """Write data to path via a temporary file and a rename: the old file stays whole until the end."""
    # a rename replaces a link itself: rename onto the file it points to instead, from a temporary
    # file next to that file, as a rename across file systems would not be atomic
    path = path.resolve()
    check_not_a_directory(path)
    # the temporary file would fail first, under a name the caller never gave
    if path.parent.exists() and not path.parent.is_dir():
        raise NotADirectoryError(f"cannot write {path}: {path.parent} is a file, expected a folder there")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist; create it first")
    remove_abandoned_temporaries(path)
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
    except OSError as error:  # no permission, a full disk: named by the path asked for, not the temporary's
        temporary.unlink(missing_ok=True)
        message = f"cannot write {path}: {error.strerror or error}; the file there, if any, is as it was"
        # with its errno, OSError comes back as the same subclass (PermissionError, ...)
        raise (OSError(error.errno, message) if error.errno else OSError(message)) from None
    except BaseException:  # also Ctrl-C: clean up, then let it through
        temporary.unlink(missing_ok=True)
        raise
    if os.name == "posix":  # make the rename itself durable
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def remove_abandoned_temporaries(path):
    """Delete the temporaries of earlier writes to path whose writer is gone. A writer killed outright
    (SIGKILL, the out-of-memory killer) cannot clean up, and its `.name.PID.tmp`, as large as the
    checkpoint, would stay beside it for good. A temporary whose PID names a process on this machine is
    kept: a write in progress. Best effort: whatever stops a deletion does not stop the save."""
    if os.name != "posix":  # os.kill(pid, 0) asks whether a process lives only on POSIX (on Windows it kills)
        return
    for temporary in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = temporary.name[len(path.name) + 2:-len(".tmp")]
        if pid.isdigit() and not process_is_alive(int(pid)):
            try:
                temporary.unlink()
            except OSError:  # removed by another writer first, a folder of that name, another user's file
                pass


def process_is_alive(pid):
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only whether the process exists is checked
    except (ProcessLookupError, OverflowError):  # no such process; a number too large to be a pid
        return False
    except PermissionError:  # it exists, run by another user
        return True
    return True


def load(path, device="cpu", map_location=None, weights_only=True):
    """Read a safetensors file into {name: Tensor} on device; a damaged file is a clear ValueError.

    map_location is PyTorch's name for device ("cpu", "cuda", mg.device(...)), so that
    `torch.load(path, map_location=device)` ports as it is. weights_only is accepted and changes
    nothing: a safetensors file holds only tensors and plain values, so loading never runs code."""
    if map_location is not None:
        if not isinstance(map_location, str):  # PyTorch also takes a dict or a function: renaming devices
            raise TypeError(f"load: map_location must name a device ('cpu' or 'cuda'), got "
                            f"{type(map_location).__name__}; minigrad has one of each, so there is nothing to remap")
        device = map_location
    structure = load_metadata(path).get(TREE)  # also names a folder, a torch.save pickle, another format or a damaged header
    try:
        arrays = safetensors.numpy.load_file(path)
    except safetensors.SafetensorError as error:  # e.g. a file cut short after its header
        raise damaged(path, error) from None
    except (TypeError, AttributeError) as error:  # BF16 or F8 tensors (Hugging Face files): NumPy has no such dtype
        raise ValueError(f"{path} holds tensors of a dtype NumPy cannot hold (bfloat16 or float8): {error}; "
                         "convert the file to float32 first (in PyTorch: {k: v.float() for k, v in ...})") from None
    tensors = {name: Tensor(array, device=device) for name, array in arrays.items()}
    if structure is None:
        return tensors
    try:
        return untree(json.loads(structure), tensors)
    except (ValueError, KeyError, TypeError, IndexError) as error:  # an edited or cut metadata entry
        raise damaged(path, f"its {TREE!r} entry, which says how the tensors nest, does not read ({error!r})") from None


def check_format(path):
    """A file that is not safetensors at all is named as what it is, before safetensors reads its first 8
    bytes as a header length and reports only "header too large". A file torch.save wrote (a zip archive of
    pickles; before PyTorch 1.6 a bare pickle that starts with its magic number) is named as one: reading it
    would mean running pickled code, which minigrad never does."""
    with open(path, "rb") as file:
        start = file.read(9)
    if start[:4] in (b"PK\x03\x04", b"\x80\x02\x8a\x0a"):  # zip's signature; pickle protocol 2, then a 10-byte long
        raise ValueError(f"{path} is a zip archive or a pickle (a PyTorch torch.save checkpoint, most likely; NumPy's "
                         ".npz is a zip too), and minigrad reads safetensors only (loading a pickle can run code). "
                         "Convert it where PyTorch is installed: "
                         "safetensors.torch.save_file(torch.load(PATH), 'model.safetensors') for a state dict")
    # the safetensors format: the header's length (8 bytes), then the header, a JSON object; a shorter
    # file is one cut short, which safetensors names as such
    if len(start) == 9 and start[8:] != b"{":
        raise damaged(path, f"it starts with {start!r}, where a safetensors file starts with the 8-byte length "
                            "of its JSON header, then '{' (a file of another kind, such as a CSV or an image?)")


def check_not_a_directory(path):
    if os.path.isdir(path):  # safetensors would report only "No such device"
        raise IsADirectoryError(f"{path} is a directory, expected a safetensors checkpoint file")


def damaged(path, error):
    return ValueError(f"{path} is not a readable safetensors checkpoint (truncated or corrupt?): {error}")


def load_metadata(path):
    """The {str: str} metadata saved with the checkpoint at path ({} if none), without reading the tensors."""
    check_not_a_directory(path)
    check_format(path)
    try:
        with safetensors.safe_open(path, framework="np") as file:
            return file.metadata() or {}
    except safetensors.SafetensorError as error:
        raise damaged(path, error) from None
