"""Datasets and batches, as torch.utils.data has them: a Dataset says how many examples there
are and gives the i-th; a DataLoader draws them in batches and stacks each batch into tensors.

    train = TensorDataset(X, y)                       # example i is (X[i], y[i])
    for xb, yb in DataLoader(train, batch_size=32, shuffle=True):
        loss = F.cross_entropy(model(xb), yb)

The loader runs in this process (num_workers is accepted and ignored: NumPy already keeps the
cores busy), shuffles with mg.randperm (seeded by mg.manual_seed, or by its own generator=), and
stacks a batch with default_collate: tensors are stacked along a new first dim, NumPy arrays and
scalars keep their dtype, Python ints become int64, floats float64 and bools bool tensors (as in
PyTorch), strings stay a list, and tuples, lists and dicts are collated field by field.
"""
import math
import numbers

import minigrad as mg
from minigrad import backend


class Dataset:
    """A map-style dataset: len(ds) examples, ds[i] the i-th. Subclass it and define both."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__ (and __len__)")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (and __getitem__)")


class TensorDataset(Dataset):
    """Example i is (t[i] for t in tensors): the tensors are the columns, their first dim the rows."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        sizes = [t.shape[0] if t.ndim else None for t in tensors]
        if len(set(sizes)) != 1 or sizes[0] is None:
            raise ValueError(f"TensorDataset: every tensor needs the same first dim (one row per example), "
                             f"got shapes {[tuple(t.shape) for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The examples of dataset at indices, in that order."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Shuffle dataset's indices once and cut them into Subsets of the given lengths: whole numbers
    that add up to len(dataset), or fractions that add up to 1 (each gets floor(fraction * n); the
    few left over go one each to the first subsets, as in PyTorch)."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1) \
            and all(0 <= x <= 1 for x in lengths):
        counts = [math.floor(n * fraction) for fraction in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if not all(isinstance(x, int) and x >= 0 for x in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} must be whole numbers adding up to the dataset's "
                         f"{n} examples, or fractions adding up to 1")
    order = mg.randperm(n, generator=generator).tolist()
    starts = [sum(lengths[:i]) for i in range(len(lengths))]
    return [Subset(dataset, order[start:start + length]) for start, length in zip(starts, lengths)]


def default_collate(batch):
    """A list of examples -> one batch of the same structure, each field stacked (see the top)."""
    first = batch[0]
    if isinstance(first, mg.Tensor):
        return mg.stack(list(batch))
    if isinstance(first, (str, bytes)):  # first: NumPy's strings (np.str_) are NumPy scalars too
        return list(batch)
    if backend.is_array(first) or backend.is_numpy_scalar(first):
        # a NumPy scalar (self.y[i] of an array) keeps its dtype, as in PyTorch: float32 targets stay float32
        return mg.stack([mg.as_tensor(example) for example in batch])
    if isinstance(first, bool):  # before Number: a bool is an int to Python
        return mg.tensor(list(batch), dtype=mg.bool)
    if isinstance(first, numbers.Integral):
        return mg.tensor([int(x) for x in batch], dtype=mg.int64)
    if isinstance(first, numbers.Real):
        return mg.tensor([float(x) for x in batch], dtype=mg.float64)
    if isinstance(first, dict):
        return {key: default_collate([example[key] for example in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        if len({len(example) for example in batch}) != 1:
            raise ValueError(f"default_collate: the batch's {len(batch)} examples (or one field of them) are "
                             f"sequences of different lengths ({sorted({len(example) for example in batch})}); a batch "
                             "needs them equal: pad them to one length, or give the DataLoader a collate_fn=")
        fields = [default_collate(list(column)) for column in zip(*batch)]
        return type(first)(*fields) if hasattr(first, "_fields") else fields  # a namedtuple stays one
    raise TypeError(f"default_collate: cannot batch examples of type {type(first).__name__}; expected tensors, "
                    "arrays, numbers, strings, or tuples, lists and dicts of them (or pass collate_fn=)")


class DataLoader:
    """Batches of dataset's examples, in order or shuffled anew every pass (every `for`)."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None, generator=None,
                 num_workers=0, pin_memory=False):
        if batch_size is not None and not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"DataLoader: batch_size must be a whole number >= 1 (or None: one example at a "
                             f"time, not stacked), got {batch_size!r}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.collate_fn = collate_fn or default_collate
        self.generator = generator

    def __iter__(self):
        n = len(self.dataset)
        order = mg.randperm(n, generator=self.generator).tolist() if self.shuffle else range(n)
        if self.batch_size is None:
            yield from (self.dataset[i] for i in order)
            return
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self.collate_fn([self.dataset[i] for i in order[start:start + self.batch_size]])

    def __len__(self):
        """Batches per pass: the last, smaller one counts unless drop_last."""
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
