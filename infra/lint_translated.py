"""Translate template.yaml with the SAM translator and lint the CloudFormation it becomes.

cfn-lint on the SAM source misses what only exists after translation (a GetAtt to a missing resource in
DefinitionSubstitutions, the generated roles and permissions). The ASL's `${...}` placeholders are also
checked against the substitutions given to them, which neither tool does.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform

from infra.local.template import load_template

ROOT = Path(__file__).resolve().parent.parent


class _NoManagedPolicies:
    """The template names no AWS managed policy; any lookup is a mistake to report."""

    def load(self) -> dict[str, str]:
        return {}


def _check_asl_placeholders(body: dict[str, Any]) -> list[str]:
    problems = []
    for logical_id, resource in body["Resources"].items():
        if resource["Type"] != "AWS::Serverless::StateMachine":
            continue
        props = resource["Properties"]
        definition = (ROOT / props["DefinitionUri"]).read_text()
        wanted = set(re.findall(r"\$\{(\w+)\}", definition))
        given = set(props.get("DefinitionSubstitutions", {}))
        problems += [f"{logical_id}: ${{{name}}} has no substitution" for name in sorted(wanted - given)]
        problems += [f"{logical_id}: substitution {name} is not used" for name in sorted(given - wanted)]
    return problems


def _as_packaged(body: dict[str, Any]) -> dict[str, Any]:
    """What `sam package` hands CloudFormation: code in S3, the state machine definition inline."""
    packaged = copy.deepcopy(body)
    for resource in packaged["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://artifacts/{props[key].strip('/')}.zip"
        if isinstance(props.get("DefinitionUri"), str):
            props["Definition"] = json.loads((ROOT / props.pop("DefinitionUri")).read_text())
    return packaged


def main() -> int:
    template = load_template(ROOT / "template.yaml")
    problems = _check_asl_placeholders(template.body)
    # The translator fills in pseudo parameters (AWS::Region) from a boto session: any region will do.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    translated = transform(_as_packaged(template.body), {}, _NoManagedPolicies())
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        json.dump(translated, out, indent=1, default=str)
    cfn_lint = Path(sys.executable).parent / "cfn-lint"  # the one installed beside this interpreter
    # W3005 (redundant DependsOn) fires only on the usage plan resources SAM itself generates.
    lint = subprocess.run([str(cfn_lint), "--ignore-checks", "W3005", "--", out.name], check=False)  # noqa: S603
    Path(out.name).unlink()
    for problem in problems:
        print(f"ASL: {problem}", file=sys.stderr)
    return 1 if problems or lint.returncode else 0


if __name__ == "__main__":
    raise SystemExit(main())
