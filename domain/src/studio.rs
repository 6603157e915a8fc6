//! SageMaker Studio as a workspace platform: the names cws gives a project's domain, a
//! research user's profile and a workspace's space, the execution role's trust, and how a
//! space's JupyterLab app maps onto the instance states every command already speaks.

use sha2::{Digest, Sha256};

use crate::ports::InstanceState;

/// The app every workspace space runs, under SageMaker's own name for it.
pub const APP_NAME: &str = "default";

/// What a Canvas workspace is billed by: SageMaker charges Canvas by the hour a person's
/// Canvas is up (its "workspace instance"), whatever they do in it. The price table and the
/// invitation policy's allowed types name it like an instance type.
pub const CANVAS_SESSION: &str = "canvas.session";

/// Where a sign-in link to a person's Canvas lands (SageMaker's `LandingUri`).
pub const CANVAS_LANDING: &str = "app:Canvas:";

/// How long a sign-in link may wait to be clicked, seconds: SageMaker's most (5 minutes), since
/// the link signs whoever holds it in as the research user.
pub const SIGN_IN_LINK_SECONDS: i32 = 300;

/// How long the Studio session a sign-in link opens lasts, seconds: a working day.
pub const SESSION_SECONDS: i32 = 8 * 3600;

/// SageMaker's bounds for an app's idle shutdown, minutes (60 to a year): a domain lets its
/// spaces choose within them, and a space given none is shut down after the most.
pub const IDLE_SHUTDOWN_MINUTES: (i32, i32) = (60, 525_600);

/// How long SageMaker lets a space's JupyterLab sit idle before it shuts it down, under the
/// project's idle policy: what cws would take on EC2 (the window, then the grace period the
/// owner has to answer the warning), at least SageMaker's least. `None` (no shutdown) without
/// a policy, or when the policy only warns.
pub fn idle_shutdown_minutes(policy: Option<&crate::idle::IdlePolicy>) -> Option<i32> {
    let policy = policy.filter(|p| p.action != crate::command::IdleAction::Notify)?;
    let minutes = i64::from(policy.after_minutes) + i64::from(policy.grace_minutes);
    let (least, most) = IDLE_SHUTDOWN_MINUTES;
    Some(minutes.clamp(i64::from(least), i64::from(most)) as i32)
}

/// The IAM path of every Studio execution role the workers make; the lead stack lets workers
/// create and pass to SageMaker only roles under it.
pub const EXECUTION_ROLE_PATH: &str = "/cws/studio/";

/// The trust policy of a Studio execution role: SageMaker alone may act as it.
pub const EXECUTION_ROLE_TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The IAM path of every Canvas role the workers make (one per project, under the operator's
/// Canvas policy, `CWS_CANVAS_POLICY`): the stacks let the workers create, and pass to
/// SageMaker, only roles under it, and only with that policy as their boundary.
pub const CANVAS_ROLE_PATH: &str = "/cws/canvas/";

/// The project's Canvas role, under [`CANVAS_ROLE_PATH`], trusted like the Studio execution
/// role ([`EXECUTION_ROLE_TRUST_POLICY`]).
pub fn canvas_role_name(project: &str) -> String {
    studio_name(&format!("cws-cv-{project}"))
}

/// What research users' UIDs and GIDs are moved by in Studio: SageMaker takes no UID below
/// 10,000 and ours start at [`crate::profile::UID_BASE`] (5,000), so every user keeps a
/// number of their own there, the same in every domain, one-to-one with their Unix one.
pub const POSIX_OFFSET: u32 = 10_000;

/// A research user's UID and GID in their Studio profile ([`POSIX_OFFSET`]).
pub fn posix_identity(uid: u32, gid: u32) -> (i64, i64) {
    (
        i64::from(uid) + i64::from(POSIX_OFFSET),
        i64::from(gid) + i64::from(POSIX_OFFSET),
    )
}

/// The project's Studio domain: one per project and region.
pub fn domain_name(project: &str) -> String {
    studio_name(&format!("cws-{project}"))
}

/// Whether a domain is one cws made (reconcile lists only those).
pub fn is_cws_domain(name: &str) -> bool {
    name.starts_with("cws-")
}

/// The security group of the project's Studio apps in a VPC the operator named
/// (`CWS_SUBNETS`), where SageMaker needs one: apart from the workstations' (`cws-{project}`,
/// which opens SSH to `CWS_SSH_CIDRS`), and never the same name, since a project name has no
/// dot.
pub fn security_group_name(project: &str) -> String {
    format!("cws-studio.{project}")
}

/// The interface endpoints through which Studio apps in a `VpcOnly` domain reach SageMaker
/// when their subnets have no way out of the VPC: its API and its runtime.
pub fn sagemaker_endpoints(region: &str) -> [String; 2] {
    [
        format!("com.amazonaws.{region}.sagemaker.api"),
        format!("com.amazonaws.{region}.sagemaker.runtime"),
    ]
}

/// Where a subnet's default route (`0.0.0.0/0`) goes, as its route table says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultRoute {
    /// No default route: nothing leaves the VPC.
    Missing,
    /// An internet gateway, which Studio's apps cannot use: they have no public address.
    InternetGateway,
    /// A NAT gateway or instance, a transit gateway, a peering: a way out.
    Elsewhere,
}

/// The subnets from which a `VpcOnly` Studio app reaches SageMaker neither through its
/// endpoints in the VPC (`endpoints`: the services the VPC has interface endpoints for) nor
/// through a way out of the VPC. Empty when Studio can work there.
pub fn subnets_without_sagemaker(
    region: &str,
    endpoints: &[String],
    routes: &[(String, DefaultRoute)],
) -> Vec<String> {
    if sagemaker_endpoints(region)
        .iter()
        .all(|wanted| endpoints.contains(wanted))
    {
        return Vec::new();
    }
    routes
        .iter()
        .filter(|(_, route)| *route != DefaultRoute::Elsewhere)
        .map(|(subnet, _)| subnet.clone())
        .collect()
}

/// The project's Studio execution role, under [`EXECUTION_ROLE_PATH`].
pub fn execution_role_name(project: &str) -> String {
    studio_name(&format!("cws-st-{project}"))
}

/// A research user's profile in a domain: their username where SageMaker allows it.
pub fn profile_name(username: &str) -> String {
    studio_name(username)
}

/// A research user's Canvas profile in a domain, apart from their Studio one: a profile has
/// one execution role, and Canvas's (which may start SageMaker jobs) must never be the one a
/// JupyterLab terminal holds. Unix usernames have no hyphen, so no Studio profile is named so.
pub fn canvas_profile_name(username: &str) -> String {
    studio_name(&format!("canvas-{username}"))
}

/// A workspace's private space: its name where SageMaker allows it.
pub fn space_name(workspace: &str) -> String {
    studio_name(workspace)
}

/// A Studio workspace's id, as the records keep it: its domain and its space.
pub fn workspace_id(domain_id: &str, space: &str) -> String {
    format!("{domain_id}/{space}")
}

/// The domain and space of a Studio workspace id; `None` for any other id.
pub fn parse_workspace_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/').filter(|(domain, space)| {
        domain.starts_with("d-") && !space.is_empty() && !space.contains('/')
    })
}

/// A Canvas workspace's id: its domain and the user profile whose Canvas it is (one each).
pub fn canvas_workspace_id(domain_id: &str, profile: &str) -> String {
    format!("{domain_id}/canvas/{profile}")
}

/// The domain and user profile of a Canvas workspace id; `None` for any other id.
pub fn parse_canvas_id(id: &str) -> Option<(&str, &str)> {
    let (domain, profile) = id.split_once("/canvas/")?;
    (domain.starts_with("d-") && !domain.contains('/') && !profile.is_empty())
        .then_some((domain, profile))
}

/// `name` as SageMaker names domains, profiles and spaces (letters, digits and inner hyphens,
/// at most 63): as it is when it already fits; otherwise made to fit, with a digest of the
/// whole name so two names never meet in one.
pub fn studio_name(name: &str) -> String {
    const MOST: usize = 63;
    let fits = name.len() <= MOST
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if fits {
        return name.to_owned();
    }
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let digest = hex::encode(&Sha256::digest(name.as_bytes())[..4]);
    let stem: String = cleaned.trim_matches('-').chars().take(MOST - 9).collect();
    let stem = stem.trim_end_matches('-');
    if stem.is_empty() {
        format!("x-{digest}")
    } else {
        format!("{stem}-{digest}")
    }
}

/// A space's state from its app's status (`None`: the space has no app, or only a deleted
/// one): a space without a running app is a stopped workspace that keeps its storage.
pub fn state_of(app_status: Option<&str>) -> InstanceState {
    match app_status {
        Some("Pending") => InstanceState::Pending,
        Some("InService") => InstanceState::Running,
        Some("Deleting") => InstanceState::Stopping,
        _ => InstanceState::Stopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_fit_stay_as_they_are() {
        assert_eq!(domain_name("nih-neuro"), "cws-nih-neuro");
        assert_eq!(space_name("mit-dev"), "mit-dev");
        assert_eq!(profile_name("jsmith"), "jsmith");
    }

    #[test]
    fn names_sagemaker_refuses_are_made_to_fit_and_stay_apart() {
        let a = profile_name("j_smith");
        let b = profile_name("j-smith");
        assert_ne!(a, b);
        assert!(a.starts_with("j-smith-"), "{a}");
        assert_eq!(studio_name(&"a".repeat(63)), "a".repeat(63));
        for name in ["a-", "_", &"x".repeat(80), "--a--"] {
            let fitted = studio_name(name);
            assert!(fitted.len() <= 63, "{fitted}");
            assert!(
                !fitted.starts_with('-') && !fitted.ends_with('-'),
                "{fitted}"
            );
            assert!(
                fitted
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-'),
                "{fitted}"
            );
        }
        assert_ne!(studio_name("a-"), studio_name("a"));
    }

    #[test]
    fn a_persons_canvas_profile_is_never_anyones_studio_profile() {
        assert_eq!(canvas_profile_name("jsmith"), "canvas-jsmith");
        let users = ["jsmith", "canvas", "canvas_jsmith", "michael_johnson", "c"];
        let studio: Vec<String> = users.iter().map(|u| profile_name(u)).collect();
        for user in users {
            let canvas = canvas_profile_name(user);
            assert!(!studio.contains(&canvas), "{canvas}");
            assert_eq!(studio_name(&canvas), canvas);
        }
        assert_eq!(canvas_role_name("nih-neuro"), "cws-cv-nih-neuro");
        assert_eq!(security_group_name("x"), "cws-studio.x");
        assert_ne!(
            security_group_name("x"),
            crate::network::security_group_name("studio-x")
        );
        assert!(canvas_role_name(&"p".repeat(80)).len() <= 64);
    }

    #[test]
    fn studio_in_a_vpc_needs_sagemakers_endpoints_or_a_way_out() {
        use DefaultRoute::{Elsewhere, InternetGateway, Missing};
        let [api, runtime] = sagemaker_endpoints("us-east-1");
        let routes = |list: &[DefaultRoute]| -> Vec<(String, DefaultRoute)> {
            list.iter()
                .enumerate()
                .map(|(i, r)| (format!("subnet-{i}"), *r))
                .collect()
        };
        type Case<'a> = (Vec<String>, Vec<(String, DefaultRoute)>, Vec<&'a str>);
        let cases: [Case; 6] = [
            (vec![], routes(&[Elsewhere, Elsewhere]), vec![]),
            (vec![], routes(&[Elsewhere, Missing]), vec!["subnet-1"]),
            (vec![], routes(&[InternetGateway]), vec!["subnet-0"]),
            (
                vec![api.clone(), runtime.clone()],
                routes(&[Missing]),
                vec![],
            ),
            (vec![api.clone()], routes(&[Missing]), vec!["subnet-0"]),
            (
                vec!["com.amazonaws.us-west-2.sagemaker.api".to_owned(), runtime],
                routes(&[InternetGateway]),
                vec!["subnet-0"],
            ),
        ];
        for (endpoints, routes, expected) in cases {
            assert_eq!(
                subnets_without_sagemaker("us-east-1", &endpoints, &routes),
                expected,
                "{endpoints:?} {routes:?}"
            );
        }
    }

    #[test]
    fn studio_shuts_idle_spaces_down_when_cws_would_have_acted() {
        use crate::command::IdleAction;
        use crate::idle::IdlePolicy;
        let policy = |after_minutes, grace_minutes, action| IdlePolicy {
            cpu_below: 5,
            after_minutes,
            grace_minutes,
            action,
        };
        let cases = [
            (Some(policy(120, 30, IdleAction::Hibernate)), Some(150)),
            (Some(policy(90, 0, IdleAction::Stop)), Some(90)),
            (Some(policy(10, 5, IdleAction::Stop)), Some(60)),
            (Some(policy(600_000, 0, IdleAction::Stop)), Some(525_600)),
            (Some(policy(120, 30, IdleAction::Notify)), None),
            (None, None),
        ];
        for (given, minutes) in cases {
            assert_eq!(idle_shutdown_minutes(given.as_ref()), minutes, "{given:?}");
        }
    }

    #[test]
    fn studio_and_canvas_ids_never_read_as_each_other() {
        let space = workspace_id("d-abc", "canvas");
        let canvas = canvas_workspace_id("d-abc", "jsmith");
        assert_eq!(parse_workspace_id(&space), Some(("d-abc", "canvas")));
        assert_eq!(parse_canvas_id(&canvas), Some(("d-abc", "jsmith")));
        assert_eq!(parse_workspace_id(&canvas), None);
        assert_eq!(parse_canvas_id(&space), None);
        assert_eq!(parse_canvas_id("i-0123/canvas/x"), None);
        assert_eq!(parse_canvas_id("d-abc/canvas/"), None);
    }

    #[test]
    fn every_research_uid_has_its_own_studio_uid_within_sagemaker_s_range() {
        let first = crate::profile::research_uid(0, 0).unwrap();
        let (uid, gid) = posix_identity(first, first);
        assert!(uid >= 10_000 && gid >= 1_001, "{uid} {gid}");
        let later = crate::profile::research_uid(7, 999).unwrap();
        assert_ne!(posix_identity(later, later), (uid, gid));
        assert_eq!(
            posix_identity(later, later).0 - uid,
            i64::from(later - first)
        );
    }

    #[test]
    fn workspace_ids_name_domain_and_space() {
        let id = workspace_id("d-abc123def456", "mit-dev");
        assert_eq!(parse_workspace_id(&id), Some(("d-abc123def456", "mit-dev")));
        assert_eq!(parse_workspace_id("i-0123456789abcdef0"), None);
    }

    #[test]
    fn a_space_runs_only_while_its_app_is_in_service() {
        assert_eq!(state_of(Some("InService")), InstanceState::Running);
        assert_eq!(state_of(Some("Pending")), InstanceState::Pending);
        assert_eq!(state_of(Some("Deleting")), InstanceState::Stopping);
        assert_eq!(state_of(Some("Deleted")), InstanceState::Stopped);
        assert_eq!(state_of(Some("Failed")), InstanceState::Stopped);
        assert_eq!(state_of(None), InstanceState::Stopped);
    }
}
