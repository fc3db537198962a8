"""The README's library example runs as written (in the ci profile, for two steps, into a temporary folder)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_api_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Library API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "drnet_core.Trainer(" in code and "DRNet.load(" in code
    code = code.replace('out_dir="runs/x"', f"out_dir={str(tmp_path / 'x')!r}").replace("steps=100", "steps=2")
    monkeypatch.setenv("DRNET_PROFILE", "ci")
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["frames"].shape == (4, 3, 64, 64)
    assert namespace["trainer"].step == 2 and (tmp_path / "x" / "model.pt").is_file()
