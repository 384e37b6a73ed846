"""The policy engine: Casbin, consulted once per (subject, medspa), answers with a PermissionSet.

DESIGN §6 principle 1: Casbin holds what a role may do; the database holds who holds which
role. `PolicyEngine` is built once at startup from `model.conf`, `policy.csv` (the platform-wide
baseline, domain `*`) and the per-medspa rows stored in the database. For a subject (an active
role or a partner scope `scope:<name>`) and a domain (a medspa UUID, or `*` for platform staff)
it asks Casbin about every `Action` once and keeps the answer as an immutable `PermissionSet`,
cached per medspa until that medspa's rows change. Resolvers then look actions up in that set;
nothing else in the code base calls `enforce`, and nothing calls it per row or per field.

Per-medspa rows are `PolicyRow`s: a `p` row has the columns of `policy.csv`
(`subject, domain, resource, verb, scope, effect`, effect `allow` or `deny`), a `g` row is
`child, parent, domain`. Their domain must be a medspa, never `*`, so that a row stored for one
tenant cannot change the policy of the others.

Which rule wins: Casbin decides allow or deny (a matching deny row always wins) and reports the
rule behind its decision. With this model's effect it reports the deny row when one matches,
and otherwise the last allow row that matched. The rows are therefore loaded with allow rows
ordered from the narrowest scope to the broadest, so the reported rule, and with it the scope,
is the broadest one granting the action.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import casbin

from api.authz.actions import Action, Scope

POLICY_DIR = Path(__file__).resolve().parent
MODEL_PATH = POLICY_DIR / "model.conf"
POLICY_PATH = POLICY_DIR / "policy.csv"

PLATFORM_DOMAIN = "*"
"""The domain of the baseline policy; a `g` row in it holds in every medspa."""

EFFECTS = ("allow", "deny")

PolicyType = Literal["p", "g"]

_P_COLUMNS = ("subject", "domain", "resource", "verb", "scope", "effect")
_G_COLUMNS = ("child", "parent", "domain")


@dataclass(frozen=True)
class PolicyRow:
    """One Casbin rule: `ptype` is `p` (a permission) or `g` (role inheritance).

    `values` are the columns after the ptype: six for `p`
    (`subject, domain, resource, verb, scope, effect`), three for `g` (`child, parent, domain`).
    Construction checks the shape, that `resource.verb` is an `Action`, that the scope is a
    `Scope` and that the effect is `allow` or `deny`.
    """

    ptype: PolicyType
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        values = tuple(value.strip() for value in self.values)
        object.__setattr__(self, "values", values)
        if self.ptype == "p":
            self._check_permission(values)
        elif self.ptype == "g":
            if len(values) != len(_G_COLUMNS) or not all(values):
                raise ValueError(f"a g row is `g, {', '.join(_G_COLUMNS)}`: {self.text!r}")
        else:
            raise ValueError(f"unknown policy type {self.ptype!r}: {self.text!r}")

    def _check_permission(self, values: tuple[str, ...]) -> None:
        if len(values) != len(_P_COLUMNS) or not all(values):
            raise ValueError(f"a p row is `p, {', '.join(_P_COLUMNS)}`: {self.text!r}")
        _, _, resource, verb, scope, effect = values
        if f"{resource}.{verb}" not in Action._value2member_map_:
            raise ValueError(f"unknown action {resource}.{verb}: {self.text!r}")
        if scope not in Scope._value2member_map_:
            raise ValueError(f"unknown scope {scope!r}: {self.text!r}")
        if effect not in EFFECTS:
            raise ValueError(f"effect must be allow or deny: {self.text!r}")

    @property
    def domain(self) -> str:
        """The medspa UUID the row holds in, or `*` for the baseline."""
        return self.values[1] if self.ptype == "p" else self.values[2]

    @property
    def text(self) -> str:
        """The row as `policy.csv` spells it: `p, provider, *, appointment, read, OWN, allow`."""
        return ", ".join((self.ptype, *self.values))


@dataclass(frozen=True)
class Grant:
    """An allowed action, the scope it reaches and the text of the rule that granted it."""

    action: Action
    scope: Scope
    rule: str


class PermissionSet:
    """What one principal may do in one medspa: a grant or a denial reason for each action.

    Immutable; `without` and `union` return new sets. Checking an action is a dictionary
    look-up, cheap enough for every field and row.
    """

    __slots__ = ("_denials", "_grants")
    _grants: Mapping[Action, Grant]
    _denials: Mapping[Action, str]

    def __init__(
        self,
        grants: Mapping[Action, Grant] | None = None,
        denials: Mapping[Action, str] | None = None,
    ) -> None:
        grants = dict(grants or {})
        denials = dict(denials or {})
        for action, grant in grants.items():
            if grant.action is not action:
                raise ValueError(f"grant for {grant.action} filed under {action}")
        both = grants.keys() & denials.keys()
        if both:
            raise ValueError(f"actions both granted and denied: {sorted(both)}")
        object.__setattr__(self, "_grants", MappingProxyType(grants))
        object.__setattr__(self, "_denials", MappingProxyType(denials))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"PermissionSet is immutable; cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"PermissionSet is immutable; cannot delete {name}")

    @classmethod
    def deny_all(cls, reason: str) -> PermissionSet:
        """A set that denies every action with one reason (e.g. a partner key without scopes)."""
        return cls(denials=dict.fromkeys(Action, reason))

    @property
    def grants(self) -> Mapping[Action, Grant]:
        """The allowed actions, each with its scope and rule (read-only)."""
        return self._grants

    @property
    def denials(self) -> Mapping[Action, str]:
        """The denied actions, each with the reason (read-only)."""
        return self._denials

    def allows(self, action: Action) -> bool:
        """Whether the action is allowed at some scope."""
        return action in self._grants

    def scope(self, action: Action) -> Scope | None:
        """The scope the action reaches, or None when it is denied."""
        grant = self._grants.get(action)
        return grant.scope if grant else None

    def grant(self, action: Action) -> Grant | None:
        """The grant of the action, or None when it is denied."""
        return self._grants.get(action)

    def reason(self, action: Action) -> str:
        """Why the action is allowed (`allowed by <rule>`) or why it is not."""
        grant = self._grants.get(action)
        if grant is not None:
            return f"allowed by {grant.rule}"
        return self._denials.get(action, f"no rule grants {action}")

    def without(self, actions: Iterable[Action], reason: str) -> PermissionSet:
        """A copy in which the given actions are denied with `reason`.

        Used for restrictions that sit on top of the policy, such as what a masquerade may
        not do; the reason replaces any earlier one, so it names the restriction.
        """
        removed = set(actions)
        grants = {action: g for action, g in self._grants.items() if action not in removed}
        denials = {a: r for a, r in self._denials.items() if a not in removed}
        denials.update(dict.fromkeys(sorted(removed), reason))
        return PermissionSet(grants, denials)

    def reworded(self, no_rule: Callable[[Action], str]) -> PermissionSet:
        """A copy whose "no rule grants ..." denials are worded by `no_rule` (another domain)."""
        denials = {
            action: no_rule(action) if reason.startswith("no rule grants") else reason
            for action, reason in self._denials.items()
        }
        return PermissionSet(self._grants, denials)

    def union(self, other: PermissionSet) -> PermissionSet:
        """What either set allows; when both allow an action the broadest scope wins.

        Used for a partner key holding several scopes. An action denied by both keeps both
        reasons.
        """
        grants = dict(self._grants)
        for action, theirs in other.grants.items():
            mine = grants.get(action)
            if mine is None or theirs.scope.breadth > mine.scope.breadth:
                grants[action] = theirs
        denials: dict[Action, str] = {}
        for action in (*self._denials, *other.denials):
            if action in grants or action in denials:
                continue
            reasons = (self._denials.get(action), other.denials.get(action))
            denials[action] = "; ".join(dict.fromkeys(r for r in reasons if r is not None))
        return PermissionSet(grants, denials)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PermissionSet):
            return NotImplemented
        return dict(self._grants) == dict(other.grants) and dict(self._denials) == dict(
            other.denials
        )

    __hash__ = None  # type: ignore[assignment]  # equal sets must compare equal; never a dict key

    def __repr__(self) -> str:
        allowed = ", ".join(f"{action}:{grant.scope}" for action, grant in self._grants.items())
        return f"PermissionSet({allowed})"


def _read_rows(path: Path) -> Iterator[tuple[str, ...]]:
    """The rows of a policy file as stripped columns, skipping blank and `#` comment lines."""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield tuple(column.strip() for column in stripped.split(","))


def baseline_rows(path: Path = POLICY_PATH) -> list[PolicyRow]:
    """The platform-wide rows of `policy.csv`, checked like any other `PolicyRow`."""
    rows: list[PolicyRow] = []
    for ptype, *values in _read_rows(path):
        if ptype not in ("p", "g"):
            raise ValueError(f"{path.name}: unknown policy type in {', '.join((ptype, *values))}")
        rows.append(PolicyRow(ptype, tuple(values)))  # type: ignore[arg-type]  # checked above
    return rows


def policy_actions(path: Path = POLICY_PATH) -> set[str]:
    """Every `resource.verb` named by a `p` row of `policy.csv`, as written (unchecked)."""
    return {f"{row[3]}.{row[4]}" for row in _read_rows(path) if row[0] == "p" and len(row) > 4}


def _check_extra_row(row: PolicyRow) -> PolicyRow:
    if row.domain == PLATFORM_DOMAIN:
        raise ValueError(f"a per-medspa row must name a medspa, not `*`: {row.text!r}")
    return row


def _load_order(row: PolicyRow) -> int:
    """Allow rows narrowest first, so Casbin reports the broadest one (see module docstring)."""
    return Scope(row.values[4]).breadth


class _RowsAdapter(casbin.persist.Adapter):  # type: ignore[misc]  # casbin ships no type hints
    """A read-only Casbin adapter over rows already read and checked."""

    def __init__(self, rows: Sequence[PolicyRow]) -> None:
        self._rows = rows

    def load_policy(self, model: casbin.Model) -> None:
        permissions = sorted((row for row in self._rows if row.ptype == "p"), key=_load_order)
        inheritance = [row for row in self._rows if row.ptype == "g"]
        for row in (*permissions, *inheritance):
            model.add_policy(row.ptype, row.ptype, list(row.values))


def _inherits_everywhere(request_domain: str, link_domain: str) -> bool:
    """Domain matching for `g`: a link stored in `*` holds in every domain."""
    return link_domain == PLATFORM_DOMAIN


def build_enforcer(extra_rows: Iterable[PolicyRow] = ()) -> casbin.Enforcer:
    """A Casbin enforcer over `model.conf`, `policy.csv` and the per-medspa `extra_rows`.

    Raises ValueError for a malformed row or a per-medspa row in domain `*`.
    """
    rows = [*baseline_rows(), *(_check_extra_row(row) for row in extra_rows)]
    enforcer = casbin.Enforcer(str(MODEL_PATH), _RowsAdapter(rows))
    enforcer.add_named_domain_matching_func("g", _inherits_everywhere)
    return enforcer


def _describe_domain(domain: str) -> str:
    return "the platform domain *" if domain == PLATFORM_DOMAIN else f"medspa {domain}"


@dataclass
class DomainPolicy:
    """One medspa's own rows, its enforcer and the permission sets they change.

    Built by `build_domain_policy`, which does all the Casbin work up front, so that it can run
    in a worker thread and the event loop only swaps the finished object in. `sets` holds every
    subject the medspa's rows affect; any other subject answers like the baseline.
    """

    domain: str
    rows: tuple[PolicyRow, ...]
    enforcer: casbin.Enforcer
    sets: dict[str, PermissionSet]


def policy_subjects(rows: Iterable[PolicyRow] = ()) -> frozenset[str]:
    """Every subject the baseline or `rows` name (`p` subjects and `g` children and parents)."""
    subjects: set[str] = set()
    for row in (*baseline_rows(), *rows):
        subjects.update(row.values[:1] if row.ptype == "p" else row.values[:2])
    return frozenset(subjects)


def affected_subjects(rows: Iterable[PolicyRow]) -> frozenset[str]:
    """The subjects whose decisions in the rows' medspa differ from the baseline's.

    A subject is affected when it is, or inherits (through baseline or the medspa's own `g`
    rows), a subject that one of the rows names: the subject of a `p` row or the child of a
    `g` row. The matcher consults rows of the request's domain only through `g(r.sub, p.sub,
    r.dom)`, so every other subject meets exactly the baseline rows.
    """
    own = list(rows)
    named = {row.values[0] for row in own}  # `p` subject or `g` child
    parents: dict[str, set[str]] = {}
    for row in (*baseline_rows(), *own):
        if row.ptype == "g":
            parents.setdefault(row.values[0], set()).add(row.values[1])
    affected: set[str] = set()
    for subject in policy_subjects(own):
        seen = {subject}
        todo = [subject]
        while todo:
            for parent in parents.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        if seen & named:
            affected.add(subject)
    return frozenset(affected)


def build_domain_policy(domain: str, rows: Iterable[PolicyRow]) -> DomainPolicy:
    """The policy of one medspa from its own rows, every set its rows change computed.

    Pure and thread-safe (touches nothing shared): the watcher runs it off the event loop.
    Raises ValueError for a malformed row or a row of another domain.
    """
    own = tuple(rows)
    for row in own:
        if row.domain != domain:
            raise ValueError(f"a row of {row.domain} among the rows of {domain}: {row.text!r}")
    enforcer = build_enforcer(own)
    sets = {subject: _compute(enforcer, subject, domain) for subject in affected_subjects(own)}
    return DomainPolicy(domain=domain, rows=own, enforcer=enforcer, sets=sets)


def rows_by_domain(rows: Iterable[PolicyRow]) -> dict[str, list[PolicyRow]]:
    """Per-medspa rows grouped by their medspa (checked: never the platform domain)."""
    grouped: dict[str, list[PolicyRow]] = {}
    for row in rows:
        grouped.setdefault(_check_extra_row(row).domain, []).append(row)
    return grouped


class PolicyEngine:
    """The baseline enforcer, each tailored medspa's policy, and the permission sets; one per
    process, built at startup.

    A medspa without rows of its own answers like the baseline (no Casbin work of its own).
    A medspa with rows has a `DomainPolicy`; a change to its rows replaces that medspa's
    policy only (`install`), leaving every other medspa's cached sets alone. `permissions` is
    the only caller of Casbin, and for the subjects the policy names it finds every set
    already computed. Nothing awaits while the dicts are read or filled, so asyncio tasks
    cannot interleave there.
    """

    def __init__(self, extra_rows: Iterable[PolicyRow] = ()) -> None:
        self._baseline = build_enforcer()
        self._baseline_sets: dict[str, PermissionSet] = {}
        self._reworded: dict[tuple[str, str], PermissionSet] = {}
        self._domains: dict[str, DomainPolicy] = {}
        self._version = 1
        self.reload(extra_rows)

    @property
    def version(self) -> int:
        """Bumped by every `install` (and so every `reload`)."""
        return self._version

    @property
    def tailored_domains(self) -> frozenset[str]:
        """The medspas with rows of their own."""
        return frozenset(self._domains)

    def rows_of(self, domain: str) -> tuple[PolicyRow, ...]:
        """The rows of one medspa the engine currently answers with."""
        policy = self._domains.get(domain)
        return policy.rows if policy else ()

    def reload(self, extra_rows: Iterable[PolicyRow]) -> None:
        """Replace every per-medspa row at once (built here, on the caller's thread).

        Every policy is built before anything is replaced, so a bad row leaves the engine
        answering with the previous policy.
        """
        grouped = rows_by_domain(extra_rows)
        built = {domain: build_domain_policy(domain, rows) for domain, rows in grouped.items()}
        gone = {domain: None for domain in self._domains if domain not in built}
        self.install({**built, **gone})

    def install(self, policies: Mapping[str, DomainPolicy | None]) -> None:
        """Swap in the given medspas' policies (None: the medspa has no rows any more).

        Only those medspas' cached sets change; the version is bumped.
        """
        for domain, policy in policies.items():
            if policy is None:
                self._domains.pop(domain, None)
            else:
                self._domains[domain] = policy
        stale = [key for key in self._reworded if key[1] in policies]
        for key in stale:
            del self._reworded[key]
        self._version += 1

    def permissions(self, subject: str, domain: str) -> PermissionSet:
        """The permission set of one subject (role or `scope:<name>`) in one domain.

        A medspa's own sets were computed when its rows were installed; the baseline's are
        computed once, on first use, and kept.
        """
        if domain == PLATFORM_DOMAIN:
            cached = self._baseline_sets.get(subject)
            if cached is None:
                cached = self._baseline_sets[subject] = _compute(self._baseline, subject, domain)
            return cached
        policy = self._domains.get(domain)
        if policy is not None and subject in policy.sets:
            return policy.sets[subject]
        # A medspa without rows of its own, or whose rows do not touch this subject, answers
        # exactly like the baseline: reuse it (only the wording of "no rule" denials names the
        # medspa), so a new tenant costs no Casbin calls.
        key = (subject, domain)
        cached = self._reworded.get(key)
        if cached is None:
            cached = self._reworded[key] = self.permissions(subject, PLATFORM_DOMAIN).reworded(
                lambda action: _no_rule(subject, action, domain)
            )
        return cached

    def permissions_for(self, subjects: Sequence[str], domain: str) -> PermissionSet:
        """The union of the subjects' permission sets (a partner key with several scopes).

        No subjects at all denies everything.
        """
        if not subjects:
            return PermissionSet.deny_all(f"no role or scope in {_describe_domain(domain)}")
        return functools.reduce(
            PermissionSet.union, (self.permissions(subject, domain) for subject in subjects)
        )


def _compute(enforcer: casbin.Enforcer, subject: str, domain: str) -> PermissionSet:
    """Ask Casbin about every action once."""
    grants: dict[Action, Grant] = {}
    denials: dict[Action, str] = {}
    for action in Action:
        allowed, rule = enforcer.enforce_ex(subject, domain, action.resource, action.verb)
        rule_text = ", ".join(("p", *rule)) if rule else ""
        if allowed:
            grants[action] = Grant(action=action, scope=Scope(rule[4]), rule=rule_text)
        elif rule:
            denials[action] = f"denied by {rule_text}"
        else:
            denials[action] = _no_rule(subject, action, domain)
    return PermissionSet(grants, denials)


def _no_rule(subject: str, action: Action, domain: str) -> str:
    return f"no rule grants {subject} {action} in {_describe_domain(domain)}"
