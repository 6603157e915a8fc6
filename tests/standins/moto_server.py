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
"""

import collections
import hashlib
import json
import os
import sys

os.environ.setdefault("MOTO_ENABLE_AMI_VALIDATION", "true")

from moto.ec2.models import amis as ec2_amis  # noqa: E402
from moto.server import main  # noqa: E402
from moto.ssm import models as ssm_models  # noqa: E402
from moto.ce import responses as ce_responses  # noqa: E402
from moto.core.utils import utcnow  # noqa: E402

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

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
