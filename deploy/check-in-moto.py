#!/usr/bin/env python3
"""Deploys both stacks into an AWS API on this machine (moto) and prints their outputs.

Starts nothing: point AWS_ENDPOINT_URL at a running `moto_server -H 127.0.0.1 -p 5999`, e.g.

    AWS_ENDPOINT_URL=http://127.0.0.1:5999 AWS_ACCESS_KEY_ID=testing \
        AWS_SECRET_ACCESS_KEY=testing python3 deploy/check-in-moto.py

The lead stack goes to the account the credentials name; the collaborator stack to a second
account (moto puts the credentials of an assumed role in the role's account), with the lead's
outputs as its parameters, as an operator would. Then it checks what CloudFormation made:
the bucket's protections, the roles' trust and policies, every managed policy within IAM's
6,144-character limit, the worker role assuming the collaborator role with the external id,
and the CWS_ACCOUNTS entry in the shape domain/src/account.rs parses.

What moto's CloudFormation does not model (MOTO_GAPS) is reported, not failed: the template
is right for AWS, and cfn-lint checks those properties against CloudFormation's schemas.
Only a loopback endpoint is accepted: against real AWS this would create roles.
"""

import json
import os
import pathlib
import re
import sys
import urllib.parse

import boto3

DEPLOY = pathlib.Path(__file__).resolve().parent
COLLABORATOR_ACCOUNT = "222222222222"
EXTERNAL_ID = "cws-check-external-id"
MANAGED_POLICY_LIMIT = 6144

# What moto 5's CloudFormation leaves out, found by this check; each is reported when seen.
MOTO_GAPS = {
    "AWS::S3::BucketPolicy": "moto has no CloudFormation support for AWS::S3::BucketPolicy",
    "VersioningConfiguration": "moto's AWS::S3::Bucket ignores VersioningConfiguration",
    "PublicAccessBlockConfiguration": "moto's AWS::S3::Bucket ignores PublicAccessBlockConfiguration",
    "OwnershipControls": "moto's AWS::S3::Bucket ignores OwnershipControls",
    "LifecycleConfiguration": "moto's AWS::S3::Bucket ignores LifecycleConfiguration",
}
gaps_seen = []


def gap(key):
    if MOTO_GAPS[key] not in gaps_seen:
        gaps_seen.append(MOTO_GAPS[key])
    print(f"   moto gap: {MOTO_GAPS[key]}")


def fail(message):
    print(f"check-in-moto: {message}", file=sys.stderr)
    sys.exit(1)


def endpoint():
    url = os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        fail("set AWS_ENDPOINT_URL to a local moto_server, e.g. http://127.0.0.1:5999")
    host = urllib.parse.urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        fail(f"{url} is not on this machine: this check only runs against a local moto")
    return url


def client(service, credentials=None):
    extra = {}
    if credentials:
        extra = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION, **extra)


def deploy(name, template, parameters, credentials=None):
    cloudformation = client("cloudformation", credentials)
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=(DEPLOY / template).read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        fail(f"{name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
    resources = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    print(f"== {name} ({template}): {stack['StackStatus']}")
    for resource in resources:
        if resource.get("ResourceType"):
            print(f"   {resource['ResourceType']:<28} {resource['PhysicalResourceId']}")
    # A resource type moto cannot make is listed with no name and no type.
    made = {r.get("LogicalResourceId") for r in resources}
    for logical, kind in template_resources(template).items():
        if logical not in made:
            if kind not in MOTO_GAPS:
                fail(f"{name}: {logical} ({kind}) was not made")
            gap(kind)
    print("   outputs:")
    for key in sorted(outputs):
        print(f"     {key} = {outputs[key]}")
    return outputs, resources


def template_resources(template):
    """Logical id -> type, read without resolving CloudFormation's tags."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    body = yaml.load((DEPLOY / template).read_text(), Loader=Loader)
    return {logical: r["Type"] for logical, r in body["Resources"].items()}


def policy_document(document):
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    return document


def check_role(name, credentials=None, trust=None):
    iam = client("iam", credentials)
    role = iam.get_role(RoleName=name)["Role"]
    statements = policy_document(role["AssumeRolePolicyDocument"])["Statement"]
    if any(not isinstance(s, dict) for s in statements):
        fail(f"role {name}: a trust statement is {statements}")
    if trust is not None:
        trust(statements)
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    print(f"   role {name}: trusts {[s.get('Principal') for s in statements]}, "
          f"{len(attached)} managed policies")


def check_policies(resources, credentials=None):
    iam = client("iam", credentials)
    for resource in resources:
        if resource.get("ResourceType") != "AWS::IAM::ManagedPolicy":
            continue
        arn = resource["PhysicalResourceId"]
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
        document = iam.get_policy_version(
            PolicyArn=arn, VersionId=policy["DefaultVersionId"]
        )["PolicyVersion"]["Document"]
        document = policy_document(document)
        size = len(re.sub(r"\s", "", json.dumps(document)))
        if size > MANAGED_POLICY_LIMIT:
            fail(f"{arn} is {size} characters; IAM takes at most {MANAGED_POLICY_LIMIT}")
        actions = sorted(
            {a for s in document["Statement"] if s["Effect"] == "Allow"
             for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
        )
        print(f"   {arn}: {size} characters, {len(actions)} actions allowed")


def check_workstation_policy(arn, credentials=None):
    """The boundary of every workstation role: Session Manager, and mounts of the role's own
    project's volumes only (domain/src/network.rs)."""
    iam = client("iam", credentials)
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    document = policy_document(iam.get_policy_version(
        PolicyArn=arn, VersionId=policy["DefaultVersionId"]
    )["PolicyVersion"]["Document"])
    statements = {s["Sid"]: s for s in document["Statement"]}
    mount = statements.get("MountOwnProjectsVolumesThroughAccessPoints")
    if mount is None:
        fail(f"{arn} has no mount statement: {sorted(statements)}")
    own = mount.get("Condition", {}).get("StringEquals", {}).get("aws:ResourceTag/cws:project")
    if own != "${aws:PrincipalTag/cws:project}":
        fail(f"{arn} lets a workstation mount volumes of other projects: {mount}")
    if "ssmmessages:OpenDataChannel" not in statements.get("SessionManagerAndRunCommand", {}).get("Action", []):
        fail(f"{arn} does not let the SSM agent carry Session Manager sessions")
    print(f"   {arn}: mounts only the role's own project's volumes; Session Manager")


def check_bucket(name):
    s3 = client("s3")
    rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    algorithm = rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
    if algorithm != "AES256":
        fail(f"bucket {name}: encryption {algorithm}")
    print(f"   bucket {name}: encrypted ({algorithm})")
    versioning = s3.get_bucket_versioning(Bucket=name).get("Status")
    if versioning == "Enabled":
        print("   bucket versioning: Enabled")
    elif versioning is None:
        gap("VersioningConfiguration")
    else:
        fail(f"bucket {name}: versioning {versioning}")
    try:
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        if not all(block.values()):
            fail(f"bucket {name}: public access block {block}")
        print("   bucket public access: all blocked")
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchPublicAccessBlockConfiguration":
            raise
        gap("PublicAccessBlockConfiguration")
    try:
        ownership = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
        if ownership[0]["ObjectOwnership"] != "BucketOwnerEnforced":
            fail(f"bucket {name}: ownership {ownership}")
        print("   bucket ownership: BucketOwnerEnforced")
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "OwnershipControlsNotFoundError":
            raise
        gap("OwnershipControls")
    try:
        s3.get_bucket_lifecycle_configuration(Bucket=name)
        print("   bucket lifecycle: set")
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchLifecycleConfiguration":
            raise
        gap("LifecycleConfiguration")


def main():
    lead_account = client("sts").get_caller_identity()["Account"]
    # With a Canvas policy named, so the stacks' conditional Canvas statements are made too.
    lead, lead_resources = deploy("cws-lead", "lead-account.yml", {"CanvasPolicyName": "cws-canvas"})
    check_policies(lead_resources)
    expected_bucket = f"cws-archive-{lead_account}-{REGION}"
    if lead["ArchiveBucketName"] != expected_bucket:
        fail(f"archive bucket {lead['ArchiveBucketName']}, the workers expect {expected_bucket}")
    check_bucket(lead["ArchiveBucketName"])

    def worker_trust(statements):
        services = sorted(s["Principal"].get("Service", "") for s in statements)
        if services != ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]:
            fail(f"the worker role trusts {statements}")

    check_role(lead["WorkerRoleName"], trust=worker_trust)
    check_workstation_policy(lead["WorkstationPolicyArn"])

    # An administrator of the collaborator's account deploys its stack there.
    admin = client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{COLLABORATOR_ACCOUNT}:role/administrator",
        RoleSessionName="cws-check",
    )["Credentials"]
    collaborator, collaborator_resources = deploy(
        "cws-collaborator",
        "collaborator-account.yml",
        {
            "LeadAccountId": lead["AccountId"],
            "LeadWorkerRoleName": lead["WorkerRoleName"],
            "ExternalId": EXTERNAL_ID,
            "AccountName": "mit-csail",
            "Institution": "MIT",
            "RoleName": lead["CollaboratorRoleName"],
            "CanvasPolicyName": "cws-canvas",
        },
        admin,
    )
    check_policies(collaborator_resources, admin)

    def collaborator_trust(statements):
        (statement,) = statements
        condition = statement.get("Condition", {})
        principal = f"arn:aws:iam::{lead['AccountId']}:role/{lead['WorkerRoleName']}"
        if (statement["Principal"] != {"AWS": f"arn:aws:iam::{lead['AccountId']}:root"}
                or condition.get("ArnEquals", {}).get("aws:PrincipalArn") != principal
                or condition.get("StringEquals", {}).get("sts:ExternalId") != EXTERNAL_ID):
            fail(f"the collaborator role trusts {statements}")

    check_role(lead["CollaboratorRoleName"], admin, trust=collaborator_trust)
    check_workstation_policy(collaborator["WorkstationPolicyArn"], admin)

    if collaborator["WorkstationPolicyName"] != lead["WorkstationPolicyName"]:
        fail("the workstation policy names differ: CWS_WORKSTATION_POLICY is one name for all")
    # domain/src/account.rs: NAME=arn:aws:iam::ID:role/NAME[@INSTITUTION], no ',' inside.
    entry = collaborator["CwsAccountsEntry"]
    shape = rf"^[^=,@]+=arn:aws:iam::{COLLABORATOR_ACCOUNT}:role/[^,@=]+(@[^,@=]+)?$"
    if not re.match(shape, entry) or entry.split("=", 1)[1].split("@")[0] != collaborator["RoleArn"]:
        fail(f"CwsAccountsEntry {entry!r} is not what CWS_ACCOUNTS parses")

    # The lead's workers, as the worker role, reach the collaborator's role as the code does.
    worker = client("sts").assume_role(
        RoleArn=lead["WorkerRoleArn"], RoleSessionName="cws-worker"
    )["Credentials"]
    reached = client("sts", worker).assume_role(
        RoleArn=collaborator["RoleArn"], RoleSessionName="cws-worker", ExternalId=EXTERNAL_ID
    )["AssumedRoleUser"]["Arn"]
    if f":{COLLABORATOR_ACCOUNT}:" not in reached:
        fail(f"assuming {collaborator['RoleArn']} gave {reached}")
    print(f"== the worker role assumed {collaborator['RoleArn']} as {reached}")
    print(f"== CWS_ACCOUNTS={entry}")
    print("both stacks deployed")
    if gaps_seen:
        print("moto did not model (the templates are unchanged for AWS):")
        for line in gaps_seen:
            print(f"  - {line}")


ENDPOINT = endpoint()
REGION = os.environ.get("AWS_REGION", "us-east-1")
if __name__ == "__main__":
    main()
