from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_command(label: str) -> str:
    lines = (ROOT / "README.md").read_text().splitlines()
    return lines[lines.index(next(l for l in lines if l.startswith(f"# ({label})"))) + 1]


def test_ci_runs_the_readme_test_command_as_written():
    command = quick_start_command("b")
    assert "pytest" in command
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_readme_main_command_runs_the_shipped_demo_config():
    command = quick_start_command("a")
    assert "torch==2.13.0" in command and "configs/demo.yaml" in command
    assert (ROOT / "configs" / "demo.yaml").is_file()
