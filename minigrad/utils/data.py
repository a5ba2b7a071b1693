"""Datasets and batches, as torch.utils.data has them: a Dataset says how many examples there
are and gives the i-th; a DataLoader draws them in batches and stacks each batch into tensors.

    train = TensorDataset(X, y)                       # example i is (X[i], y[i])
    for xb, yb in DataLoader(train, batch_size=32, shuffle=True):
        loss = F.cross_entropy(model(xb), yb)

The loader runs in this process (num_workers is accepted and ignored: NumPy already keeps the
cores busy). As in PyTorch, a sampler says which examples a pass visits, in which order: any
iterable of indices (a list, a SubsetRandomSampler), SequentialSampler by default, RandomSampler with
shuffle=True (mg.randperm, seeded by mg.manual_seed or by the loader's own generator=); a
BatchSampler cuts its indices into batches (or batch_sampler= gives the batches' indices itself), and
default_collate stacks each batch: tensors are stacked along a new first dim, NumPy arrays and
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


class SequentialSampler:
    """The indices 0 .. len(data_source) - 1, in order: a DataLoader's without shuffle."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


def check_count(caller, name, value):
    """value is a whole number >= 1 (not a bool, which Python counts as an int)."""
    if isinstance(value, bool) or not (isinstance(value, int) and value >= 1):
        raise ValueError(f"{caller}: {name} must be a whole number >= 1, got {value!r}")


class RandomSampler:
    """The indices of data_source in a new random order each pass: a DataLoader's with shuffle=True.
    replacement=True draws num_samples indices independently (repeats allowed); without it, more
    samples than examples take whole shuffles one after another, as in PyTorch."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if num_samples is not None:
            check_count("RandomSampler", "num_samples", num_samples)
        self.data_source, self.replacement, self.generator = data_source, replacement, generator
        self._num_samples = num_samples

    @property
    def num_samples(self):  # read each pass: the dataset may have grown
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        if self.replacement:
            return iter(mg.randint(n, (self.num_samples,), generator=self.generator).tolist())
        shuffles = math.ceil(self.num_samples / n) if n else 0
        order = [i for _ in range(shuffles) for i in mg.randperm(n, generator=self.generator).tolist()]
        return iter(order[:self.num_samples])

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler:
    """The given indices in a new random order each pass (say, the validation part of one dataset)."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = indices, generator

    def __iter__(self):
        return (self.indices[i] for i in mg.randperm(len(self.indices), generator=self.generator).tolist())

    def __len__(self):
        return len(self.indices)


class BatchSampler:
    """The indices of sampler in lists of batch_size, the last one shorter (dropped if drop_last)."""

    def __init__(self, sampler, batch_size, drop_last):
        check_count("BatchSampler", "batch_size", batch_size)
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        """Batches per pass: the last, smaller one counts unless drop_last."""
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)


class DataLoader:
    """Batches of dataset's examples, in order or shuffled anew every pass (every `for`); the arguments
    come in PyTorch's order. sampler: the indices to visit (not with shuffle=True); batch_sampler:
    the batches' indices (without batch_size, shuffle, sampler and drop_last, which make the batches)."""

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, generator=None):
        if batch_size is not None and not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"DataLoader: batch_size must be a whole number >= 1 (or None: one example at a "
                             f"time, not stacked), got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler is mutually exclusive with shuffle (the sampler sets the order)")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, sampler "
                             "and drop_last (it makes the batches itself)")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_sampler is not None:
            batch_size, drop_last = None, False  # as PyTorch's loader.batch_size and .drop_last then
        elif batch_size is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn or default_collate
        self.generator = generator

    def __iter__(self):
        if self.batch_sampler is None:  # batch_size=None: one example at a time, not stacked
            yield from (self.dataset[i] for i in self.sampler)
            return
        for indices in self.batch_sampler:
            yield self.collate_fn([self.dataset[i] for i in indices])

    def __len__(self):
        """Batches per pass (examples, if batch_size=None)."""
        return len(self.sampler if self.batch_sampler is None else self.batch_sampler)
