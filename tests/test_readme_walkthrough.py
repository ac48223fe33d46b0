"""The README's "Five minutes with curl", run as written against a served app, twice in a row: every step
answers as the README says (one 422, the bad answers it shows on purpose), and the second run finds its way past
what the first left."""

import os
import re
import subprocess

from .browser import served
from .conftest import ROOT


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Five minutes with curl", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_curl_walkthrough_runs_twice_in_a_row(app, asking_consent, tmp_path):
    script = walkthrough()
    with served(app) as base:
        host, port = base.removeprefix("http://").split(":")
        for run in (1, 2):
            done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=tmp_path, capture_output=True,
                                  text=True, timeout=120, env={**os.environ, "HOST": host, "PORT": port})
            assert done.returncode == 0, f"run {run}: {done.stderr}"
            codes = re.findall(r'^    "code": (\d+)', done.stdout, re.M)
            assert codes == ["422"], f"run {run}: {codes}"
            assert "\\u00e4" not in done.stdout and "Käy laboratoriossa" in done.stdout, "readable JSON"
            assert '"kind": "message_received"' in done.stdout or "lab_result_ready" in done.stdout
