//! Messages about who may do what: projects, invitations, profiles and refusals.

use serde_json::json;
use time::OffsetDateTime;

use super::limits::TextFile;
use super::mail::{MailText, render_mail};
use super::{ChatMessage, render};
use crate::command::PolicyRestrictions;
use crate::identity::{Permission, Role};
use crate::invitation::{Extension, Invitation, InvitationStatus};
use crate::profile::{KeyDelivery, Profile};
use crate::project::Project;
use crate::spreadsheet::SpreadsheetCsv;
use crate::time_text;

/// The restrictions of an invitation as short phrases: `templates R Research Environment`.
fn restriction_phrases(restrictions: Option<&PolicyRestrictions>) -> Vec<String> {
    restrictions
        .map(PolicyRestrictions::phrases)
        .unwrap_or_default()
}

/// How a reply tells what became of the private key.
fn key_fields(key: &KeyDelivery) -> (bool, Option<&str>) {
    match key {
        KeyDelivery::Sent => (true, None),
        KeyDelivery::NotPending => (false, None),
        KeyDelivery::Undelivered(reason) => (false, Some(reason.as_str())),
    }
}

pub fn project_created(project: &Project, profile: &Profile, key: &KeyDelivery) -> ChatMessage {
    let (key_sent, key_undelivered) = key_fields(key);
    render(
        "project_created",
        &json!({
            "name": project.name,
            "description": project.description,
            "budget": project.monthly_budget.to_string(),
            "alert_threshold": project.alert_threshold,
            "owner_user_id": project.owner_user_id,
            "institution": project.institution,
            "account": project.account,
            "profile": profile.name,
            "username": profile.research_user.username,
            "uid": profile.research_user.uid,
            "key_sent": key_sent,
            "key_undelivered": key_undelivered,
        }),
    )
}

pub fn project_exists(project: &Project) -> ChatMessage {
    render(
        "project_exists",
        &json!({ "name": project.name, "owner_user_id": project.owner_user_id }),
    )
}

/// The caller has no profile to act through; `doing` completes "so you cannot …".
pub fn no_profile(doing: &str) -> ChatMessage {
    render("no_profile", &json!({ "doing": doing }))
}

pub fn not_member(project: &str) -> ChatMessage {
    render("not_member", &json!({ "project": project }))
}

pub fn not_permitted(role: Role, permission: Permission, project: &Project) -> ChatMessage {
    render(
        "not_permitted",
        &json!({
            "role": role.as_str(),
            "permission": permission.describe(),
            "project": project.name,
            "owner_user_id": project.owner_user_id,
        }),
    )
}

/// The invitation behind a profile was revoked or has expired.
pub fn profile_inactive(profile: &Profile, project: &Project, reason: &str) -> ChatMessage {
    render(
        "profile_inactive",
        &json!({
            "profile": profile.name,
            "project": project.name,
            "reason": reason,
            "owner_user_id": project.owner_user_id,
        }),
    )
}

pub fn invite_refused(project: &str, reason: &str) -> ChatMessage {
    render(
        "invite_refused",
        &json!({ "project": project, "reason": reason }),
    )
}

/// Shown only to the creator: the token is the invitation.
pub fn invitation_created(invitation: &Invitation, token: &str, valid_days: u16) -> ChatMessage {
    render(
        "invitation_created",
        &json!({
            "name": invitation.name,
            "project": invitation.project,
            "token": token,
            "valid_days": valid_days,
            "expires": time_text::date(invitation.expires_at),
            "device_bound": invitation.device_bound,
            "max_devices": invitation.max_devices,
            "role": invitation.role.as_str(),
            "role_meaning": invitation.role.describe(),
            "can_invite": invitation.can_invite,
            "restrictions": restriction_phrases(invitation.restrictions.as_ref()),
            "identity": identity_requirement(invitation),
        }),
    )
}

/// What the invitee must prove before accepting, in words; `None` when nothing.
fn identity_requirement(invitation: &Invitation) -> Option<String> {
    match &invitation.require_domain {
        Some(domain) => Some(format!("a verified identity at {domain}")),
        None => invitation
            .require_verified_identity
            .then(|| "a verified identity".to_owned()),
    }
}

pub fn invitation_name_taken(project: &str, name: &str) -> ChatMessage {
    render(
        "invitation_name_taken",
        &json!({ "project": project, "name": name }),
    )
}

pub fn invitation_unknown(project: &str, name: &str) -> ChatMessage {
    render(
        "invitation_unknown",
        &json!({ "project": project, "name": name }),
    )
}

pub fn invitation_revoked(invitation: &Invitation) -> ChatMessage {
    render(
        "invitation_revoked",
        &json!({
            "name": invitation.name,
            "project": invitation.project,
            "devices": invitation.devices.len(),
        }),
    )
}

/// Shown only to the one who extended it: the new end, and who was told.
pub fn invitation_extended(
    invitation: &Invitation,
    extension: &Extension,
    told: usize,
) -> ChatMessage {
    render(
        "invitation_extended",
        &json!({
            "name": invitation.name,
            "project": invitation.project,
            "ends": time_text::date(extension.to),
            "was": time_text::date(extension.from),
            "days": (extension.to - extension.from).whole_days(),
            "told": told,
        }),
    )
}

/// Extending failed; `reason` is the refusal as written.
pub fn extend_refused(project: &str, name: &str, reason: &str) -> ChatMessage {
    render(
        "extend_refused",
        &json!({ "project": project, "name": name, "reason": reason }),
    )
}

/// Accepting failed; `reason` is the token's or the invitation's refusal as written.
pub fn invitation_refused(reason: &str) -> ChatMessage {
    render("invitation_refused", &json!({ "reason": reason }))
}

/// One invitation made from a CSV row, for [`invitations_created`].
pub struct CreatedFromRow<'a> {
    pub invitation: &'a Invitation,
    pub token: String,
    pub valid_days: u16,
    /// The invitee's address from the CSV's Email column.
    pub email: Option<String>,
}

/// One CSV row that made no invitation, or whose invitation e-mail was not sent, and why.
pub struct RowProblem {
    pub line: usize,
    pub problem: String,
}

/// How the tokens of a CSV's invitations went out besides the reply.
#[derive(Default)]
pub struct TokensSent<'a> {
    /// `--output`: the file of tokens sent to the requester by direct message; the reply
    /// then names it instead of showing the tokens.
    pub file: Option<&'a str>,
    /// Invitation e-mails sent, by this run or an earlier run of the same request.
    pub mailed: usize,
    /// Rows whose e-mail could not be sent.
    pub unmailed: &'a [RowProblem],
}

pub fn invitations_created(
    project: &str,
    created: &[CreatedFromRow<'_>],
    errors: &[RowProblem],
    sent: &TokensSent<'_>,
) -> ChatMessage {
    let created: Vec<_> = created
        .iter()
        .map(|row| {
            json!({
                "name": row.invitation.name,
                "invitee": row.invitation.invitee.as_deref().unwrap_or("?"),
                "institution": row.invitation.institution.as_deref().unwrap_or("?"),
                "role": row.invitation.role.as_str(),
                "valid_days": row.valid_days,
                "restrictions": restriction_phrases(row.invitation.restrictions.as_ref()).join("; "),
                "token": row.token,
            })
        })
        .collect();
    let problems = |rows: &[RowProblem]| -> Vec<_> {
        rows.iter()
            .map(|e| json!({ "line": e.line, "problem": e.problem }))
            .collect()
    };
    let errors = problems(errors);
    let unmailed = problems(sent.unmailed);
    render(
        "invitations_created",
        &json!({
            "project": project,
            "created_count": created.len(),
            "created": created,
            "errors_count": errors.len(),
            "errors": errors,
            "file": sent.file,
            "mailed": sent.mailed,
            "unmailed_count": unmailed.len(),
            "unmailed": unmailed,
        }),
    )
}

/// `--output FILE`: the CSV's invitations with their tokens, for the requester alone. Every
/// cell is neutralised: a name or institution typed by the inviter is opened in a
/// spreadsheet.
pub fn invitations_file(name: &str, project: &str, created: &[CreatedFromRow<'_>]) -> TextFile {
    let mut csv = SpreadsheetCsv::new();
    csv.row([
        "name",
        "email",
        "institution",
        "role",
        "invitation",
        "token",
        "expires",
    ]);
    for row in created {
        let invitation = row.invitation;
        csv.row([
            invitation.invitee.as_deref().unwrap_or_default(),
            row.email.as_deref().unwrap_or_default(),
            invitation.institution.as_deref().unwrap_or_default(),
            invitation.role.as_str(),
            &invitation.name,
            &row.token,
            &invitation.expires_at.date().to_string(),
        ]);
    }
    TextFile {
        name: name.to_owned(),
        title: format!("{} invitation token(s) of project {project}", created.len()),
        content: csv.finish(),
    }
}

/// To an invitee with an e-mail in the collaborators CSV: who invited them to what, until
/// when, and the command that accepts, token included.
pub fn invitation_mail(
    invitation: &Invitation,
    token: &str,
    inviter: &str,
    inviter_institution: &str,
) -> MailText {
    render_mail(
        "invitation",
        &json!({
            "project": invitation.project,
            "invitation": invitation.name,
            "invitee": invitation.invitee,
            "inviter": inviter,
            "inviter_institution": inviter_institution,
            "role": invitation.role.as_str(),
            "expires": time_text::date(invitation.expires_at),
            "restrictions": restriction_phrases(invitation.restrictions.as_ref()).join("; "),
            "token": token,
            "profile": invitation.project,
        }),
    )
}

pub fn csv_refused(reason: &str) -> ChatMessage {
    render("csv_refused", &json!({ "reason": reason }))
}

pub fn invitation_list(
    project: &str,
    invitations: &[Invitation],
    now: OffsetDateTime,
) -> ChatMessage {
    let rows: Vec<_> = invitations
        .iter()
        .map(|invitation| {
            let status = match invitation.status(now) {
                InvitationStatus::Active => format!(
                    "expires {} (in {})",
                    time_text::date(invitation.expires_at),
                    time_text::until(now, invitation.expires_at)
                ),
                InvitationStatus::Revoked { at } => format!("revoked {}", time_text::date(at)),
                InvitationStatus::Expired { at } => format!("expired {}", time_text::date(at)),
            };
            json!({
                "name": invitation.name,
                "role": invitation.role.as_str(),
                "status": status,
                "devices": invitation.devices.len(),
                "max_devices": invitation.max_devices,
                "restricted": invitation.restrictions.is_some(),
            })
        })
        .collect();
    render(
        "invitation_list",
        &json!({ "project": project, "invitations": rows }),
    )
}

/// The answer to accepting an invitation.
pub fn profile_created(
    profile: &Profile,
    project: &Project,
    now: OffsetDateTime,
    key: &KeyDelivery,
    active: bool,
) -> ChatMessage {
    let expires_at = profile.expires_at.unwrap_or(now);
    let (key_sent, key_undelivered) = key_fields(key);
    render(
        "profile_created",
        &json!({
            "profile": profile.name,
            "project": project.name,
            "account": project.account,
            "role": profile.role.as_str(),
            "expires": time_text::date(expires_at),
            "expires_in": format!("in {}", time_text::until(now, expires_at)),
            "username": profile.research_user.username,
            "uid": profile.research_user.uid,
            "key_sent": key_sent,
            "key_undelivered": key_undelivered,
            "active": active,
        }),
    )
}

/// Sent only by direct message, once.
pub fn ssh_private_key(profile: &Profile, private_key: &str) -> ChatMessage {
    render(
        "ssh_private_key",
        &json!({
            "username": profile.research_user.username,
            "profile": profile.name,
            "project": profile.project,
            "private_key": private_key,
        }),
    )
}

/// How a key replacement went on the research user's workspaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyReplacement {
    /// Running workspaces that now have the new key instead of the old one.
    pub replaced: Vec<String>,
    /// Workspaces that are not running: they keep the old key.
    pub not_running: Vec<String>,
    /// Running workspaces where the replacement failed, with the reason.
    pub failed: Vec<(String, String)>,
}

/// The answer to `profiles ssh-key add` (`own_key`: the person's algorithm) and `rotate`
/// (`own_key` `None`; `delivery` says whether the private key reached them).
pub fn ssh_key_replaced(
    profile: &Profile,
    own_key: Option<&str>,
    replacement: &KeyReplacement,
    delivery: &KeyDelivery,
) -> ChatMessage {
    let undelivered = match delivery {
        KeyDelivery::Undelivered(code) => Some(code.as_str()),
        _ => None,
    };
    render(
        "ssh_key_replaced",
        &json!({
            "username": profile.research_user.username,
            "profile": profile.name,
            "project": profile.project,
            "own_key": own_key,
            "sent": matches!(delivery, KeyDelivery::Sent),
            "undelivered": undelivered,
            "replaced": replacement.replaced.join(", "),
            "not_running": replacement.not_running.join(", "),
            "failed": replacement
                .failed
                .iter()
                .map(|(name, why)| format!("{name} ({why})"))
                .collect::<Vec<_>>()
                .join("; "),
        }),
    )
}

pub fn profile_name_taken(profile: &Profile) -> ChatMessage {
    render(
        "profile_name_taken",
        &json!({ "profile": profile.name, "project": profile.project }),
    )
}

pub fn already_member(profile: &Profile) -> ChatMessage {
    render(
        "already_member",
        &json!({ "profile": profile.name, "project": profile.project }),
    )
}

pub fn profile_switched(profile: &Profile, now: OffsetDateTime) -> ChatMessage {
    switched(profile, None, now)
}

/// `profiles use ACCOUNT` named the AWS account of the person's own project: the seed's
/// `cws profile use stanford-neuroscience`. Their profile of that project is now active.
pub fn account_profile_switched(
    profile: &Profile,
    account: &str,
    now: OffsetDateTime,
) -> ChatMessage {
    switched(profile, Some(account), now)
}

fn switched(profile: &Profile, account: Option<&str>, now: OffsetDateTime) -> ChatMessage {
    render(
        "profile_switched",
        &json!({
            "profile": profile.name,
            "account": account,
            "project": profile.project,
            "role": profile.role.as_str(),
            "expires": profile.expires_at.map(|at| time_text::until(now, at)),
        }),
    )
}

/// `profiles use ACCOUNT` named the deployment's AWS account before the person owns a
/// project in it: how they get their profile there.
pub fn account_has_no_project(account: &str) -> ChatMessage {
    render("account_has_no_project", &json!({ "account": account }))
}

pub fn profile_unknown(profile: &str, names: &[String]) -> ChatMessage {
    render(
        "profile_unknown",
        &json!({ "profile": profile, "names": names }),
    )
}

/// A profile as `profiles list` shows it, with the state of the invitation behind it.
pub struct ListedProfile<'a> {
    pub profile: &'a Profile,
    pub active: bool,
    pub invitation: Option<InvitationStatus>,
    /// An owner's profile: the AWS account their project runs in, which `profiles use` also
    /// takes as the profile's name.
    pub account: Option<&'a str>,
}

pub fn profiles_list(profiles: &[ListedProfile<'_>], now: OffsetDateTime) -> ChatMessage {
    let rows: Vec<_> = profiles
        .iter()
        .map(|listed| {
            let profile = listed.profile;
            let expiry = match (listed.invitation, profile.expires_at) {
                (Some(InvitationStatus::Revoked { at }), _) => {
                    Some(format!("revoked {}", time_text::date(at)))
                }
                (Some(InvitationStatus::Expired { at }), _) => {
                    Some(format!("expired {}", time_text::date(at)))
                }
                (_, Some(at)) => Some(format!("expires in {}", time_text::until(now, at))),
                (_, None) => None,
            };
            json!({
                "name": profile.name,
                "kind": if profile.invitation().is_some() { "invitation" } else { "personal" },
                "account": listed.account,
                "project": profile.project,
                "role": profile.role.as_str(),
                "active": listed.active,
                "expiry": expiry,
                "institution": profile.institution,
                "verified": profile.verified_identity.as_ref().map(|verified| {
                    format!("{}, {}", verified.username, verified.institution())
                }),
            })
        })
        .collect();
    render("profiles_list", &json!({ "profiles": rows }))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::command::{Command, ProfilesCommand, parse};
    use crate::identity::ChatIdentity;
    use crate::invitation::NewInvitation;
    use crate::profile::{Collaborator, ResearchUser};
    use crate::token::InvitationId;
    use crate::verified_identity::VerifiedIdentity;

    fn profile(expires_at: Option<OffsetDateTime>) -> Profile {
        Profile {
            name: "stanford-collab".into(),
            identity: ChatIdentity::slack("T1", "U1"),
            project: "nih-neuro-consortium".into(),
            collaborator: Collaborator::Invitation(InvitationId::from_bytes([3; 16])),
            role: Role::ReadWrite,
            can_invite: false,
            institution: "berkeley".into(),
            research_user: ResearchUser {
                username: "sarah_lee".into(),
                uid: 5001,
                gid: 5001,
                account: "111111111111".into(),
                ssh_public_key: "ssh-ed25519 AAAA sarah_lee".into(),
                own_key: false,
                retired_keys: Vec::new(),
            },
            created_at: datetime!(2026-01-01 00:00 UTC),
            expires_at,
            verified_identity: None,
        }
    }

    #[test]
    fn a_registered_key_says_where_it_replaced_the_old_one_and_where_it_could_not() {
        let message = ssh_key_replaced(
            &profile(None),
            Some("ssh-ed25519"),
            &KeyReplacement {
                replaced: vec!["berkeley-analysis".into()],
                not_running: vec!["berkeley-gpu".into()],
                failed: vec![("berkeley-old".into(), "the SSM agent is not online".into())],
            },
            &KeyDelivery::NotPending,
        );
        insta::assert_snapshot!(message.text, @"🔑 Your ssh-ed25519 key is now the SSH key of research user sarah_lee (profile stanford-collab, project nih-neuro-consortium). It replaced the old key on berkeley-analysis. Not running, so still on the old key: berkeley-gpu. Not replaced on berkeley-old (the SSM agent is not online).");
        insta::assert_json_snapshot!(message.blocks);
    }

    #[test]
    fn a_rotated_key_whose_message_failed_says_how_to_get_another() {
        let message = ssh_key_replaced(
            &profile(None),
            None,
            &KeyReplacement::default(),
            &KeyDelivery::Undelivered("cannot_dm_bot".into()),
        );
        insta::assert_snapshot!(message.text, @"🔑 A new key pair is now the SSH key of research user sarah_lee (profile stanford-collab, project nih-neuro-consortium).");
        let blocks = serde_json::to_string(&message.blocks).unwrap();
        assert!(
            blocks.contains("could not be delivered (cannot_dm_bot)"),
            "{blocks}"
        );
        assert!(blocks.contains("/cws profiles ssh-key rotate"), "{blocks}");
    }

    /// Dr. Smith's own profile, made by `project create nih-neuro-consortium`.
    fn owner_profile() -> Profile {
        Profile {
            name: "nih-neuro-consortium".into(),
            collaborator: Collaborator::Owner {
                project: "nih-neuro-consortium".into(),
            },
            role: Role::Owner,
            can_invite: true,
            institution: "stanford".into(),
            ..profile(None)
        }
    }

    #[test]
    fn an_owners_profile_is_personal_and_named_by_its_account_too() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let own = owner_profile();
        let listed = profiles_list(
            &[ListedProfile {
                profile: &own,
                active: true,
                invitation: None,
                account: Some("stanford-neuroscience"),
            }],
            now,
        );
        insta::assert_snapshot!(listed.text, @"Profiles: nih-neuro-consortium (personal, account stanford-neuroscience, active) - stanford (self-declared);");
        let switched = account_profile_switched(&own, "stanford-neuroscience", now);
        insta::assert_snapshot!(switched.text, @"✅ Now using profile *nih-neuro-consortium* (your personal profile of AWS account *stanford-neuroscience*): project *nih-neuro-consortium* as *owner*.");
        let none_yet = account_has_no_project("stanford-neuroscience");
        insta::assert_snapshot!(none_yet.text, @"stanford-neuroscience is this deployment's AWS account, and you own no project in it yet. Create one with `/cws project create NAME --budget USD`: its profile is your personal profile of stanford-neuroscience, and `/cws profiles use stanford-neuroscience` switches to it.");
    }

    #[test]
    fn profiles_list_reads_like_the_seed() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let collab = profile(Some(datetime!(2027-06-25 00:00 UTC)));
        let message = profiles_list(
            &[ListedProfile {
                profile: &collab,
                active: true,
                invitation: Some(InvitationStatus::Active),
                account: None,
            }],
            now,
        );
        insta::assert_snapshot!(message.text, @"Profiles: stanford-collab (invitation, active) - expires in 18 months - berkeley (self-declared);");
    }

    #[test]
    fn an_identity_bound_invitation_says_what_the_invitee_must_prove() {
        let Ok(Command::Profiles(ProfilesCommand::InvitationCreate(create))) = parse(
            "profiles invitations create mit-only --type read_only --valid-days 30 --require-domain mit.edu",
        ) else {
            panic!("parses")
        };
        let invitation = Invitation::create(
            &create,
            NewInvitation {
                id: InvitationId::from_bytes([4; 16]),
                project: "nih".into(),
                created_by: ChatIdentity::slack("T1", "UOWNER"),
                now: datetime!(2026-01-01 00:00 UTC),
            },
        );
        let message = invitation_created(&invitation, "inv-abc", 30);
        let text = message.blocks[0]["text"]["text"].as_str().unwrap();
        insta::assert_snapshot!(text.lines().nth(6).unwrap(), @"🪪 Requires: a verified identity at mit.edu (`/cws profiles verify` before accepting)");
    }

    fn collaborator(name: &str, institution: &str) -> Invitation {
        let Ok(Command::Profiles(ProfilesCommand::InvitationCreate(create))) = parse(
            "profiles invitations create berkeley-collaboration --type read_write --valid-days 540 \
             --max-hourly-cost 0.50",
        ) else {
            panic!("parses")
        };
        let mut invitation = Invitation::create(
            &create,
            NewInvitation {
                id: InvitationId::from_bytes([5; 16]),
                project: "nih-neuro-consortium".into(),
                created_by: ChatIdentity::slack("T1", "USMITH"),
                now: datetime!(2025-12-09 00:00 UTC),
            },
        );
        invitation.invitee = Some(name.into());
        invitation.institution = Some(institution.into());
        invitation
    }

    #[test]
    fn with_output_the_reply_names_the_file_and_shows_no_token() {
        let invitation = collaborator("Dr. Sarah Lee", "Berkeley");
        let created = [CreatedFromRow {
            invitation: &invitation,
            token: "inv-secret".into(),
            valid_days: 540,
            email: Some("sarah.lee@berkeley.edu".into()),
        }];
        let unmailed = [RowProblem {
            line: 3,
            problem: "the mail server refused sarah@nowhere.invalid".into(),
        }];
        let sent = TokensSent {
            file: Some("invitations.csv"),
            mailed: 1,
            unmailed: &unmailed,
        };
        let reply = invitations_created("nih-neuro-consortium", &created, &[], &sent);
        let blocks = serde_json::to_string(&reply.blocks).unwrap();
        assert!(!blocks.contains("inv-secret"), "{blocks}");
        insta::assert_snapshot!(reply.text, @"✅ 1 collaboration invitation(s) created in project nih-neuro-consortium. 📧 1 invitation e-mail(s) sent.");
        insta::assert_json_snapshot!(reply.blocks);
        let without_file = invitations_created(
            "nih-neuro-consortium",
            &created,
            &[],
            &TokensSent::default(),
        );
        assert!(
            serde_json::to_string(&without_file.blocks)
                .unwrap()
                .contains("inv-secret")
        );
    }

    #[test]
    fn the_tokens_file_is_a_csv_whose_cells_cannot_run_as_formulas() {
        let lee = collaborator("Dr. Sarah Lee", "Berkeley");
        let formula = collaborator("=HYPERLINK(\"http://evil\")", "+MIT");
        let created = [
            CreatedFromRow {
                invitation: &lee,
                token: "inv-lee".into(),
                valid_days: 540,
                email: Some("sarah.lee@berkeley.edu".into()),
            },
            CreatedFromRow {
                invitation: &formula,
                token: "inv-other".into(),
                valid_days: 540,
                email: None,
            },
        ];
        let file = invitations_file("invitations.csv", "nih-neuro-consortium", &created);
        assert_eq!(file.name, "invitations.csv");
        insta::assert_snapshot!(file.content, @r#"
        name,email,institution,role,invitation,token,expires
        Dr. Sarah Lee,sarah.lee@berkeley.edu,Berkeley,read_write,berkeley-collaboration,inv-lee,2027-06-02
        "'=HYPERLINK(""http://evil"")",,'+MIT,read_write,berkeley-collaboration,inv-other,2027-06-02
        "#);
    }

    #[test]
    fn the_invitation_mail_has_the_token_and_the_command_to_accept() {
        let invitation = collaborator("Dr. Sarah Lee", "Berkeley");
        let mail = invitation_mail(&invitation, "inv-abc.def", "jsmith", "Stanford");
        insta::assert_snapshot!(format!("Subject: {}\n\n{}", mail.subject, mail.body));
    }

    #[test]
    fn profiles_list_marks_the_institution_verified_or_self_declared() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let declared = profile(None);
        let verified = Profile {
            name: "berkeley".into(),
            verified_identity: Some(VerifiedIdentity {
                subject: "b1f5".into(),
                username: "sarah.lee@berkeley.edu".into(),
                name: None,
                email: None,
                organization: Some("University of California, Berkeley".into()),
                identity_provider: None,
                linked: Vec::new(),
                verified_at: now,
            }),
            ..profile(None)
        };
        let listed = |profile| ListedProfile {
            profile,
            active: false,
            invitation: None,
            account: None,
        };
        let message = profiles_list(&[listed(&declared), listed(&verified)], now);
        insta::assert_snapshot!(message.blocks[0]["text"]["text"].as_str().unwrap(), @r"
        *Profiles:*
        • *stanford-collab* (invitation) · project nih-neuro-consortium · read_write
           berkeley (self-declared; `/cws profiles verify` to verify)
        • *berkeley* (invitation) · project nih-neuro-consortium · read_write
           ✔ verified: sarah.lee@berkeley.edu, University of California, Berkeley
        ");
    }

    #[test]
    fn every_access_message_renders() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let collab = profile(Some(datetime!(2027-06-25 00:00 UTC)));
        for message in [
            no_profile("launch workspaces"),
            not_member("nih"),
            invite_refused("nih", "a read_write may not create invitations"),
            invitation_name_taken("nih", "x"),
            invitation_unknown("nih", "x"),
            invitation_refused("this invitation expired on June 1, 2027"),
            csv_refused("the header has no Type column"),
            profile_name_taken(&collab),
            already_member(&collab),
            profile_switched(&collab, now),
            profile_unknown("nope", &["stanford-collab".to_owned()]),
            ssh_private_key(&collab, "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n"),
            invitations_created(
                "nih",
                &[],
                &[RowProblem {
                    line: 3,
                    problem: "bad".into(),
                }],
                &TokensSent::default(),
            ),
            invitation_list("nih", &[], now),
        ] {
            assert!(!message.text.is_empty());
            assert!(!message.blocks.is_empty());
        }
    }
}
