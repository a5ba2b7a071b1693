"""benchmarks/common.py: the helpers every benchmark script shares (no torch needed)."""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "bench_common", Path(__file__).resolve().parent.parent / "benchmarks" / "common.py")
common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(common)


def test_write_section_appends_then_replaces_only_its_own_section(tmp_path):
    path = tmp_path / "RESULTS.md"
    common.write_section("mlp", "mlp: 1.0x", path)
    common.write_section("engine", "engine: 2.0x", path)
    common.write_section("engine", "engine: 1.1x", path)  # a rerun replaces, never duplicates
    text = path.read_text()
    assert text.startswith("# Benchmark results")
    assert text.count("<!-- bench:engine -->") == 1 and text.count("<!-- /bench:engine -->") == 1
    assert "engine: 1.1x" in text and "engine: 2.0x" not in text
    assert "mlp: 1.0x" in text and text.index("mlp: 1.0x") < text.index("engine: 1.1x")


def test_write_section_keeps_hand_written_text(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# Results\n\nNotes by hand.\n\n<!-- bench:x -->\nold\n<!-- /bench:x -->\n\nMore notes.\n")
    common.write_section("x", "new", path)
    assert path.read_text() == "# Results\n\nNotes by hand.\n\n<!-- bench:x -->\nnew\n<!-- /bench:x -->\n\nMore notes.\n"


def test_time_interleaved_runs_each_case_and_returns_medians():
    calls = []
    medians = common.time_interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                                      repeats=3, warmup=1)
    assert set(medians) == {"a", "b"} and all(t >= 0 for t in medians.values())
    assert calls == ["a", "b"] + ["a", "b"] * 3  # warm-up, then strictly alternating


def test_machine_description():
    assert common.cpu_name()
    assert "Python" in common.machine_info()
