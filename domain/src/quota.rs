//! EC2's On-Demand vCPU quotas: an account may run only so many vCPUs of each instance
//! bucket in a region (GPU buckets often none at all in a new account), and RunInstances
//! refuses a launch past it with `VcpuLimitExceeded`. That refusal is explained here with the
//! quota's name and code, its current value, and how to raise it.

/// EC2's error code for a launch past the account's vCPU quota.
pub const VCPU_LIMIT_EXCEEDED: &str = "VcpuLimitExceeded";

/// One On-Demand vCPU quota, as Service Quotas names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnDemandQuota {
    pub code: &'static str,
    pub name: &'static str,
}

/// Family prefixes and their quota, longest prefix first so `inf` is not read as `i`
/// (Standard); every family not listed counts against Standard.
const BUCKETS: &[(&str, OnDemandQuota)] = &[
    (
        "inf",
        quota("L-1945791B", "Running On-Demand Inf instances"),
    ),
    (
        "trn",
        quota("L-2C3B7624", "Running On-Demand Trn instances"),
    ),
    (
        "hpc",
        quota("L-F7808C92", "Running On-Demand HPC instances"),
    ),
    ("dl", quota("L-6E869C2A", "Running On-Demand DL instances")),
    (
        "vt",
        quota("L-DB2E81BA", "Running On-Demand G and VT instances"),
    ),
    (
        "u-",
        quota("L-43DA4232", "Running On-Demand High Memory instances"),
    ),
    (
        "g",
        quota("L-DB2E81BA", "Running On-Demand G and VT instances"),
    ),
    ("p", quota("L-417A185B", "Running On-Demand P instances")),
    ("f", quota("L-74FC7D96", "Running On-Demand F instances")),
    ("x", quota("L-7295265B", "Running On-Demand X instances")),
];

const STANDARD: OnDemandQuota = quota(
    "L-1216C47A",
    "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
);

const fn quota(code: &'static str, name: &'static str) -> OnDemandQuota {
    OnDemandQuota { code, name }
}

/// The quota `instance_type` (e.g. `g4dn.xlarge`) counts against.
pub fn on_demand_quota(instance_type: &str) -> OnDemandQuota {
    let family = instance_type.split('.').next().unwrap_or_default();
    BUCKETS
        .iter()
        .find(|(prefix, _)| family.starts_with(prefix))
        .map_or(STANDARD, |(_, quota)| *quota)
}

/// What to tell people when EC2 refused `instance_type` in `region` for the quota;
/// `aws_message` is EC2's own ("… your current vCPU limit of 0 allows …"), whose limit is
/// quoted when it gives one.
pub fn vcpu_limit_explanation(instance_type: &str, region: &str, aws_message: &str) -> String {
    let OnDemandQuota { code, name } = on_demand_quota(instance_type);
    let limit = aws_message
        .split("limit of ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u32>().ok())
        .map_or_else(String::new, |limit| format!(" is {limit} vCPUs, which"));
    format!(
        "the AWS account's EC2 quota \"{name}\" ({code}) in {region}{limit} leaves no room for \
         a {instance_type} beside what already runs there. Stop a workspace of that kind, or ask \
         an administrator of the account to raise the quota: Service Quotas console → Amazon \
         EC2 → \"{name}\", or `aws service-quotas request-service-quota-increase --service-code \
         ec2 --quota-code {code} --desired-value VCPUS --region {region}` (VCPUS: all the \
         vCPUs of that kind you need running at once)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_counts_against_its_own_quota() {
        for (instance_type, code) in [
            ("g4dn.xlarge", "L-DB2E81BA"),
            ("g5.2xlarge", "L-DB2E81BA"),
            ("vt1.3xlarge", "L-DB2E81BA"),
            ("p3.2xlarge", "L-417A185B"),
            ("inf2.xlarge", "L-1945791B"),
            ("i4i.large", "L-1216C47A"),
            ("trn1.2xlarge", "L-2C3B7624"),
            ("dl1.24xlarge", "L-6E869C2A"),
            ("hpc7g.4xlarge", "L-F7808C92"),
            ("u-6tb1.metal", "L-43DA4232"),
            ("x2idn.16xlarge", "L-7295265B"),
            ("f1.2xlarge", "L-74FC7D96"),
            ("t3.large", "L-1216C47A"),
            ("r5.xlarge", "L-1216C47A"),
            ("m5.large", "L-1216C47A"),
        ] {
            assert_eq!(on_demand_quota(instance_type).code, code, "{instance_type}");
        }
    }

    #[test]
    fn the_explanation_names_the_quota_its_value_and_how_to_raise_it() {
        let explained = vcpu_limit_explanation(
            "g4dn.xlarge",
            "us-west-2",
            "You have requested more vCPU capacity than your current vCPU limit of 0 allows for \
             the instance bucket that the specified instance type belongs to.",
        );
        assert_eq!(
            explained,
            "the AWS account's EC2 quota \"Running On-Demand G and VT instances\" (L-DB2E81BA) \
             in us-west-2 is 0 vCPUs, which leaves no room for a g4dn.xlarge beside what already \
             runs there. Stop a workspace of that kind, or ask an administrator of the account \
             to raise the quota: Service Quotas console → Amazon EC2 → \"Running On-Demand G \
             and VT instances\", or `aws service-quotas request-service-quota-increase \
             --service-code ec2 --quota-code L-DB2E81BA --desired-value VCPUS --region \
             us-west-2` (VCPUS: all the vCPUs of that kind you need running at once)"
        );
        assert!(
            vcpu_limit_explanation("t3.large", "us-east-1", "no number here")
                .contains("(L-1216C47A) in us-east-1 leaves no room")
        );
    }
}
