"""Search-space files: schema, validation and expansion into groups of trials.

A space (YAML) has `name`, `description`, `fixed` config keys, `axes` (full
cross product; every point is its own *group* with its own Tuner, its own
ASHA brackets and its own row in reports — ASHA must never compare a
UCF-101 trial with an HMDB-51 one), `search` (samplers: grid, choice,
uniform, loguniform, randint; each may carry `role: scientific|nuisance`),
`num_samples`, `scheduler`, `metric`/`mode`, `resources` and `fusion`.

`load_space` checks everything that can be checked without Ray — every key
and every value against `RunConfig`, empty ranges, the metric against what
runs report, data paths, resources against the machine — and raises
`SpaceError` (file, key, reason; printed "FILE: KEY: reason") on the first
problem. `apply_overrides` adds `--set` keys and checks again.

    model     the dataclasses, SpaceError, expansion into groups and trials
    parse     the YAML schema: each section into the model (`load_space`)
    validate  checks against RunConfig, metrics, data, resources (`apply_overrides`)
"""

from rlx.tune.space.model import (
    RESOURCE_CONFIG_KEYS,
    Bundle,
    Group,
    InvalidKey,
    Mode,
    Resources,
    Role,
    Sampler,
    SamplerKind,
    Scheduler,
    SchedulerType,
    SearchSpace,
    SpaceError,
    referenced_group,
)
from rlx.tune.space.parse import load_space
from rlx.tune.space.validate import apply_overrides, local_cluster

__all__ = [
    "RESOURCE_CONFIG_KEYS",
    "Bundle",
    "Group",
    "InvalidKey",
    "Mode",
    "Resources",
    "Role",
    "Sampler",
    "SamplerKind",
    "Scheduler",
    "SchedulerType",
    "SearchSpace",
    "SpaceError",
    "apply_overrides",
    "load_space",
    "local_cluster",
    "referenced_group",
]
