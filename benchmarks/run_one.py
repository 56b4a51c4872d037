"""One run in its own process, for the speed benchmarks: `python -m benchmarks.run_one SPEC_JSON RESULT_JSON`.

SPEC is `{"side": "airbench94", "root", "seed", "device", "epochs", "batch_size", "final_only"}` or
`{"side": "litlab", "name", "args", "folder", "seed", "logs", "without", "score_every"}` (see `benchmarks.speed_runs`);
the run's `RunRecord` is written to RESULT as JSON.
"""

import json
import sys
from pathlib import Path

from benchmarks.speed_runs import run_airbench94, run_litlab


def main(spec_path: str, result_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    if spec["side"] == "airbench94":
        record = run_airbench94(
            Path(spec["root"]),
            spec["seed"],
            spec["device"],
            spec.get("epochs"),
            spec.get("batch_size"),
            spec.get("final_only", False),
        )
    else:
        logs, folder = Path(spec["logs"]), Path(spec["folder"])
        without, score_every = tuple(spec.get("without", ())), spec.get("score_every", 1)
        record = run_litlab(spec["name"], spec["args"], folder, spec["seed"], logs, without, score_every)
    Path(result_path).write_text(json.dumps(record.to_json(), indent=1) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
