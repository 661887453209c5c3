"""Run a Pulumi Python program with no engine and no cloud: mocks that answer like AWS, and a
monitor that records every registration with what `MockResourceArgs` leaves out (parent, protect,
retainOnDelete, dependencies, property dependencies, provider).

Tests and `tenancy plan` use this same harness on the unchanged program, so what they see is what
`pulumi preview` would register.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import gc
import hashlib
import runpy
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi
from google.protobuf import struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import provider_pb2, resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from tenancy.registry.naming import TENANT_COMPONENT_TYPE, tenant_prefix
from tenancy.registry.project import config_from_stack_file, project_name

ACCOUNT_ID = "123456789012"
SECRET_MASK = "[secret]"  # what a secret stack output shows offline: never its value
DEFAULT_REGION = "eu-west-1"


SECRET_KEY, SECRET_SIG = rpc._special_sig_key, rpc._special_secret_sig


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_KEY) == SECRET_SIG


def plain(value: Any) -> Any:
    """A recorded value with every secret wrapper removed, for comparisons."""
    if is_secret(value):
        return plain(value.get("value"))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


_EMPTY: dict = {}


class Registration:
    """One registration as the engine would receive it: type, name, inputs (decoded once from the
    wire, secrets wrapped as on the wire, unknowns as the SDK's `Unknown`), the options
    `MockResourceArgs` leaves out, and what the mocks answered.

    Kept small, since a plan holds one per resource: strings interned (URNs, types, keys and short
    values repeat across thousands of registrations), no protobuf kept, and the mocks' answer
    stored as what it adds to the inputs (`outputs` merges them back on access)."""

    __slots__ = ("urn", "type", "name", "custom", "parent", "inputs", "_added", "_removed", "id", "protect",
                 "retain_on_delete", "dependencies", "property_dependencies", "provider", "read")

    def __init__(self, urn: str, type: str, name: str, custom: bool, parent: str, inputs: dict, outputs: dict,
                 id: str, protect: bool, retain_on_delete: bool, dependencies: list[str],
                 property_dependencies: dict[str, list[str]], provider: str, read: bool = False,
                 raw_inputs: Any = None):  # raw_inputs: accepted for compatibility, never kept
        self.urn, self.type, self.name, self.custom, self.parent = urn, type, name, custom, parent
        self.inputs, self.id, self.protect, self.retain_on_delete = inputs, id, protect, retain_on_delete
        self.dependencies, self.property_dependencies = dependencies, property_dependencies
        self.provider, self.read = provider, read
        self._added, self._removed = _delta(inputs, outputs)

    @property
    def outputs(self) -> dict:
        """The state the mocks answered (inputs plus what the provider computes)."""
        if not self._added and not self._removed:
            return dict(self.inputs)
        out = {k: v for k, v in self.inputs.items() if k not in self._removed} if self._removed else dict(self.inputs)
        out.update(self._added)
        return out

    @property
    def raw_inputs(self) -> struct_pb2.Struct:
        """The inputs as the wire's protobuf Struct (built on demand; nothing keeps it)."""
        return to_struct(self.inputs)

    @property
    def tags(self) -> dict:
        return plain(self.inputs.get("tags")) or {}

    def input(self, key: str) -> Any:
        return plain(self.inputs.get(key))

    def __repr__(self) -> str:
        return f"Registration({self.type} {self.name!r}, urn={self.urn!r})"


def _delta(inputs: dict, outputs: dict) -> tuple[dict, tuple]:
    """What `outputs` adds to or changes in `inputs` (by identity first: the mocks copy the inputs),
    and the input keys it drops."""
    if outputs is inputs:
        return _EMPTY, ()
    added = {k: v for k, v in outputs.items() if k not in inputs or (inputs[k] is not v and inputs[k] != v)}
    removed = tuple(k for k in inputs if k not in outputs)
    return (added or _EMPTY), removed


_intern = sys.intern


def compact(value: Any) -> Any:
    """A decoded value with its dict keys and short strings interned: a plan repeats the same keys,
    tags, ids and ARNs across thousands of registrations."""
    if isinstance(value, str):
        return _intern(value) if len(value) <= 256 else value
    if isinstance(value, dict):
        return {_intern(k) if isinstance(k, str) else k: compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compact(v) for v in value]
    return value


class _NotPlain(Exception):
    """A value the fast encoder leaves to the SDK's own serializer (assets, resources, outputs)."""


def _value(value: Any) -> Any:
    """A decoded value as google.protobuf's Struct accepts it (as the SDK serializes it)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {k: _value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    raise _NotPlain(type(value).__name__)


def to_struct(values: dict) -> struct_pb2.Struct:
    """A decoded property bag back on the wire: what `rpc.serialize_properties` gives for plain data
    (a key whose value is None is left out), synchronously; anything else through the SDK itself."""
    struct = struct_pb2.Struct()
    try:
        struct.update({k: _value(v) for k, v in values.items() if v is not None})
    except _NotPlain:
        struct = _sync_await(rpc.serialize_properties(values, {}))
    return struct


@dataclass
class Recording:
    """Everything one program run registered, in order, and its resolved stack outputs."""

    registrations: list[Registration]
    outputs: dict = field(default_factory=dict)
    _index: Optional[tuple] = field(default=None, repr=False, compare=False)

    def _indexes(self) -> tuple[dict[str, Registration], dict[str, list[Registration]]]:
        """By URN and children by parent, built once (again only if registrations were added)."""
        if self._index is None or self._index[0] != len(self.registrations):
            by_urn: dict[str, Registration] = {}
            children: dict[str, list[Registration]] = {}
            for r in self.registrations:
                by_urn.setdefault(r.urn, r)
                children.setdefault(r.parent, []).append(r)
            self._index = (len(self.registrations), by_urn, children)
        return self._index[1], self._index[2]

    @property
    def resources(self) -> list[Registration]:
        """Cloud resources only: no components, providers or stack references."""
        return [r for r in self.registrations if r.custom and not r.type.startswith("pulumi:")]

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def named(self, name: str) -> Registration:
        found = [r for r in self.registrations if r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} registrations named {name!r}")
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        found = self._indexes()[0].get(urn)
        if found is None:
            raise StopIteration(urn)  # as the linear search did
        return found

    def component(self, type_: str, name: str) -> Registration:
        return next(r for r in self.registrations if r.type == type_ and r.name == name)

    def tenant(self, environment: str, tenant_id: str) -> list[Registration]:
        """Every registration below a tenant's component."""
        return self.descendants(self.component(TENANT_COMPONENT_TYPE, tenant_prefix(environment, tenant_id)).urn)

    def descendants(self, urn: str) -> list[Registration]:
        children = self._indexes()[1]
        out, todo = [], [urn]
        while todo:
            for child in children.get(todo.pop(), []):
                out.append(child)
                todo.append(child.urn)
        return out


def _hex(*parts: str, n: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]


class CloudMocks(pulumi.runtime.Mocks):
    """Answers like the providers would: AWS-shaped ids, ARNs and endpoints, stable per name, so two
    runs of the same program produce the same values."""

    def __init__(self, region: str, stack_outputs: Optional[dict[str, dict]] = None, preview: bool = False):
        self.region = region
        self.stack_outputs = stack_outputs or {}
        self.preview = preview

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline",
                    "userId": "AIDAOFFLINE", "id": ACCOUNT_ID}
        if args.token == "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
            # like an account whose cluster's provider exists (`pulumi preview` would fail otherwise)
            host = str(args.args.get("url", "")).removeprefix("https://")
            arn = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}"
            return {"arn": arn, "url": host, "id": arn, "clientIdLists": ["sts.amazonaws.com"],
                    "thumbprintLists": [], "tags": {}}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{z}" for z in "abcdef"]
            return {"names": names, "zoneIds": [f"euw1-az{i}" for i in range(1, 7)], "id": self.region}
        return {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == "pulumi:pulumi:StackReference":
            stack = args.inputs.get("name") or args.resource_id
            return stack, {"name": stack, "outputs": self.stack_outputs.get(stack, {}),
                           "secretOutputNames": []}
        if not args.custom:
            return "", {}
        if self.preview:  # like the engine in preview: what the provider computes is not known yet
            return "", dict(args.inputs)
        state = dict(args.inputs)
        rid = _resource_state(args.typ, args.name, state, self.region)
        return rid, state


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"


def _resource_state(typ: str, name: str, state: dict, region: str) -> str:
    """Fill in what the provider would compute; return the id."""
    h = _hex(typ, name)
    ec2_prefixes = {
        "aws:ec2/vpc:Vpc": "vpc", "aws:ec2/subnet:Subnet": "subnet", "aws:ec2/securityGroup:SecurityGroup": "sg",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg", "aws:ec2/internetGateway:InternetGateway": "igw",
        "aws:ec2/natGateway:NatGateway": "nat", "aws:ec2/eip:Eip": "eipalloc", "aws:ec2/routeTable:RouteTable": "rtb",
        "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc", "aws:ec2/networkAcl:NetworkAcl": "acl",
        "aws:ec2/flowLog:FlowLog": "fl", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
    }
    if typ in ec2_prefixes:
        rid = f"{ec2_prefixes[typ]}-{h}"
        state.setdefault("arn", _arn("ec2", region, f"{ec2_prefixes[typ]}/{rid}"))
        return rid
    auto_name = state.get("name") or f"{name}-{h[:7]}"
    if typ == "aws:kms/key:Key":
        key_id = f"{h[:8]}-{h[8:12]}-4{h[12:15]}-8{h[15:17]}{h[:1]}-{_hex(name, n=12)}"
        state.update(keyId=key_id, arn=_arn("kms", region, f"key/{key_id}"))
        return key_id
    if typ == "aws:kms/alias:Alias":
        state.update(arn=_arn("kms", region, state["name"]), targetKeyArn=_arn("kms", region, f"key/{state.get('targetKeyId')}"))
        return state["name"]
    if typ == "aws:iam/role:Role":
        state.update(name=auto_name, arn=f"arn:aws:iam::{ACCOUNT_ID}:role/{auto_name}", uniqueId=f"AROA{h.upper()}")
        return auto_name
    if typ == "aws:iam/rolePolicy:RolePolicy":
        return f"{state.get('role')}:{auto_name}"
    if typ == "aws:sqs/queue:Queue":
        state.update(name=auto_name, arn=_arn("sqs", region, auto_name),
                     url=f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{auto_name}")
        return state["url"]
    if typ == "aws:rds/instance:Instance":
        identifier = state.get("identifier") or auto_name
        address = f"{identifier}.c{h[:10]}.{region}.rds.amazonaws.com"
        port = state.get("port") or 5432
        state.update(identifier=identifier, address=address, port=port, endpoint=f"{address}:{port}",
                     resourceId=f"db-{h.upper()}", arn=_arn("rds", region, f"db:{identifier}"))
        if state.get("manageMasterUserPassword"):  # RDS creates the secret: `rds!db-<uuid>`
            state["masterUserSecrets"] = [{
                "kmsKeyId": state.get("masterUserSecretKmsKeyId"), "secretStatus": "active",
                "secretArn": _arn("secretsmanager", region, f"secret:rds!db-{_hex(name, n=8)}-{h[:6]}")}]
        return identifier
    if typ in ("aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup",
               "aws:elasticache/subnetGroup:SubnetGroup"):
        kind = {"aws:rds/subnetGroup:SubnetGroup": ("rds", "subgrp"), "aws:rds/parameterGroup:ParameterGroup": ("rds", "pg"),
                "aws:elasticache/subnetGroup:SubnetGroup": ("elasticache", "subnetgroup")}[typ]
        state.update(name=auto_name, arn=_arn(kind[0], region, f"{kind[1]}:{auto_name}"))
        return auto_name
    if typ == "aws:secretsmanager/secret:Secret":
        arn = _arn("secretsmanager", region, f"secret:{auto_name}-{h[:6]}")
        state.update(name=auto_name, arn=arn)
        return arn
    if typ == "aws:secretsmanager/secretVersion:SecretVersion":
        state.update(versionId=_hex(name, n=32))
        return f"{state.get('secretId')}|{state['versionId']}"
    if typ == "aws:elasticache/replicationGroup:ReplicationGroup":
        group = state.get("replicationGroupId") or auto_name
        state.update(replicationGroupId=group, arn=_arn("elasticache", region, f"replicationgroup:{group}"),
                     primaryEndpointAddress=f"master.{group}.{h[:6]}.euw1.cache.amazonaws.com",
                     readerEndpointAddress=f"replica.{group}.{h[:6]}.euw1.cache.amazonaws.com")
        return group
    if typ == "aws:elasticache/user:User":
        state.update(arn=_arn("elasticache", region, f"user:{state['userId']}"))
        return state["userId"]
    if typ == "aws:elasticache/userGroup:UserGroup":
        state.update(arn=_arn("elasticache", region, f"usergroup:{state['userGroupId']}"))
        return state["userGroupId"]
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        state.update(name=auto_name, arn=_arn("logs", region, f"log-group:{auto_name}"))
        return auto_name
    appconfig_ids = {"aws:appconfig/environment:Environment": "environmentId",
                     "aws:appconfig/configurationProfile:ConfigurationProfile": "configurationProfileId"}
    if typ in appconfig_ids:
        state[appconfig_ids[typ]] = h[:7]
        state["arn"] = _arn("appconfig", region, f"application/{state.get('applicationId')}/{h[:7]}")
        return f"{h[:7]}:{state.get('applicationId')}"
    if typ == "aws:appconfig/hostedConfigurationVersion:HostedConfigurationVersion":
        state.update(versionNumber=1, arn=_arn("appconfig", region, (
            f"application/{state.get('applicationId')}/configurationprofile/{state.get('configurationProfileId')}"
            "/hostedconfigurationversion/1")))
        return f"{state.get('applicationId')}/{state.get('configurationProfileId')}/1"
    if typ == "aws:apigateway/apiKey:ApiKey":
        state.update(value=f"offline-api-key-{h[:20]}", arn=_arn("apigateway", region, f"/apikeys/{h[:10]}"))
        return h[:10]
    if typ == "aws:sns/topic:Topic":
        state.update(name=auto_name, arn=_arn("sns", region, auto_name))
        return state["arn"]
    if typ == "random:index/randomPassword:RandomPassword":
        state.update(result=f"offline-{_hex(name, n=24)}", bcryptHash="$2a$10$offline")
        return "none"
    if typ.startswith("kubernetes:"):
        metadata = dict(state.get("metadata") or {})
        metadata.setdefault("name", f"{name}-{h[:8]}")
        state["metadata"] = metadata
        ns = metadata.get("namespace")
        return f"{ns}/{metadata['name']}" if ns else metadata["name"]
    state.setdefault("arn", _arn(typ.split(":")[1].split("/")[0], region, f"{name}-{h[:7]}"))
    return f"{name}-{h[:7]}"


class _Registered(Mapping):
    """`MockMonitor.resources` (URN -> ResourceRegistration(urn, id, state)) read from the recording,
    so each resource's state is kept once."""

    def __init__(self, monitor: RecordingMonitor):
        self.monitor = monitor

    def __getitem__(self, urn: str) -> pulumi_mocks.MockMonitor.ResourceRegistration:
        r = self.monitor.by_urn[urn]
        return pulumi_mocks.MockMonitor.ResourceRegistration(r.urn, r.id, r.outputs)

    def __iter__(self):
        return iter(self.monitor.by_urn)

    def __len__(self) -> int:
        return len(self.monitor.by_urn)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps every registration with its options, not just its inputs.

    It answers as MockMonitor does (the same URNs, mocks and response), but decodes each request
    once and encodes each answer without pumping the event loop, so it may run on the loop's own
    thread (`run_function` runs it so); the requests themselves are never kept."""

    def __init__(self, mocks: pulumi.runtime.Mocks, on_register: Optional[Callable[[int], None]] = None):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.by_urn: dict[str, Registration] = {}
        self.resources = _Registered(self)
        self.on_register = on_register

    def _register(self, request, read: bool):
        _ensure_event_loop()  # deserializing a resource reference needs one on this thread
        props = request.properties if read else request.object
        inputs = compact(rpc.deserialize_properties(props))
        urn = _intern(self.make_urn(request.parent, request.type, request.name))
        args = pulumi_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=dict(inputs), provider=request.provider,
            resource_id=request.id if read else request.importId, custom=True if read else (request.custom or False),
            transforms=[] if read else pulumi_mocks._resolve_callbacks(request.transforms))
        id_, state = self.mocks.new_resource(args)
        answer = struct_pb2.Struct()
        answer.CopyFrom(props)
        added, removed = _delta(inputs, state)
        for key in removed:
            del answer[key]
        if added:
            extra = to_struct(added)
            for key in added:
                if key in extra:
                    answer.fields[key].CopyFrom(extra.fields[key])
                elif key in answer:
                    del answer[key]
        deps = getattr(request, "propertyDependencies", None) or {}
        registration = Registration(
            urn=urn, type=_intern(request.type), name=_intern(request.name), custom=args.custom,
            parent=_intern(request.parent), inputs=inputs, outputs=state, id=_intern(id_ or ""),
            protect=bool(getattr(request, "protect", False)),
            retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
            dependencies=[_intern(u) for u in getattr(request, "dependencies", ())],
            property_dependencies={_intern(k): [_intern(u) for u in v.urns] for k, v in deps.items()},
            provider=_intern(request.provider), read=read)
        self.registrations.append(registration)
        self.by_urn[urn] = registration
        if self.on_register and not read:
            self.on_register(len(self.registrations))
        return urn, id_, answer

    def RegisterResource(self, request):
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        urn, id_, answer = self._register(request, read=False)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=answer)

    def ReadResource(self, request):
        urn, _, answer = self._register(request, read=True)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=answer)

    def Invoke(self, request):
        _ensure_event_loop()
        args = rpc.deserialize_properties(request.args)
        if request.tok == "pulumi:pulumi:getResource":
            found = self.by_urn.get(args["urn"])
            if found is None:
                raise Exception(f"unknown resource {args['urn']}")
            result = {"urn": found.urn, "id": found.id, "state": found.outputs}
            return resource_pb2.ResourceInvokeResponse(failures=None, **{"return": to_struct(result)})
        answer = self.mocks.call(pulumi_mocks.MockCallArgs(token=request.tok, args=args, provider=request.provider))
        failures = None
        if not isinstance(answer, dict):
            answer, failed = answer
            failures = [provider_pb2.CheckFailure(property=f[0], reason=f[1]) for f in failed or []]
        return resource_pb2.ResourceInvokeResponse(failures=failures, **{"return": to_struct(answer)})


def forget_program_modules(directory: Path) -> None:
    """So that a second program with a package of the same name (`components`) gets its own.

    Only the program's own modules: never its virtualenv's packages, nor this harness."""
    root = directory.resolve()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or name == "__main__" or name == "tenancy" or name.startswith("tenancy."):
            continue
        try:
            rel = Path(file).resolve().relative_to(root)
        except ValueError:
            continue
        if "site-packages" in rel.parts or rel.parts[0].startswith("."):
            continue
        del sys.modules[name]


_forget_modules_under = forget_program_modules  # its former name


def _resolve_masked(value: Any) -> Any:
    """A stack output's value with every secret part replaced by SECRET_MASK."""
    if isinstance(value, dict):
        return {k: _resolve_masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_resolve_masked(v) for v in value]
    if isinstance(value, pulumi.Output):
        if _sync_await(value.is_secret()):
            return SECRET_MASK
        return _resolve_masked(_sync_await(value.future()))
    return value


def run_program(program_dir: Path | str, stack: str = "dev", config: Optional[dict[str, str]] = None,
                preview: bool = False, stack_outputs: Optional[dict[str, dict]] = None,
                on_register: Optional[Callable[[int], None]] = None) -> Recording:
    """Run the program in `program_dir` as `stack`, with `config` (default: its Pulumi.<stack>.yaml)."""
    program_dir = Path(program_dir).resolve()
    if config is None:
        config = config_from_stack_file(program_dir / f"Pulumi.{stack}.yaml")

    def program() -> None:
        forget_program_modules(program_dir)
        # Run the directory, as the CLI's language host does: its modules import from it.
        runpy.run_path(str(program_dir), run_name="__main__")

    return run_function(program, project_name(program_dir), stack, config, preview, stack_outputs, on_register)


def run_function(program: Callable[[], None], project: str = "test", stack: str = "dev",
                 config: Optional[dict[str, str]] = None, preview: bool = False,
                 stack_outputs: Optional[dict[str, dict]] = None,
                 on_register: Optional[Callable[[int], None]] = None) -> Recording:
    """Run `program` (a callable that registers resources, such as one component) exactly as
    `run_program` runs a whole program: the same mocks, monitor and recording."""
    config = dict(config or {})
    region = config.get("aws:region", DEFAULT_REGION)
    monitor = RecordingMonitor(CloudMocks(region, stack_outputs, preview=preview), on_register)

    def run() -> Recording:
        pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor)
        set_all_config(config, [])
        pump = _Pump(monitor)
        pulumi.runtime.register_stack_transformation(pump)

        def program_in_its_task() -> None:
            pump.start()
            program()

        try:
            _sync_await(run_pulumi_func(program_in_its_task))
        except Exception as exc:
            exc.recording = Recording(monitor.registrations)  # what was registered before it failed
            raise
        root = pulumi.runtime.get_root_resource()
        outputs = {name: _resolve_masked(value) for name, value in (getattr(root, "outputs", None) or {}).items()}
        return Recording(monitor.registrations, outputs)

    with _offline_runtime():
        return contextvars.Context().run(run)


# -- running the SDK lean ---------------------------------------------------------------------------
#
# Offline, the SDK does work nobody reads and holds more at once than it needs: it hands every
# engine call to a thread, captures a stack trace per resource (source positions for the engine's
# diagnostics), and runs the whole program's constructors before any registration completes, so a
# stack of a thousand tenants keeps every pending registration (tasks, futures, requests) alive at
# once. The harness answers on the loop's own thread, skips the traces, lets the loop catch up while
# the program constructs (the real engine, a separate process, registers concurrently too) and
# collects garbage less often. What is registered, and how, does not change.

PENDING_LIMIT = 64  # registrations a program may have pending before construction waits for the loop
GC_THRESHOLD = (20_000, 20, 20)  # young collections every 20,000 allocations instead of 700


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """The loop's default executor: runs each engine call at once on the calling thread (the
    recording monitor never pumps the loop, so it may), instead of handing it to a thread."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)  # never starts its thread

    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 handed to the awaiting coroutine, as a thread would
            future.set_exception(exc)
        return future


class _Pump:
    """A stack transformation (it changes nothing) that lets the event loop run while the program's
    own code constructs resources, whenever more than PENDING_LIMIT registrations wait.

    It runs the loop as the SDK's `_sync_await` does (the program's task steps aside, the loop runs
    what is ready, the task resumes), but never blocks and keeps only the handles the enclosing
    loop iteration still expects, which it counts when the program starts."""

    def __init__(self, monitor: RecordingMonitor):
        self.monitor = monitor
        self.constructed = 0
        self.task: Optional[asyncio.Task] = None
        self.expected = 0  # handles the loop iteration that runs the program's first step still pops

    def start(self) -> None:
        """Called first thing in the program's own task."""
        self.task = asyncio.current_task()
        self.expected = len(asyncio.get_event_loop()._ready)  # type: ignore[attr-defined]

    def __call__(self, args):
        self.constructed += 1
        if self.constructed - len(self.monitor.registrations) <= PENDING_LIMIT:
            return None
        if self.task is None or asyncio.current_task() is not self.task:  # inside an apply: never nest
            return None
        loop = asyncio.get_event_loop()
        ready = loop._ready  # type: ignore[attr-defined]
        asyncio.tasks._leave_task(loop, self.task)
        try:
            for _ in range(64):
                if not ready:
                    break
                loop._run_once()  # type: ignore[attr-defined]
                if self.constructed - len(self.monitor.registrations) <= PENDING_LIMIT // 2:
                    break
        finally:
            while len(ready) < self.expected:  # what the enclosing iteration will pop
                handle = asyncio.Handle(lambda: None, (), loop)
                handle.cancel()
                ready.append(handle)
            asyncio.tasks._enter_task(loop, self.task)
        return None


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


@contextlib.contextmanager
def _offline_runtime():
    """A fresh event loop whose engine calls run inline, no stack traces, fewer collections; all
    restored afterwards. Inside a running loop (a program run from a test's own run) nothing changes."""
    if asyncio._get_running_loop() is not None:
        yield
        return
    policy = asyncio.get_event_loop_policy()
    previous = getattr(getattr(policy, "_local", None), "_loop", None)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(_InlineExecutor())
    asyncio.set_event_loop(loop)
    saved_trace, saved_threshold = sdk_resource._get_stack_trace, gc.get_threshold()
    sdk_resource._get_stack_trace = _no_stack_trace
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        sdk_resource._get_stack_trace = saved_trace
        gc.set_threshold(*saved_threshold)
        asyncio.set_event_loop(previous)
        if not any(not t.done() for t in asyncio.all_tasks(loop)):
            loop.close()
