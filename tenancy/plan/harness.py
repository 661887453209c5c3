"""Run a Pulumi Python program with no engine and no cloud: mocks that answer like AWS, and a
monitor that records every registration with what `MockResourceArgs` leaves out (parent, protect,
retainOnDelete, dependencies, property dependencies, provider).

Tests and `tenancy plan` use this same harness on the unchanged program, so what they see is what
`pulumi preview` would register.
"""

from __future__ import annotations

import contextvars
import hashlib
import runpy
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

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


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict
    outputs: dict
    id: str
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str
    read: bool = False
    raw_inputs: Any = None  # the registration's google.protobuf.Struct, unknowns and secrets intact

    @property
    def tags(self) -> dict:
        return plain(self.inputs.get("tags")) or {}

    def input(self, key: str) -> Any:
        return plain(self.inputs.get(key))


@dataclass
class Recording:
    """Everything one program run registered, in order, and its resolved stack outputs."""

    registrations: list[Registration]
    outputs: dict = field(default_factory=dict)

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
        return next(r for r in self.registrations if r.urn == urn)

    def component(self, type_: str, name: str) -> Registration:
        return next(r for r in self.registrations if r.type == type_ and r.name == name)

    def tenant(self, environment: str, tenant_id: str) -> list[Registration]:
        """Every registration below a tenant's component."""
        return self.descendants(self.component(TENANT_COMPONENT_TYPE, tenant_prefix(environment, tenant_id)).urn)

    def descendants(self, urn: str) -> list[Registration]:
        children: dict[str, list[Registration]] = {}
        for r in self.registrations:
            children.setdefault(r.parent, []).append(r)
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


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps every registration request's options, not just its inputs."""

    def __init__(self, mocks: pulumi.runtime.Mocks, on_register: Optional[Callable[[int], None]] = None):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.on_register = on_register

    def _record(self, request, response, read: bool) -> None:
        inputs = rpc.deserialize_properties(request.properties if read else request.object)
        registered = self.resources.get(response.urn)
        self.registrations.append(Registration(
            urn=response.urn, type=request.type, name=request.name,
            custom=True if read else bool(request.custom), parent=request.parent, inputs=inputs,
            outputs=dict(registered.state) if registered else {}, id=registered.id if registered else "",
            protect=bool(getattr(request, "protect", False)),
            retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
            dependencies=list(getattr(request, "dependencies", [])),
            property_dependencies={k: list(v.urns) for k, v in getattr(request, "propertyDependencies", {}).items()},
            provider=request.provider, read=read,
            raw_inputs=struct_pb2.Struct.FromString(
                (request.properties if read else request.object).SerializeToString())))

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, response, read=False)
            if self.on_register:
                self.on_register(len(self.registrations))
        return response

    def ReadResource(self, request):
        response = super().ReadResource(request)
        self._record(request, response, read=True)
        return response


def _forget_modules_under(directory: Path) -> None:
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
        _forget_modules_under(program_dir)
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
        try:
            _sync_await(run_pulumi_func(program))
        except Exception as exc:
            exc.recording = Recording(monitor.registrations)  # what was registered before it failed
            raise
        root = pulumi.runtime.get_root_resource()
        outputs = {name: _resolve_masked(value) for name, value in (getattr(root, "outputs", None) or {}).items()}
        return Recording(monitor.registrations, outputs)

    return contextvars.Context().run(run)
