"""mg.utils.data: TensorDataset, Subset, random_split, default_collate and DataLoader behave as
PyTorch's do (the PyTorch comparisons need torch; the rest is checked by hand)."""
import collections

import numpy as np
import pytest

import minigrad as mg
import minigrad.utils.data  # noqa: F401  (mg.utils.data, as torch.utils.data)
from minigrad.utils.data import (BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset,
                                  SubsetRandomSampler, TensorDataset, default_collate, random_split)


def columns(n=10):
    return mg.arange(n * 3).reshape(n, 3).float(), mg.arange(n) % 2


def test_tensor_dataset_gives_one_row_of_each_tensor():
    X, y = columns()
    data = TensorDataset(X, y)
    assert len(data) == 10
    x3, y3 = data[3]
    assert x3.tolist() == [9.0, 10.0, 11.0] and y3.item() == 1


def test_tensor_dataset_refuses_tensors_of_different_lengths():
    with pytest.raises(ValueError, match=r"same first dim .*\[\(10, 3\), \(9,\)\]"):
        TensorDataset(mg.zeros(10, 3), mg.zeros(9))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()


def test_loader_in_order_stacks_batches_and_keeps_the_short_last_one():
    X, y = columns(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [xb.shape for xb, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    assert mg.cat([yb for _, yb in batches]).tolist() == y.tolist()
    assert len(DataLoader(TensorDataset(X, y), batch_size=4, drop_last=True)) == 2
    assert [xb.shape[0] for xb, _ in DataLoader(TensorDataset(X, y), batch_size=4, drop_last=True)] == [4, 4]


def test_shuffle_visits_every_example_once_in_a_new_order_each_pass_and_is_seeded():
    X, y = columns(50)
    loader = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True, generator=mg.Generator().manual_seed(3))
    first = [row[0] / 3 for xb, _ in loader for row in xb.tolist()]
    second = [row[0] / 3 for xb, _ in loader for row in xb.tolist()]
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != second and first != list(range(50))
    again = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True, generator=mg.Generator().manual_seed(3))
    assert [row[0] / 3 for xb, _ in again for row in xb.tolist()] == first
    mg.manual_seed(0)
    global_first = [yb.tolist() for _, yb in DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True)]
    mg.manual_seed(0)
    assert [yb.tolist() for _, yb in DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True)] == global_first


def test_default_collate_follows_pytorchs_types_and_structures():
    Point = collections.namedtuple("Point", "x label")
    batch = default_collate([{"x": mg.ones(2), "n": 1, "w": 0.5, "ok": True, "s": "a", "pair": (1, 2.0)},
                             {"x": mg.zeros(2), "n": 2, "w": 1.5, "ok": False, "s": "b", "pair": (3, 4.0)}])
    assert batch["x"].shape == (2, 2) and batch["x"].dtype == mg.float32
    assert batch["n"].dtype == mg.int64 and batch["n"].tolist() == [1, 2]
    assert batch["w"].dtype == mg.float64 and batch["ok"].dtype == mg.bool and batch["s"] == ["a", "b"]
    assert [t.tolist() for t in batch["pair"]] == [[1, 3], [2.0, 4.0]] and isinstance(batch["pair"], list)
    points = default_collate([Point(mg.ones(3), 0), Point(mg.zeros(3), 1)])
    assert isinstance(points, Point) and points.x.shape == (2, 3) and points.label.tolist() == [0, 1]
    arrays = default_collate([mg.ones(2).numpy(), mg.zeros(2).numpy()])
    assert isinstance(arrays, mg.Tensor) and arrays.shape == (2, 2)


class Rows(Dataset):
    """What a dataset over NumPy arrays returns: self.y[i] is a NumPy scalar of the array's dtype."""

    def __init__(self):
        self.X, self.y = np.ones((5, 2), dtype=np.float32), np.arange(5, dtype=np.float32)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


def test_numpy_scalars_keep_their_dtype_as_in_pytorch():
    xb, yb = next(iter(DataLoader(Rows(), batch_size=4)))
    assert xb.dtype == yb.dtype == mg.float32 and yb.tolist() == [0.0, 1.0, 2.0, 3.0]  # not float64 targets
    for scalar in (np.int32(3), np.uint8(3), np.float16(3), np.bool_(True)):
        batch = default_collate([scalar, scalar])
        assert batch.dtype == scalar.dtype and batch.shape == (2,)
    assert default_collate([np.str_("a"), np.str_("b")]) == ["a", "b"]  # NumPy strings stay strings


def test_default_collate_names_what_it_cannot_batch():
    with pytest.raises(TypeError, match="cannot batch examples of type object"):
        default_collate([object(), object()])
    with pytest.raises(ValueError, match=r"sequences of different lengths \(\[2, 3\]\)"):
        default_collate([(1, 2), (1, 2, 3)])


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": float(i), "y": i * i}


def test_a_dataset_subclass_and_a_collate_fn_and_batch_size_none():
    assert [b["y"].tolist() for b in DataLoader(Squares(), batch_size=2)] == [[0, 1], [4, 9], [16]]
    assert list(DataLoader(Squares(), batch_size=3, collate_fn=len)) == [3, 2]
    assert list(DataLoader(Squares(), batch_size=None))[2] == {"x": 2.0, "y": 4}
    with pytest.raises(NotImplementedError, match="Dataset must define __getitem__"):
        Dataset()[0]
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1"):
        DataLoader(Squares(), batch_size=0)


def test_random_split_by_counts_and_by_fractions():
    data = TensorDataset(*columns(10))
    train, valid = random_split(data, [7, 3], generator=mg.Generator().manual_seed(1))
    assert isinstance(train, Subset) and (len(train), len(valid)) == (7, 3)
    seen = sorted(int(train[i][0][0].item() / 3) for i in range(7)) + sorted(int(valid[i][0][0].item() / 3)
                                                                              for i in range(3))
    assert sorted(seen) == list(range(10)) and seen[:7] != list(range(7))
    assert [len(s) for s in random_split(data, [0.5, 0.3, 0.2])] == [5, 3, 2]
    assert [len(s) for s in random_split(range(11), [0.5, 0.5])] == [6, 5]  # the one left over goes first
    for bad in ([7, 4], [0.5, 0.6], [-1, 11]):
        with pytest.raises(ValueError, match="adding up to the dataset's 10 examples"):
            random_split(data, bad)


def test_the_loader_trains_a_model_as_ported_pytorch_code_does():
    mg.manual_seed(0)
    X = mg.randn(64, 2)
    y = (X[:, 0] > X[:, 1]).long()
    model = mg.nn.Linear(2, 2)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(20):
        for xb, yb in DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True):
            loss = mg.nn.functional.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    assert (model(X).argmax(1) == y).float().mean().item() > 0.95


def test_lengths_and_collation_match_pytorch():
    torch = pytest.importorskip("torch")
    from torch.utils import data as theirs
    for n, size, drop in [(10, 4, False), (10, 4, True), (8, 4, False), (3, 5, True)]:
        assert len(DataLoader(range(n), batch_size=size, drop_last=drop)) == \
            len(theirs.DataLoader(range(n), batch_size=size, drop_last=drop))
    sample = [{"n": 1, "w": 0.5, "ok": True, "pair": (1, 2.0), "f32": np.float32(0.5), "i32": np.int32(1),
               "np_ok": np.bool_(True)},
              {"n": 2, "w": 1.5, "ok": False, "pair": (3, 4.0), "f32": np.float32(1.5), "i32": np.int32(2),
               "np_ok": np.bool_(False)}]
    ours, reference = default_collate(sample), theirs.default_collate(sample)
    for key in ("n", "w", "ok", "f32", "i32", "np_ok"):
        assert str(ours[key].dtype) == str(reference[key].dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours[key].numpy(), reference[key].numpy())
    assert type(ours["pair"]) is type(reference["pair"])
    assert [len(s) for s in random_split(range(11), [0.5, 0.5])] == \
        [len(s) for s in theirs.random_split(range(11), [0.5, 0.5], generator=torch.Generator().manual_seed(0))]


def test_a_sampler_or_a_batch_sampler_chooses_the_examples():
    data = list(range(10))
    loader = DataLoader(data, batch_size=2, sampler=[3, 1, 4])  # any iterable of indices
    assert [b.tolist() for b in loader] == [[3, 1], [4]] and len(loader) == 2
    assert list(DataLoader(data, batch_size=None, sampler=[3, 1])) == [3, 1]
    assert [b.tolist() for b in DataLoader(data, batch_size=2, sampler=[3, 1, 4], drop_last=True)] == [[3, 1]]
    loader = DataLoader(data, batch_sampler=[[3, 1], [4]])
    assert [b.tolist() for b in loader] == [[3, 1], [4]] and len(loader) == 2 and loader.batch_size is None
    with pytest.raises(ValueError, match="sampler is mutually exclusive with shuffle"):
        DataLoader(data, sampler=[1], shuffle=True)
    for clash in (dict(batch_size=2), dict(batch_size=None), dict(shuffle=True), dict(sampler=[1]),
                  dict(drop_last=True)):
        with pytest.raises(ValueError, match="batch_sampler is mutually exclusive"):
            DataLoader(data, batch_sampler=[[1]], **clash)
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1"):
        BatchSampler(SequentialSampler(data), 0, False)


def test_random_samplers_visit_what_they_should_and_are_seeded():
    validation = [7, 2, 9, 4]
    first = list(SubsetRandomSampler(validation, generator=mg.Generator().manual_seed(1)))
    assert sorted(first) == sorted(validation) and first != validation
    assert list(SubsetRandomSampler(validation, generator=mg.Generator().manual_seed(1))) == first
    loader = DataLoader(TensorDataset(*columns(10)), batch_size=3, sampler=SubsetRandomSampler(validation))
    assert len(loader) == 2 and sorted(i for _, yb in loader for i in yb.tolist()) == sorted(i % 2 for i in validation)
    assert sorted(RandomSampler(range(5))) == list(range(5))
    twelve = list(RandomSampler(range(5), num_samples=12))  # whole shuffles, one after another
    assert len(twelve) == 12 and sorted(twelve[:5]) == sorted(twelve[5:10]) == list(range(5))
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50))
    assert len(drawn) == 50 and set(drawn) == {0, 1, 2}
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="RandomSampler: num_samples must be a whole number >= 1"):
            RandomSampler(range(3), num_samples=bad)
    assert isinstance(DataLoader(range(3), shuffle=True).sampler, RandomSampler)
    assert isinstance(DataLoader(range(3)).sampler, SequentialSampler)


def test_samplers_against_pytorch():
    torch = pytest.importorskip("torch")
    from torch.utils import data as theirs
    data = list(range(10))
    for kwargs in [dict(batch_size=2, sampler=[3, 1, 4]), dict(batch_size=2, sampler=[3, 1, 4], drop_last=True),
                   dict(batch_size=None, sampler=[5, 0]), dict(batch_sampler=[[3, 1], [4], [0, 9, 8]])]:
        ours, reference = DataLoader(data, **kwargs), theirs.DataLoader(data, **kwargs)
        assert len(ours) == len(reference) and ours.batch_size == reference.batch_size
        assert [mg.as_tensor(b).tolist() for b in ours] == [torch.as_tensor(b).tolist() for b in reference]
    for clash in (dict(sampler=[1], shuffle=True), dict(batch_sampler=[[1]], drop_last=True)):
        for loader in (DataLoader, theirs.DataLoader):
            with pytest.raises(ValueError, match="mutually exclusive"):
                loader(data, **clash)
    for size, drop in [(3, False), (3, True), (5, False)]:
        ours, reference = BatchSampler(SequentialSampler(data), size, drop), theirs.BatchSampler(data, size, drop)
        assert list(ours) == list(reference) and len(ours) == len(reference)
    for kwargs in [dict(), dict(num_samples=3), dict(replacement=True, num_samples=25)]:
        assert len(RandomSampler(data, **kwargs)) == len(theirs.RandomSampler(data, **kwargs))
    assert len(SubsetRandomSampler([4, 2])) == len(theirs.SubsetRandomSampler([4, 2]))
