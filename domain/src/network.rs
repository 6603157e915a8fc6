//! Where a workspace starts and how people reach it, decided per account and region: the image
//! resolved for the region, a subnet, the project's security group and the instance profile.
//!
//! Nobody reaches a workspace from the internet by default: the project's security group has
//! no inbound rule, and people connect through SSM Session Manager, which needs the instance
//! profile (the SSM agent registers with its credentials) and outbound HTTPS only. A site that
//! wants plain SSH lists its ranges in `CWS_SSH_CIDRS`.
//!
//! Each project's workspaces get their own role and instance profile, which the workers make
//! under the deployment's workstation policy (`CWS_WORKSTATION_POLICY`): it is both the role's
//! permissions and its permissions boundary, and it lets a role mount only file systems tagged
//! with the project in the role's own `cws:project` tag. A workspace of one project can so
//! never mount another project's volume, even in the same account, and the workers, which may
//! create roles only under that boundary, can never make a workspace more powerful than it.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What the deployment configures for every launch (`CWS_WORKSTATION_POLICY`,
/// `CWS_CANVAS_POLICY`, `CWS_SUBNETS`, `CWS_SSH_CIDRS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSettings {
    /// The managed policy every project's workstation role is made under; the same name in
    /// every account (the shipped stacks create it). `None`: launches are refused until set.
    pub workstation_policy: Option<String>,
    /// The managed policy each project's SageMaker Canvas role is made under (its rights and
    /// its boundary), the same name in every account; the operator writes it. `None`: Canvas
    /// launches are refused until set.
    pub canvas_policy: Option<String>,
    /// Subnets to launch in, in any region and account; where none of them is, the default
    /// VPC's default subnets.
    pub subnets: Vec<SubnetId>,
    /// Ranges that may reach port 22 directly, beside Session Manager.
    pub ssh_cidrs: Vec<Cidr>,
}

/// Where and as what one workspace starts, as the cloud resolved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The AMI resolved for the region; `None` on a platform that brings its own image.
    pub image_id: Option<String>,
    pub subnet_id: String,
    /// EC2: the project's security group. Studio: the project's domain in the region.
    pub security_group_id: String,
    /// What the workspace acts as. EC2: the project's instance profile. Studio: the ARN of
    /// the project's execution role.
    pub instance_profile: String,
}

/// The `PortError::Rejected` code of a launch the deployment is not set up for (no instance
/// profile, no subnet, an image parameter the region lacks): the operator's to fix, not the
/// user's and not AWS's, and never retried.
pub const NOT_SET_UP: &str = "DeploymentNotSetUp";

/// The IAM path of every workstation role and instance profile the workers make: the stacks
/// let the workers create, and pass to EC2, only roles under it.
pub const WORKSTATION_PATH: &str = "/cws/workstations/";

/// The project's workstation role and instance profile (one name for both): `cws-ws-` and the
/// project, or, where that would pass IAM's 64 characters, the project's first 48 characters
/// and a digest of the whole name, so two long names never share a role.
pub fn workstation_profile_name(project: &str) -> String {
    const IAM_ROLE_NAME_MAX: usize = 64;
    let name = format!("cws-ws-{project}");
    if name.len() <= IAM_ROLE_NAME_MAX {
        return name;
    }
    let digest = Sha256::digest(project.as_bytes());
    let short = hex::encode(&digest[..4]);
    let head: String = project.chars().take(48).collect();
    format!("cws-ws-{}-{short}", head.trim_end_matches('-'))
}

/// The workstation policy's ARN in `account` of `partition` (`aws`, `aws-cn`, `aws-us-gov`).
pub fn workstation_policy_arn(partition: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:policy/{name}")
}

/// Who may assume a workstation role: EC2, for the instance it is the profile of.
pub const WORKSTATION_TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The project's security group, one per project in each VPC it launches in.
pub fn security_group_name(project: &str) -> String {
    format!("cws-{project}")
}

/// The subnet a workspace starts in: the same for the same name, and spread over the subnets
/// (and so the availability zones) the region offers.
pub fn pick_subnet<'a>(subnets: &'a [String], workspace: &str) -> Option<&'a str> {
    if subnets.is_empty() {
        return None;
    }
    let digest = Sha256::digest(workspace.as_bytes());
    let index = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) as usize;
    Some(subnets[index % subnets.len()].as_str())
}

/// A subnet id as EC2 issues them: `subnet-` and 8 or 17 lowercase hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubnetId(String);

impl SubnetId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubnetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a subnet id (subnet- and 8 or 17 hexadecimal digits)")]
pub struct BadSubnetId(pub String);

impl FromStr for SubnetId {
    type Err = BadSubnetId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let valid = text.strip_prefix("subnet-").is_some_and(|hex| {
            matches!(hex.len(), 8 | 17)
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if valid {
            Ok(SubnetId(text.to_owned()))
        } else {
            Err(BadSubnetId(text.to_owned()))
        }
    }
}

/// An address range allowed to reach port 22. The whole internet (`/0`) is refused: a site
/// lists its own ranges, and everyone else uses Session Manager.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cidr {
    address: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn is_ipv6(&self) -> bool {
        self.address.is_ipv6()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadCidr {
    #[error("`{0}` is not an address range like 171.64.0.0/14")]
    Shape(String),
    #[error("`{0}` opens SSH to the whole internet; list your sites' ranges instead")]
    Everyone(String),
}

impl FromStr for Cidr {
    type Err = BadCidr;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let shape = || BadCidr::Shape(text.to_owned());
        let (address, prefix) = text.split_once('/').ok_or_else(shape)?;
        let address: IpAddr = address.parse().map_err(|_| shape())?;
        let prefix: u8 = prefix.parse().map_err(|_| shape())?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return Err(shape());
        }
        if prefix == 0 {
            return Err(BadCidr::Everyone(text.to_owned()));
        }
        Ok(Cidr { address, prefix })
    }
}

/// What the connection lines of one running workspace are made from.
pub struct Connection<'a> {
    pub instance_id: &'a str,
    pub region: &'a str,
    /// The research user, who owns the key.
    pub username: &'a str,
    /// Where the profile's DM told the person to save their private key; `None` when they
    /// registered their own, which `ssh` finds by itself.
    pub key_file: Option<&'a str>,
    pub services: &'a [crate::template::Service],
    /// What the workspace runs on: a platform with a sign-in of its own is not reached through
    /// Session Manager.
    pub platform: crate::template::Platform,
}

/// The lines `status` and `ssh` print: SSH through a Session Manager tunnel (no inbound port
/// needed; the AWS CLI with the Session Manager plugin opens it), and a port forward per
/// template service with the local address to open.
pub fn connect_lines(connection: &Connection<'_>) -> Vec<String> {
    let Connection {
        instance_id,
        region,
        username,
        key_file,
        services,
        platform,
    } = connection;
    if platform.signs_in_by_link() {
        return vec![format!(
            "{}: `/cws connect` sends its owner a sign-in link by direct message",
            platform.title()
        )];
    }
    let identity = key_file.map_or_else(String::new, |file| format!("-i {file} "));
    let mut lines = vec![format!(
        "SSH: `ssh {identity}-o ProxyCommand=\"aws ssm start-session --target %h \
         --document-name AWS-StartSSHSession --parameters portNumber=%p --region {region}\" \
         {username}@{instance_id}`"
    )];
    lines.extend(services.iter().map(|service| {
        format!(
            "{}: `{}`, then open {}",
            service.kind.title(),
            port_forward_command(instance_id, region, service.port),
            local_url(service.port)
        )
    }));
    lines
}

/// One web service of a running workspace as its owner reaches it: the port forward to run,
/// the address to open, and the username its login asks for, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebForward {
    pub title: &'static str,
    pub command: String,
    pub url: String,
    pub username: Option<String>,
}

/// The forward of each of a workspace's web services.
pub fn web_forwards(
    instance_id: &str,
    region: &str,
    username: &str,
    services: &[crate::template::Service],
) -> Vec<WebForward> {
    services
        .iter()
        .map(|service| WebForward {
            title: service.kind.title(),
            command: port_forward_command(instance_id, region, service.port),
            url: local_url(service.port),
            username: service.kind.asks_username().then(|| username.to_owned()),
        })
        .collect()
}

/// The AWS CLI line (with the Session Manager plugin) that forwards `port` on the person's
/// machine to `port` on the instance's loopback, where its web services listen: no inbound
/// rule, no public address.
pub fn port_forward_command(instance_id: &str, region: &str, port: u16) -> String {
    format!(
        "aws ssm start-session --target {instance_id} \
         --document-name AWS-StartPortForwardingSession \
         --parameters '{{\"portNumber\":[\"{port}\"],\"localPortNumber\":[\"{port}\"]}}' \
         --region {region}"
    )
}

/// Where a forwarded service opens on the person's machine.
pub fn local_url(port: u16) -> String {
    format!("http://localhost:{port}/")
}

/// A comma-separated list of `T`, each entry trimmed, empty entries skipped.
pub fn parse_list<T: FromStr>(text: &str) -> Result<Vec<T>, T::Err> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(str::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The range as written back, or the refusal (given the input).
    type Parsed = Result<&'static str, fn(String) -> BadCidr>;

    #[test]
    fn ssh_ranges_parse_and_the_whole_internet_is_refused() {
        let cases: [(&str, Parsed); 7] = [
            ("171.64.0.0/14", Ok("171.64.0.0/14")),
            (" 18.0.0.0/8 ", Ok("18.0.0.0/8")),
            ("2607:f6d0::/32", Ok("2607:f6d0::/32")),
            ("0.0.0.0/0", Err(BadCidr::Everyone)),
            ("::/0", Err(BadCidr::Everyone)),
            ("10.0.0.0/33", Err(BadCidr::Shape)),
            ("campus", Err(BadCidr::Shape)),
        ];
        for (text, expected) in cases {
            let parsed = text.parse::<Cidr>();
            match expected {
                Ok(shown) => assert_eq!(parsed.unwrap().to_string(), shown, "{text}"),
                Err(error) => assert_eq!(parsed, Err(error(text.trim().to_owned())), "{text}"),
            }
        }
    }

    #[test]
    fn subnet_ids_have_ec2s_shape() {
        assert!("subnet-0123456789abcdef0".parse::<SubnetId>().is_ok());
        assert!("subnet-12345678".parse::<SubnetId>().is_ok());
        assert!("subnet-XYZ".parse::<SubnetId>().is_err());
        assert!("sg-12345678".parse::<SubnetId>().is_err());
        assert_eq!(
            parse_list::<SubnetId>("subnet-12345678, ,subnet-87654321")
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn a_workspace_keeps_its_subnet_and_workspaces_spread_over_all() {
        let subnets: Vec<String> = ["subnet-aaaaaaaa", "subnet-bbbbbbbb", "subnet-cccccccc"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            pick_subnet(&subnets, "mit-algorithm-dev"),
            pick_subnet(&subnets, "mit-algorithm-dev")
        );
        let used: std::collections::BTreeSet<&str> = (0..60)
            .filter_map(|i| pick_subnet(&subnets, &format!("box-{i}")))
            .collect();
        assert_eq!(used.len(), 3);
        assert_eq!(pick_subnet(&[], "box"), None);
    }

    #[test]
    fn each_project_has_its_own_security_group() {
        assert_eq!(
            security_group_name("nih-neuro-consortium"),
            "cws-nih-neuro-consortium"
        );
    }

    #[test]
    fn each_project_has_its_own_workstation_role_within_iams_name_limit() {
        assert_eq!(
            workstation_profile_name("nih-neuro-consortium"),
            "cws-ws-nih-neuro-consortium"
        );
        let long = "a".repeat(57);
        assert_eq!(workstation_profile_name(&long), format!("cws-ws-{long}"));
        let longest = format!("{}-one", "x".repeat(59));
        let other = format!("{}-two", "x".repeat(59));
        let (one, two) = (
            workstation_profile_name(&longest),
            workstation_profile_name(&other),
        );
        assert!(one.len() <= 64 && two.len() <= 64, "{one} {two}");
        assert_ne!(one, two);
        assert!(one.starts_with(&format!("cws-ws-{}", "x".repeat(48))));
        assert_eq!(
            workstation_policy_arn("aws", "123456789012", "cws-workstation"),
            "arn:aws:iam::123456789012:policy/cws-workstation"
        );
    }

    #[test]
    fn people_connect_through_session_manager_with_a_forward_per_service() {
        let services = [
            crate::template::Service {
                kind: crate::template::ServiceKind::Jupyter,
                port: 8888,
            },
            crate::template::Service {
                kind: crate::template::ServiceKind::Rstudio,
                port: 8787,
            },
        ];
        let lines = connect_lines(&Connection {
            instance_id: "i-0123456789abcdef0",
            region: "us-west-2",
            username: "sarah_lee",
            key_file: Some("~/.ssh/cws-berkeley"),
            services: &services,
            platform: crate::template::Platform::Ec2,
        });
        assert_eq!(
            lines,
            [
                "SSH: `ssh -i ~/.ssh/cws-berkeley -o ProxyCommand=\"aws ssm start-session \
                 --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p \
                 --region us-west-2\" sarah_lee@i-0123456789abcdef0`",
                "Jupyter: `aws ssm start-session --target i-0123456789abcdef0 \
                 --document-name AWS-StartPortForwardingSession \
                 --parameters '{\"portNumber\":[\"8888\"],\"localPortNumber\":[\"8888\"]}' \
                 --region us-west-2`, then open http://localhost:8888/",
                "RStudio Server: `aws ssm start-session --target i-0123456789abcdef0 \
                 --document-name AWS-StartPortForwardingSession \
                 --parameters '{\"portNumber\":[\"8787\"],\"localPortNumber\":[\"8787\"]}' \
                 --region us-west-2`, then open http://localhost:8787/",
            ]
        );
    }

    #[test]
    fn the_port_forward_is_one_line_the_aws_cli_takes_as_typed() {
        let cases = [
            (
                "i-0123456789abcdef0",
                "us-east-1",
                8888,
                r#"aws ssm start-session --target i-0123456789abcdef0 --document-name AWS-StartPortForwardingSession --parameters '{"portNumber":["8888"],"localPortNumber":["8888"]}' --region us-east-1"#,
            ),
            (
                "i-0fedcba9876543210",
                "eu-west-1",
                8787,
                r#"aws ssm start-session --target i-0fedcba9876543210 --document-name AWS-StartPortForwardingSession --parameters '{"portNumber":["8787"],"localPortNumber":["8787"]}' --region eu-west-1"#,
            ),
            (
                "i-12345678",
                "us-west-2",
                8080,
                r#"aws ssm start-session --target i-12345678 --document-name AWS-StartPortForwardingSession --parameters '{"portNumber":["8080"],"localPortNumber":["8080"]}' --region us-west-2"#,
            ),
        ];
        for (instance_id, region, port, expected) in cases {
            assert_eq!(port_forward_command(instance_id, region, port), expected);
        }
        assert_eq!(local_url(8787), "http://localhost:8787/");
    }
}
