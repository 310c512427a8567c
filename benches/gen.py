#!/usr/bin/env python3
"""Generate a synthetic runbook twice: as .drbook and as an AWS SSM Automation YAML document.

    python3 benches/gen.py --steps N --out DIR [--seed S] [--width W]

writes DIR/synthetic-N.drbook and DIR/synthetic-N.yaml describing the same plan, and prints
their sizes. Standard library only; the output depends only on (N, seed, width), byte for byte.

Shape (the same in both files)
------------------------------
* A layered DAG. The layer width is W = ceil(sqrt(N)) unless --width is given, so the DAG stays
  "square" at every size: 1,000 steps -> 32 layers of 32 (the last has 8), 10,000 -> 100 of
  100, 100,000 -> 316 layers of 317 (the last has 145). Both the depth (critical-path work) and the
  fan-in per layer grow with N.
* Step ids are s_<layer>_<index> (0-based), e.g. s_12_34, titled "Layer 12 step 34".
* Every step in layer k > 0 `needs` 1..3 distinct steps of layer k-1, chosen at random.
* Every step has an `owner` ("team-0".."team-11"), a `duration` (a whole number of minutes,
  1m..10m), a `timeout` of twice the duration, a `run` action (a short shell command using
  ${region}), a `rollback run` that undoes it and a `verify run` probing its effect, so the
  runbook is free of warnings. DIR/synthetic-N-noverify.drbook is the same runbook without the
  probes: `drbook check` warns (drbook::lint::no_verify) about every step.
* The runbook header has title, description, owner, rto (the exact critical path plus 25%,
  rounded up to whole hours, so `drbook check` gives no RTO warning), and `param region`.

SSM encoding (SSM Automation has no DAG)
-----------------------------------------
* mainSteps holds one `aws:runCommand` step per drbook step in the same topological (layer)
  order, chained with `nextStep`; the last one has `isEnd: true`.
* Each has `onFailure: step:<id>_rollback` (drbook: `on_failure rollback`), `timeoutSeconds`
  = the drbook `timeout` (2 x duration), and a `description` carrying the title, owner,
  duration and needs, since typed SSM schemas allow no custom fields.
* After all the forward steps come the rollback steps (`<id>_rollback`, also `aws:runCommand`,
  `isEnd: true`) in the same order.
* `${region}` becomes `{{ Region }}`; parameters: {Region: {type: String, default: us-west-2}}.
* SSM has no per-step probe, so the `verify` lines have no counterpart: the .drbook file
  carries more than the YAML documents.

Sizes with the default seed: 1,000 steps -> ~0.3 MB .drbook / ~0.7 MB .yaml; 10,000 -> ~3.2 MB /
~7.3 MB; 100,000 -> ~33 MB / ~74 MB. The YAML is ~2.3x larger because SSM needs a separate
rollback step per step, and YAML block style repeats keys and indentation.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys

REGION_DEFAULT = "us-west-2"
OWNERS = 12

# (forward command, rollback command); {r} is the region reference, {u} the unit number.
COMMANDS = [
    ("deploy --region {r} --unit {u}", "undeploy --region {r} --unit {u}"),
    (
        "kubectl --context {r} scale deploy/svc-{u} --replicas=6",
        "kubectl --context {r} scale deploy/svc-{u} --replicas=0",
    ),
    (
        "aws --region {r} autoscaling set-desired-capacity --auto-scaling-group-name asg-{u} --desired-capacity 8",
        "aws --region {r} autoscaling set-desired-capacity --auto-scaling-group-name asg-{u} --desired-capacity 0",
    ),
    (
        "terraform -chdir=stacks/unit-{u} apply -auto-approve -var region={r}",
        "terraform -chdir=stacks/unit-{u} apply -auto-approve -var region=us-east-1",
    ),
    (
        "aws --region {r} rds promote-read-replica --db-instance-identifier db-{u}",
        "aws --region {r} rds create-db-instance-read-replica --db-instance-identifier db-{u}-old --source-db-instance-identifier db-{u}",
    ),
    (
        "aws --region {r} ssm put-parameter --name /dr/unit-{u}/active --value {r} --overwrite",
        "aws --region {r} ssm put-parameter --name /dr/unit-{u}/active --value us-east-1 --overwrite",
    ),
    (
        "helm --kube-context {r} upgrade --install unit-{u} charts/unit --set active=true",
        "helm --kube-context {r} rollback unit-{u}",
    ),
]

# The read-only probe of every step's effect (drbook's `verify run`).
PROBE = "dr-probe --region {r} --unit {u}"


class Step:
    __slots__ = ("layer", "index", "id", "title", "owner", "minutes", "needs", "cmd", "undo", "probe")

    def __init__(self, layer: int, index: int) -> None:
        self.layer = layer
        self.index = index
        self.id = f"s_{layer}_{index}"
        self.title = f"Layer {layer} step {index}"


def build_plan(n: int, width: int, seed: int) -> list[list[Step]]:
    rng = random.Random(seed)
    layers: list[list[Step]] = []
    made = 0
    unit = 0
    while made < n:
        k = len(layers)
        count = min(width, n - made)
        layer = []
        for i in range(count):
            s = Step(k, i)
            s.owner = f"team-{rng.randrange(OWNERS)}"
            s.minutes = rng.randint(1, 10)
            if k == 0:
                s.needs = []
            else:
                prev = layers[k - 1]
                want = rng.randint(1, min(3, len(prev)))
                s.needs = sorted(rng.sample(range(len(prev)), want))
                s.needs = [prev[j].id for j in s.needs]
            unit += 1
            s.cmd, s.undo = COMMANDS[rng.randrange(len(COMMANDS))]
            s.cmd = s.cmd.replace("{u}", str(unit))
            s.undo = s.undo.replace("{u}", str(unit))
            s.probe = PROBE.replace("{u}", str(unit))
            layer.append(s)
        layers.append(layer)
        made += count
    return layers


def critical_path_minutes(layers: list[list[Step]]) -> int:
    finish: dict[str, int] = {}
    for layer in layers:
        for s in layer:
            finish[s.id] = s.minutes + max((finish[d] for d in s.needs), default=0)
    return max(finish.values())


def fmt_minutes(m: int) -> str:
    h, m = divmod(m, 60)
    return (f"{h}h" if h else "") + (f"{m}m" if m or not h else "")


def write_drbook(
    path: str, name: str, layers: list[list[Step]], n: int, seed: int, cp: int, verify: bool = True
) -> None:
    rto_hours = math.ceil(cp * 1.25 / 60)
    out = []
    w = out.append
    w(f"# {name}: synthetic benchmark runbook generated by benches/gen.py")
    w(f"# steps={n} layers={len(layers)} width={len(layers[0])} seed={seed}")
    w(f"# critical path = {fmt_minutes(cp)} ({cp} minutes)")
    w("")
    w(f'runbook "{name}" {{')
    w(f'  title       "Synthetic failover of {n} units, layer by layer"')
    w('  description "Generated for benchmarks: a layered DAG of deploy steps, each with a rollback."')
    w('  owner       "bench"')
    w(f"  rto         {rto_hours}h")
    w("  on_failure  rollback")
    w("")
    w(f'  param region = "{REGION_DEFAULT}"')
    for layer in layers:
        for s in layer:
            w("")
            w(f'  step {s.id} "{s.title}" {{')
            if s.needs:
                w(f"    needs    {', '.join(s.needs)}")
            w(f'    owner    "{s.owner}"')
            w(f"    duration {s.minutes}m")
            w(f"    timeout  {fmt_minutes(2 * s.minutes)}")
            w(f'    run      "{s.cmd.format(r="${region}")}"')
            w(f'    rollback run "{s.undo.format(r="${region}")}"')
            if verify:
                w(f'    verify run "{s.probe.format(r="${region}")}"')
            w("  }")
    w("}")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out) + "\n")


def q(s: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML for ASCII text)."""
    return json.dumps(s)


def write_yaml(path: str, name: str, layers: list[list[Step]], n: int, seed: int, rollback: bool = True) -> None:
    steps = [s for layer in layers for s in layer]
    out = []
    w = out.append
    w(f"# {name}: synthetic SSM Automation document generated by benches/gen.py")
    w(f"# steps={n} layers={len(layers)} width={len(layers[0])} seed={seed}")
    w("# The same plan as the .drbook file; SSM has no DAG, so `needs` is kept in descriptions.")
    w("schemaVersion: '0.3'")
    w(f"description: {q(f'Synthetic failover of {n} units, layer by layer (owner: bench)')}")
    w("parameters:")
    w("  Region:")
    w("    type: String")
    w(f"    default: {REGION_DEFAULT}")
    w("    description: Region to fail over to")
    w("mainSteps:")
    region = "{{ Region }}"
    for i, s in enumerate(steps):
        needs = ", ".join(s.needs) if s.needs else "none"
        w(f"  - name: {s.id}")
        w("    action: aws:runCommand")
        w(f"    timeoutSeconds: {s.minutes * 120}")
        w(f"    onFailure: step:{s.id}_rollback" if rollback else "    onFailure: Abort")
        if i + 1 < len(steps):
            w(f"    nextStep: {steps[i + 1].id}")
        else:
            w("    isEnd: true")
        w(f"    description: {q(f'{s.title}. owner: {s.owner}; duration: {s.minutes}m; needs: {needs}')}")
        w("    inputs:")
        w("      DocumentName: AWS-RunShellScript")
        w("      Parameters:")
        w("        commands:")
        w(f"          - {q(s.cmd.format(r=region))}")
    for s in steps if rollback else []:
        w(f"  - name: {s.id}_rollback")
        w("    action: aws:runCommand")
        w(f"    timeoutSeconds: {s.minutes * 120}")
        w("    isEnd: true")
        w(f"    description: {q(f'Undo {s.id}. owner: {s.owner}')}")
        w("    inputs:")
        w("      DocumentName: AWS-RunShellScript")
        w("      Parameters:")
        w("        commands:")
        w(f"          - {q(s.undo.format(r=region))}")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, required=True, help="number of steps (e.g. 1000, 10000, 100000)")
    ap.add_argument("--out", required=True, help="output directory (created if missing)")
    ap.add_argument("--seed", type=int, default=42, help="RNG seed (default 42)")
    ap.add_argument("--width", type=int, default=0, help="layer width (default ceil(sqrt(steps)))")
    args = ap.parse_args()
    if args.steps < 1:
        ap.error("--steps must be at least 1")
    width = args.width if args.width > 0 else math.ceil(math.sqrt(args.steps))

    layers = build_plan(args.steps, width, args.seed)
    cp = critical_path_minutes(layers)
    name = f"synthetic-{args.steps}"
    os.makedirs(args.out, exist_ok=True)
    dr = os.path.join(args.out, f"{name}.drbook")
    ym = os.path.join(args.out, f"{name}.yaml")
    fw = os.path.join(args.out, f"{name}-forward.yaml")
    write_drbook(dr, name, layers, args.steps, args.seed, cp)
    # The same runbook without the `verify` probes: `drbook check` warns about every step.
    write_drbook(os.path.join(args.out, f"{name}-noverify.drbook"), name, layers, args.steps, args.seed, cp, verify=False)
    write_yaml(ym, name, layers, args.steps, args.seed)
    # The same document without the rollback steps: about the size of the .drbook file.
    write_yaml(fw, name, layers, args.steps, args.seed, rollback=False)
    for p in (dr, ym, fw):
        size = os.path.getsize(p)
        print(f"{p}: {size} bytes ({size / 1e6:.2f} MB)")
    print(f"{name}: {len(layers)} layers of width {width}, critical path {fmt_minutes(cp)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
