//! The consortium's AWS accounts by name (`CWS_ACCOUNTS`): the lead's and each collaborating
//! institution's. Snapshot transfers and cross-account grants name accounts this way
//! (`mit-csail`), never by bare number, so a typo cannot hand data to a stranger.
//!
//! `CWS_ACCOUNTS=mit-csail=111111111111@MIT,berkeley-neuroscience=arn:aws:iam::222222222222:role/cws`
//! — a name, then the 12-digit account id or a role ARN in that account, then optionally the
//! institution it belongs to (by default the account's name is the institution, as a Slack
//! workspace's domain is).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    /// The 12-digit AWS account id.
    pub id: String,
    /// The role workers assume to act in the account, when one was given.
    pub role_arn: Option<String>,
    pub institution: String,
}

impl Account {
    /// Whether a collaborator of `institution` keeps their work in this account.
    pub fn belongs_to(&self, institution: &str) -> bool {
        self.institution.eq_ignore_ascii_case(institution)
            || self.name.eq_ignore_ascii_case(institution)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts(Vec<Account>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountsError {
    #[error("`{entry}` is not NAME=ACCOUNT_ID_OR_ROLE_ARN[@INSTITUTION]")]
    Shape { entry: String },
    #[error("`{entry}`: {value} is neither a 12-digit account id nor an IAM role ARN")]
    Id { entry: String, value: String },
    #[error("account `{name}` is named twice")]
    Duplicate { name: String },
}

impl FromStr for Accounts {
    type Err = AccountsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut accounts: Vec<Account> = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let shape = || AccountsError::Shape {
                entry: entry.to_owned(),
            };
            let (name, rest) = entry.split_once('=').ok_or_else(shape)?;
            let (target, institution) = match rest.split_once('@') {
                Some((target, institution)) => (target, Some(institution)),
                None => (rest, None),
            };
            let name = name.trim();
            if name.is_empty() || institution.is_some_and(|i| i.trim().is_empty()) {
                return Err(shape());
            }
            let (id, role_arn) = account_id(target.trim()).ok_or_else(|| AccountsError::Id {
                entry: entry.to_owned(),
                value: target.trim().to_owned(),
            })?;
            if accounts.iter().any(|a| a.name.eq_ignore_ascii_case(name)) {
                return Err(AccountsError::Duplicate {
                    name: name.to_owned(),
                });
            }
            accounts.push(Account {
                name: name.to_owned(),
                id,
                role_arn,
                institution: institution.unwrap_or(name).trim().to_owned(),
            });
        }
        Ok(Accounts(accounts))
    }
}

/// The account id of a bare id or of a role ARN (`arn:aws:iam::ID:role/NAME`).
fn account_id(target: &str) -> Option<(String, Option<String>)> {
    let is_id = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    if is_id(target) {
        return Some((target.to_owned(), None));
    }
    let mut parts = target.splitn(6, ':');
    let (arn, _partition, iam, region, id, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (arn == "arn"
        && iam == "iam"
        && region.is_empty()
        && is_id(id)
        && resource.starts_with("role/"))
    .then(|| (id.to_owned(), Some(target.to_owned())))
}

impl Accounts {
    pub fn iter(&self) -> impl Iterator<Item = &Account> {
        self.0.iter()
    }

    pub fn named(&self, name: &str) -> Option<&Account> {
        self.0.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|a| a.name.as_str()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The account an invitation may launch its workspaces in: configured, and with a role,
    /// since workers launch there as that role.
    pub fn launch_account(&self, name: &str) -> Result<&Account, LaunchAccountRefusal> {
        let account = self
            .named(name)
            .ok_or_else(|| LaunchAccountRefusal::Unknown {
                name: name.to_owned(),
                known: if self.is_empty() {
                    "none: set CWS_ACCOUNTS".to_owned()
                } else {
                    self.names().join(", ")
                },
            })?;
        if account.role_arn.is_none() {
            return Err(LaunchAccountRefusal::NoRole {
                name: account.name.clone(),
            });
        }
        Ok(account)
    }
}

/// Why an invitation cannot launch in the account it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchAccountRefusal {
    #[error("account `{name}` is not configured (configured: {known})")]
    Unknown { name: String, known: String },
    #[error(
        "account `{name}` has no role in CWS_ACCOUNTS: workspaces launch there only through a \
         role the workers may assume (NAME=arn:aws:iam::ID:role/ROLE)"
    )]
    NoRole { name: String },
}

impl fmt::Display for Accounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_launches_only_in_a_configured_account_with_a_role() {
        let accounts: Accounts =
            "mit-csail=111111111111, berkeley-neuroscience=arn:aws:iam::222222222222:role/cws"
                .parse()
                .unwrap();
        assert_eq!(
            accounts.launch_account("berkeley-neuroscience").unwrap().id,
            "222222222222"
        );
        assert_eq!(
            accounts.launch_account("mit-csail").unwrap_err(),
            LaunchAccountRefusal::NoRole {
                name: "mit-csail".into()
            }
        );
        assert_eq!(
            accounts.launch_account("harvard").unwrap_err().to_string(),
            "account `harvard` is not configured (configured: mit-csail, berkeley-neuroscience)"
        );
    }

    #[test]
    fn accounts_parse_from_ids_and_role_arns() {
        let accounts: Accounts =
            "mit-csail=111111111111@MIT, berkeley-neuroscience=arn:aws:iam::222222222222:role/cws"
                .parse()
                .unwrap();
        let mit = accounts.named("MIT-CSAIL").unwrap();
        assert_eq!(
            (mit.id.as_str(), mit.role_arn.as_deref()),
            ("111111111111", None)
        );
        assert!(
            mit.belongs_to("mit") && mit.belongs_to("mit-csail") && !mit.belongs_to("Berkeley")
        );
        let berkeley = accounts.named("berkeley-neuroscience").unwrap();
        assert_eq!(berkeley.id, "222222222222");
        assert_eq!(
            berkeley.role_arn.as_deref(),
            Some("arn:aws:iam::222222222222:role/cws")
        );
        assert!(berkeley.belongs_to("berkeley-neuroscience"));
    }

    #[test]
    fn bad_accounts_say_what_is_wrong() {
        let cases = [
            (
                "mit-csail",
                "`mit-csail` is not NAME=ACCOUNT_ID_OR_ROLE_ARN[@INSTITUTION]",
            ),
            (
                "mit=1234",
                "`mit=1234`: 1234 is neither a 12-digit account id nor an IAM role ARN",
            ),
            (
                "mit=arn:aws:s3:::bucket",
                "`mit=arn:aws:s3:::bucket`: arn:aws:s3:::bucket is neither a 12-digit account id nor an IAM role ARN",
            ),
            (
                "mit=111111111111,MIT=222222222222",
                "account `MIT` is named twice",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                text.parse::<Accounts>().unwrap_err().to_string(),
                expected,
                "{text}"
            );
        }
    }
}
