#!/usr/bin/env python3
"""moto as the tests' AWS, refusing what AWS refuses where moto alone would accept it.

Run exactly like `moto_server`: `moto_server.py -H 127.0.0.1 -p PORT`.

- AMI ids are regional: RunInstances refuses an image the region does not have
  (moto's own `MOTO_ENABLE_AMI_VALIDATION`), as EC2 answers `InvalidAMIID.NotFound`.
- The public SSM parameters the templates name exist in every region, each holding that
  region's own image id, and that image exists in the region's EC2: as Canonical and AWS
  publish them. moto carries only Amazon Linux's parameters.
- The Deep Learning AMI is not published in `REGIONS_WITHOUT_DLAMI`, so a template whose
  image a region lacks can be tested.
- Cost Explorer's cost allocation tags (ListCostAllocationTags, UpdateCostAllocationTagsStatus),
  which moto lacks: every tag is Inactive until activated, as in Billing.
- SageMaker Studio, which moto lacks: CreateUserProfile, DescribeUserProfile, ListUserProfiles,
  DeleteUserProfile, CreateSpace, DescribeSpace, ListSpaces, UpdateSpace, DeleteSpace, CreateApp,
  DescribeApp, ListApps, DeleteApp and CreatePresignedDomainUrl (with its LandingUri; a JupyterLab
  app only in a space, a Canvas only under a user profile; a space's idle shutdown only where its
  domain enabled it, within the domain's bounds; an execution role only if it exists and
  trusts SageMaker; a VpcOnly domain only with its apps' security groups, in its VPC),
  UpdateDomain (its default user settings), their tags in ListTags/AddTags/DeleteTags, and
  SageMaker's own input checks (lengths, ranges, patterns, enums) on them and on the domain
  operations. Apps are InService at once; a deleted app stays listed as Deleted until its user
  profile or space goes. Domains get ids of SageMaker's form, so two may share a name as in
  SageMaker; CreateDomain answers the DomainId, and DeleteDomain refuses while the domain has user
  profiles or spaces.
"""

import collections
import hashlib
import json
import os
import re
import secrets
import string
import sys
from itertools import count

os.environ.setdefault("MOTO_ENABLE_AMI_VALIDATION", "true")

from moto.ec2.models import amis as ec2_amis  # noqa: E402
from moto.server import main  # noqa: E402
from moto.ssm import models as ssm_models  # noqa: E402
from moto.ce import responses as ce_responses  # noqa: E402
from moto.core.responses import ActionResult, EmptyResult  # noqa: E402
from moto.core.utils import get_service_model, utcnow  # noqa: E402
from moto.sagemaker import models as sagemaker_models  # noqa: E402
from moto.sagemaker.exceptions import (  # noqa: E402
    ResourceInUseException,
    ResourceNotFound,
    ValidationError,
)
from moto.sagemaker.responses import SageMakerResponse  # noqa: E402
from moto.sagemaker.utils import arn_formatter  # noqa: E402

UBUNTU = "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id"
DLAMI = (
    "/aws/service/deeplearning/ami/x86_64/"
    "base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id"
)
# parameter -> (image name, publisher's account)
PUBLIC_IMAGES = {
    UBUNTU: ("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261115", "099720109477"),
    DLAMI: ("Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) 20261118", "898082745236"),
}
REGIONS_WITHOUT_DLAMI = {"ap-south-2"}


def published(parameter, region):
    return not (parameter == DLAMI and region in REGIONS_WITHOUT_DLAMI)


def image_id(parameter, region):
    """The image a parameter holds in a region: different in every region, stable per run."""
    digest = hashlib.sha256(f"{parameter}@{region}".encode()).hexdigest()
    return "ami-" + digest[:17]


_check_loading_status = ssm_models.ParameterDict._check_loading_status


def check_loading_status(self, key):
    _check_loading_status(self, key)
    key = str(key or "")
    # `dict`'s own methods: ParameterDict's call back into this check.
    if key in PUBLIC_IMAGES and published(key, self.region_name) and not dict.get(self, key):
        collections.defaultdict.__getitem__(self, key).append(
            ssm_models.Parameter(
                account_id=self.account_id,
                name=key,
                value=image_id(key, self.region_name),
                parameter_type="String",
                description=None,
                allowed_pattern=None,
                keyid=None,
                last_modified_date=utcnow(),
                version=1,
                data_type="aws:ec2:image",
            )
        )


ssm_models.ParameterDict._check_loading_status = check_loading_status

_load_amis = ec2_amis.AmiBackend._load_amis


def load_amis(self):
    _load_amis(self)
    region = getattr(self, "region_name", "us-east-1")
    for parameter, (name, owner) in PUBLIC_IMAGES.items():
        if not published(parameter, region):
            continue
        ami = image_id(parameter, region)
        self.amis[ami] = ec2_amis.Ami(
            self,
            ami_id=ami,
            name=name,
            description=name,
            owner_id=owner,
            public=True,
            virtualization_type="hvm",
            architecture="x86_64",
            root_device_type="ebs",
            root_device_name="/dev/sda1",
            region_name=region,
        )


ec2_amis.AmiBackend._load_amis = load_amis

# account id -> {tag key: "Active" | "Inactive"}
COST_TAG_STATUS = collections.defaultdict(dict)


def list_cost_allocation_tags(self):
    params = json.loads(self.body or "{}")
    statuses = COST_TAG_STATUS[self.current_account]
    keys = params.get("TagKeys") or sorted(statuses)
    tags = [
        {"TagKey": key, "Type": "UserDefined", "Status": statuses.get(key, "Inactive")}
        for key in keys
    ]
    if params.get("Status"):
        tags = [tag for tag in tags if tag["Status"] == params["Status"]]
    return json.dumps({"CostAllocationTags": tags})


def update_cost_allocation_tags_status(self):
    params = json.loads(self.body or "{}")
    for entry in params.get("CostAllocationTagsStatus", []):
        COST_TAG_STATUS[self.current_account][entry["TagKey"]] = entry["Status"]
    return json.dumps({"Errors": []})


ce_responses.CostExplorerResponse.list_cost_allocation_tags = list_cost_allocation_tags
ce_responses.CostExplorerResponse.update_cost_allocation_tags_status = (
    update_cost_allocation_tags_status
)

SageMakerBackend = sagemaker_models.SageMakerModelBackend
_sagemaker_init = SageMakerBackend.__init__


def sagemaker_init(self, region_name, account_id):
    _sagemaker_init(self, region_name, account_id)
    # On the backend, so that /moto-api/reset forgets them. ARN -> Studio.
    self.studio = {}
    self.efs_uids = count(200001)


SageMakerBackend.__init__ = sagemaker_init


class Studio:
    """A user profile, space or app: what Describe* answers, and tags where moto's tagging looks."""

    def __init__(self, arn, tags, **shown):
        self.arn = arn
        self.tags = list(tags or [])
        self.shown = shown


_domain_init = sagemaker_models.Domain.__init__


def domain_init(self, *args, **kwargs):
    _domain_init(self, *args, **kwargs)
    # moto's id is `d-<name>`: a second domain of a name (SageMaker allows it) replaced the
    # first, and a name with capitals made an id SageMaker's own pattern refuses.
    alphabet = string.ascii_lowercase + string.digits
    self.id = "d-" + "".join(secrets.choice(alphabet) for _ in range(12))
    self.arn = arn_formatter("domain", self.id, self.account_id, self.region_name)
    self.url = f"https://{self.id}.studio.{self.region_name}.sagemaker.aws"
    self.tags = self.tags or []  # AddTags extends it


sagemaker_models.Domain.__init__ = domain_init

_create_domain = SageMakerBackend.create_domain


def execution_role(settings):
    """Refuses an execution role SageMaker could not act as (missing, or not trusting SageMaker),
    as SageMaker does when a domain or user profile names one."""
    arn = (settings or {}).get("ExecutionRole")
    if arn is None:
        return
    from moto.iam.models import iam_backends

    account = arn.split(":")[4]
    try:
        role = iam_backends[account]["global"].get_role_by_arn(arn)
    except Exception:
        role = None
    if role is None or "sagemaker.amazonaws.com" not in str(role.assume_role_policy_document):
        raise ValidationError(
            f"The execution role ARN \"{arn}\" is invalid. Please ensure that the role exists "
            "and that its trust relationship policy allows the action \"sts:AssumeRole\" for "
            "the service principal \"sagemaker.amazonaws.com\"."
        )


def app_security_groups(self, kwargs):
    """A VpcOnly domain's apps need security groups (DefaultUserSettings.SecurityGroups), each an
    existing group of the domain's VPC, as SageMaker requires."""
    groups = (kwargs.get("default_user_settings") or {}).get("SecurityGroups") or []
    if kwargs.get("app_network_access_type") == "VpcOnly" and not groups:
        raise ValidationError(
            "SecurityGroups in DefaultUserSettings are required when AppNetworkAccessType is "
            "VpcOnly."
        )
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[self.account_id][self.region_name]
    for group_id in groups:
        group = ec2.get_security_group_from_id(group_id)
        if group is None or group.vpc_id != kwargs.get("vpc_id"):
            raise ValidationError(
                f"Security group {group_id} does not exist in VPC {kwargs.get('vpc_id')}."
            )


def create_domain(self, **kwargs):
    execution_role(kwargs.get("default_user_settings"))
    app_security_groups(self, kwargs)
    # SageMaker answers the id too; moto only the ARN and URL.
    created = _create_domain(self, **kwargs)
    return {**created, "DomainId": created["DomainArn"].rsplit("/", 1)[1]}


def domain(backend, domain_id):
    """A domain, or SageMaker's ResourceNotFound (moto answered ValidationException)."""
    if domain_id not in backend.domains:
        raise ResourceNotFound(f"Domain '{domain_id}' does not exist.")
    return backend.domains[domain_id]


def describe_domain(self, domain_id):
    return domain(self, domain_id).describe()


def update_domain(self):
    """Replaces the default user settings given, one app's settings at a time, as SageMaker does."""
    found = domain(self.sagemaker_backend, self._get_param("DomainId"))
    given = self._get_param("DefaultUserSettings") or {}
    found.default_user_settings = {**(found.default_user_settings or {}), **given}
    return ActionResult({"DomainArn": found.arn})


def delete_domain(self, domain_id, retention_policy):
    domain(self, domain_id)
    # Apps go with their user profile or space.
    if any(resource.shown["DomainId"] == domain_id for resource in self.studio.values()):
        raise ResourceInUseException(
            f"Domain '{domain_id}' has user profiles or spaces: delete them first."
        )
    del self.domains[domain_id]


SageMakerBackend.create_domain = create_domain
SageMakerBackend.describe_domain = describe_domain
SageMakerBackend.delete_domain = delete_domain

_get_resource_from_arn = SageMakerBackend._get_resource_from_arn


def get_resource_from_arn(self, arn):
    # moto's own lookup reads `kind/name` ARNs only; Studio's have more parts.
    if not arn.split(":")[-1].startswith(("user-profile/", "space/", "app/")):
        return _get_resource_from_arn(self, arn)
    if arn not in self.studio:
        raise ValidationError(f"Could not find resource {arn}")
    return self.studio[arn]


SageMakerBackend._get_resource_from_arn = get_resource_from_arn


def java_pattern(pattern):
    # Java's Unicode classes, which Python's `re` lacks (the tag patterns use them).
    return pattern.replace(r"\p{L}", r"\w").replace(r"\p{Z}", " ").replace(r"\p{N}", r"\d")


NOT_NULL = "Member must not be null"


def constraint_errors(shape, value, at):
    """SageMaker's input checks, from its service model, worded as SageMaker words them."""
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            where = f"{at}.{name[0].lower()}{name[1:]}".lstrip(".")
            if value.get(name) is not None:
                yield from constraint_errors(member, value[name], where)
            elif name in shape.required_members:
                yield f"Value null at '{where}' failed to satisfy constraint: {NOT_NULL}"
        return
    if shape.type_name == "list":
        for index, item in enumerate(value, 1):
            yield from constraint_errors(shape.member, item, f"{at}.{index}.member")
    if shape.type_name not in ("list", "string", "integer", "long"):
        return
    numeric = shape.type_name in ("integer", "long")
    size, measure = (value, "value") if numeric else (len(value), "length")
    failed = f"Value '{value}' at '{at}' failed to satisfy constraint: Member must"
    meta = shape.metadata
    if "min" in meta and size < meta["min"]:
        yield f"{failed} have {measure} greater than or equal to {meta['min']}"
    if "max" in meta and size > meta["max"]:
        yield f"{failed} have {measure} less than or equal to {meta['max']}"
    if "pattern" in meta and not re.fullmatch(java_pattern(meta["pattern"]), value):
        yield f"{failed} satisfy regular expression pattern: {meta['pattern']}"
    if "enum" in meta and value not in meta["enum"]:
        yield f"{failed} satisfy enum value set: [{', '.join(meta['enum'])}]"


def validated(operation):
    """An operation that first checks its input against the model, as SageMaker does."""

    def checked(self):
        shape = get_service_model("sagemaker").operation_model(self._get_action()).input_shape
        errors = list(constraint_errors(shape, self.params, ""))
        if errors:
            plural = "s" if len(errors) > 1 else ""
            raise ValidationError(
                f"{len(errors)} validation error{plural} detected: " + "; ".join(errors)
            )
        return operation(self)

    return checked


def studio_arn(self, kind, *parts):
    return arn_formatter(kind, "/".join(parts), self.current_account, self.region)


def found(self, kind, *parts):
    """The user profile, space or live app of these ARN parts, or SageMaker's ResourceNotFound."""
    resource = self.sagemaker_backend.studio.get(studio_arn(self, kind, *parts))
    if resource is None or resource.shown["Status"] == "Deleted":
        what = f"{kind.replace('-', ' ').capitalize()} '{'/'.join(parts[1:])}'"
        raise ResourceNotFound(f"{what} does not exist in domain '{parts[0]}'.")
    return resource


def studio_of(self, kind, **equal):
    """The user profiles, spaces or apps whose fields equal those given (None: any)."""
    return [
        resource
        for arn, resource in self.sagemaker_backend.studio.items()
        if arn.split(":")[-1].startswith(kind + "/")
        and all(v is None or resource.shown.get(k) == v for k, v in equal.items())
    ]


def listed(self, resources):
    """Oldest first unless asked otherwise, as SageMaker lists. Unpaginated."""
    return sorted(
        (resource.shown for resource in resources),
        key=lambda shown: shown[self._get_param("SortBy", "CreationTime")],
        reverse=self._get_param("SortOrder") == "Descending",
    )


def create_studio(self, kind, name_field, **shown):
    """A new user profile or space, refused as SageMaker does if its name is taken."""
    domain_id, name = self._get_param("DomainId"), self._get_param(name_field)
    domain(self.sagemaker_backend, domain_id)
    arn = studio_arn(self, kind, domain_id, name)
    if arn in self.sagemaker_backend.studio:
        raise ResourceInUseException(
            f"Resource Already Exists: {name_field[:-4]} with name {name} already exists. "
            "Choose a different name."
        )
    now = utcnow()
    self.sagemaker_backend.studio[arn] = Studio(
        arn,
        self._get_param("Tags"),
        DomainId=domain_id,
        **{name_field: name, name_field[:-4] + "Arn": arn},
        HomeEfsFileSystemUid=str(next(self.sagemaker_backend.efs_uids)),
        Status="InService",
        CreationTime=now,
        LastModifiedTime=now,
        **shown,
    )
    return arn


def forget(self, owner_field, domain_id, name):
    """Drops the deleted apps of a user profile or space about to go; refused while one is live."""
    apps = studio_of(self, "app", DomainId=domain_id, **{owner_field: name})
    if any(app.shown["Status"] != "Deleted" for app in apps):
        raise ResourceInUseException(f"{owner_field[:-4]} '{name}' has apps: delete them first.")
    for app in apps:
        del self.sagemaker_backend.studio[app.arn]


def create_user_profile(self):
    execution_role(self._get_param("UserSettings"))
    arn = create_studio(
        self, "user-profile", "UserProfileName", UserSettings=self._get_param("UserSettings")
    )
    return ActionResult({"UserProfileArn": arn})


def describe_user_profile(self):
    domain_id, name = self._get_param("DomainId"), self._get_param("UserProfileName")
    return ActionResult(found(self, "user-profile", domain_id, name).shown)


def list_user_profiles(self):
    contains = self._get_param("UserProfileNameContains", "")
    profiles = studio_of(self, "user-profile", DomainId=self._get_param("DomainIdEquals"))
    profiles = [p for p in profiles if contains in p.shown["UserProfileName"]]
    return ActionResult({"UserProfiles": listed(self, profiles)})


def delete_user_profile(self):
    domain_id, name = self._get_param("DomainId"), self._get_param("UserProfileName")
    profile = found(self, "user-profile", domain_id, name)
    for space in studio_of(self, "space", DomainId=domain_id):
        if (space.shown.get("OwnershipSettings") or {}).get("OwnerUserProfileName") == name:
            raise ResourceInUseException(
                f"UserProfile '{name}' owns space '{space.shown['SpaceName']}': delete it first."
            )
    forget(self, "UserProfileName", domain_id, name)
    del self.sagemaker_backend.studio[profile.arn]
    return EmptyResult()


def idle_bounds(self, domain_id):
    """The idle shutdown a domain lets its spaces choose: (least, most) minutes, or None (off)."""
    settings = domain(self.sagemaker_backend, domain_id).default_user_settings or {}
    idle = (
        (settings.get("JupyterLabAppSettings") or {}).get("AppLifecycleManagement") or {}
    ).get("IdleSettings") or {}
    if idle.get("LifecycleManagement") != "ENABLED":
        return None
    return idle.get("MinIdleTimeoutInMinutes", 60), idle.get("MaxIdleTimeoutInMinutes", 525600)


def check_space_idle(self, domain_id, settings):
    """SageMaker refuses a space's idle timeout its domain has not enabled, or outside its bounds."""
    idle = (
        ((settings or {}).get("JupyterLabAppSettings") or {}).get("AppLifecycleManagement") or {}
    ).get("IdleSettings") or {}
    minutes = idle.get("IdleTimeoutInMinutes")
    if minutes is None:
        return
    bounds = idle_bounds(self, domain_id)
    if bounds is None:
        raise ValidationError(
            "Idle shutdown is not enabled for JupyterLab apps in this domain: a space cannot set "
            "IdleTimeoutInMinutes."
        )
    if not bounds[0] <= minutes <= bounds[1]:
        raise ValidationError(
            f"IdleTimeoutInMinutes {minutes} is outside the domain's bounds {bounds[0]}-{bounds[1]}."
        )


def create_space(self):
    ownership = self._get_param("OwnershipSettings")
    if ownership:
        found(self, "user-profile", self._get_param("DomainId"), ownership["OwnerUserProfileName"])
    check_space_idle(self, self._get_param("DomainId"), self._get_param("SpaceSettings"))
    arn = create_studio(
        self,
        "space",
        "SpaceName",
        SpaceDisplayName=self._get_param("SpaceDisplayName"),
        SpaceSettings=self._get_param("SpaceSettings"),
        OwnershipSettings=ownership,
        SpaceSharingSettings=self._get_param("SpaceSharingSettings"),
    )
    return ActionResult({"SpaceArn": arn})


def describe_space(self):
    domain_id, name = self._get_param("DomainId"), self._get_param("SpaceName")
    return ActionResult(found(self, "space", domain_id, name).shown)


def list_spaces(self):
    contains = self._get_param("SpaceNameContains", "")
    spaces = studio_of(self, "space", DomainId=self._get_param("DomainIdEquals"))
    spaces = [s for s in spaces if contains in s.shown["SpaceName"]]
    summaries = [
        {
            **shown,
            "SpaceSettingsSummary": shown["SpaceSettings"],
            "SpaceSharingSettingsSummary": shown["SpaceSharingSettings"],
            "OwnershipSettingsSummary": shown["OwnershipSettings"],
        }
        for shown in listed(self, spaces)
    ]
    return ActionResult({"Spaces": summaries})


def update_space(self):
    """Replaces the settings given, one app's settings at a time, as SageMaker does."""
    domain_id, name = self._get_param("DomainId"), self._get_param("SpaceName")
    space = found(self, "space", domain_id, name)
    given = self._get_param("SpaceSettings") or {}
    check_space_idle(self, domain_id, given)
    space.shown["SpaceSettings"] = {**(space.shown.get("SpaceSettings") or {}), **given}
    space.shown["LastModifiedTime"] = utcnow()
    return ActionResult({"SpaceArn": space.arn})


def delete_space(self):
    domain_id, name = self._get_param("DomainId"), self._get_param("SpaceName")
    space = found(self, "space", domain_id, name)
    forget(self, "SpaceName", domain_id, name)
    del self.sagemaker_backend.studio[space.arn]
    return EmptyResult()


def app_keys(self):
    """An app's ARN parts (domain, user profile or space, type, name), and which owns it."""
    profile, space = self._get_param("UserProfileName"), self._get_param("SpaceName")
    if (profile is None) == (space is None):
        raise ValidationError("Exactly one of UserProfileName or SpaceName must be specified.")
    owner_field = "UserProfileName" if profile is not None else "SpaceName"
    parts = (self._get_param("DomainId"), profile or space)
    return parts + (self._get_param("AppType"), self._get_param("AppName")), owner_field


# Which owner each app type runs under in Studio: a JupyterLab app in a space, a person's
# Canvas under their user profile. SageMaker refuses the other.
APP_OWNERS = {"JupyterLab": "SpaceName", "Canvas": "UserProfileName"}


def create_app(self):
    parts, owner_field = app_keys(self)
    wanted = APP_OWNERS.get(parts[2])
    if wanted and wanted != owner_field:
        raise ValidationError(f"{parts[2]} apps are created with a {wanted}, not a {owner_field}.")
    found(self, "user-profile" if owner_field == "UserProfileName" else "space", *parts[:2])
    arn = studio_arn(self, "app", *parts)
    existing = self.sagemaker_backend.studio.get(arn)
    if existing and existing.shown["Status"] != "Deleted":
        raise ResourceInUseException(f"App '{arn}' already exists.")
    now = utcnow()
    self.sagemaker_backend.studio[arn] = Studio(
        arn,
        self._get_param("Tags"),
        AppArn=arn,
        DomainId=parts[0],
        **{owner_field: parts[1]},
        AppType=parts[2],
        AppName=parts[3],
        Status="InService",
        ResourceSpec=self._get_param("ResourceSpec"),
        CreationTime=now,
        LastUserActivityTimestamp=now,
    )
    return ActionResult({"AppArn": arn})


def describe_app(self):
    parts, _ = app_keys(self)
    arn = studio_arn(self, "app", *parts)
    if arn not in self.sagemaker_backend.studio:
        raise ResourceNotFound(f"App '{arn}' does not exist.")
    return ActionResult(self.sagemaker_backend.studio[arn].shown)


def delete_app(self):
    parts, _ = app_keys(self)
    found(self, "app", *parts).shown["Status"] = "Deleted"
    return EmptyResult()


def list_apps(self):
    apps = studio_of(
        self,
        "app",
        DomainId=self._get_param("DomainIdEquals"),
        UserProfileName=self._get_param("UserProfileNameEquals"),
        SpaceName=self._get_param("SpaceNameEquals"),
    )
    return ActionResult({"Apps": listed(self, apps)})


def create_presigned_domain_url(self):
    domain_id = self._get_param("DomainId")
    found(self, "user-profile", domain_id, self._get_param("UserProfileName"))
    if self._get_param("SpaceName") is not None:
        found(self, "space", domain_id, self._get_param("SpaceName"))
    if domain(self.sagemaker_backend, domain_id).auth_mode != "IAM":
        raise ValidationError("CreatePresignedDomainUrl is only for domains whose AuthMode is IAM.")
    landing = self._get_param("LandingUri")
    if landing is not None and not re.fullmatch(r"studio::.*|app:[A-Za-z]+:.*", landing):
        raise ValidationError(f"Invalid LandingUri '{landing}'.")
    token = secrets.token_urlsafe(32)
    url = f"https://{domain_id}.studio.{self.region}.sagemaker.aws/auth?token={token}"
    if landing is not None:
        url += "&landing=" + landing
    return ActionResult({"AuthorizedUrl": url})


for operation in (
    create_user_profile,
    describe_user_profile,
    list_user_profiles,
    delete_user_profile,
    create_space,
    describe_space,
    list_spaces,
    update_space,
    delete_space,
    create_app,
    describe_app,
    delete_app,
    list_apps,
    create_presigned_domain_url,
    update_domain,
    SageMakerResponse.create_domain,
    SageMakerResponse.describe_domain,
    SageMakerResponse.delete_domain,
):
    setattr(SageMakerResponse, operation.__name__, validated(operation))

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
