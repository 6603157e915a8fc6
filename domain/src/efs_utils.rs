//! How amazon-efs-utils reaches a template's machines. It provides the `efs` mount type, the
//! only one with TLS in transit, IAM authorization and access points, which every volume mount
//! needs. Amazon Linux's repositories carry it; Ubuntu's archive does not, so there it is built
//! at first boot from AWS's source, pinned to a release tag and to that tag's commit id: git
//! names a commit by the hash of its content, so a moved tag or a tampered mirror is refused
//! rather than built and run as root.
//!
//! The same install step runs in the launch user data and, for a machine whose first boot did
//! not finish it, in the volume mount script (`templates/install-efs-utils.sh.hbs`).

use serde::{Deserialize, Serialize};

/// A template's way to install amazon-efs-utils, as its `efs_utils` field writes it, e.g.
/// `{ source: build, tag: v1.36.0, commit: c87d19f… }` or `{ source: os-repositories }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case", deny_unknown_fields)]
pub enum EfsUtils {
    /// `dnf` (or `yum`) `install amazon-efs-utils`, from the OS's own repositories. Braced, not
    /// a unit variant: serde ignores unknown fields beside the tag of a unit variant.
    OsRepositories {},
    /// Cloned from github.com/aws/efs-utils at `tag`, refused unless the checkout is `commit`,
    /// packaged with its `build-deb.sh` and installed with apt, which brings its dependencies
    /// (`stunnel4`, `nfs-common`, `python3`).
    Build { tag: GitTag, commit: CommitId },
}

/// v1.36.0 is the last release whose `build-deb.sh` needs only git and binutils: from v2.0.0
/// on, the package includes efs-proxy, built with cargo (later releases also need Go and
/// CMake), a toolchain a workstation should not have to install at first boot. v1 makes its
/// TLS tunnel with `stunnel4`, from Ubuntu's archive.
const PINNED_TAG: &str = "v1.36.0";
const PINNED_COMMIT: &str = "c87d19f3e1db26532f09a7fed338347aacb90e10";

impl EfsUtils {
    /// The way for a template that does not name one, by its `os`; `None` for an OS this
    /// module knows no way for (the catalog refuses such a template).
    pub fn default_for(os: &str) -> Option<EfsUtils> {
        if os.starts_with("ubuntu-") || os.starts_with("debian-") {
            Some(EfsUtils::Build {
                tag: GitTag(PINNED_TAG.to_owned()),
                commit: CommitId(PINNED_COMMIT.to_owned()),
            })
        } else if os.starts_with("amazon-linux-") {
            Some(EfsUtils::OsRepositories {})
        } else {
            None
        }
    }
}

/// A git tag name: `^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`, so it reaches the shell as one plain
/// word and git cannot read it as an option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GitTag(String);

/// A full commit id: 40 lowercase hex digits, as `git rev-parse HEAD` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommitId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPin {
    #[error("`{0}` is not a git tag name (letters, digits, `.`, `_`, `-`; up to 100)")]
    Tag(String),
    #[error("`{0}` is not a full commit id (40 lowercase hex digits)")]
    Commit(String),
}

impl TryFrom<String> for GitTag {
    type Error = InvalidPin;

    fn try_from(tag: String) -> Result<Self, Self::Error> {
        let mut chars = tag.chars();
        let valid = tag.len() <= 100
            && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if valid {
            Ok(GitTag(tag))
        } else {
            Err(InvalidPin::Tag(tag))
        }
    }
}

impl TryFrom<String> for CommitId {
    type Error = InvalidPin;

    fn try_from(commit: String) -> Result<Self, Self::Error> {
        let valid = commit.len() == 40
            && commit
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, 'a'..='f'));
        if valid {
            Ok(CommitId(commit))
        } else {
            Err(InvalidPin::Commit(commit))
        }
    }
}

impl From<GitTag> for String {
    fn from(tag: GitTag) -> String {
        tag.0
    }
}

impl From<CommitId> for String {
    fn from(commit: CommitId) -> String {
        commit.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<EfsUtils, serde_yaml::Error> {
        serde_yaml::from_str(yaml)
    }

    #[test]
    fn ubuntu_builds_the_pinned_release_and_amazon_linux_uses_its_repositories() {
        assert_eq!(
            EfsUtils::default_for("ubuntu-22.04"),
            Some(EfsUtils::Build {
                tag: GitTag("v1.36.0".to_owned()),
                commit: CommitId("c87d19f3e1db26532f09a7fed338347aacb90e10".to_owned()),
            })
        );
        assert_eq!(
            EfsUtils::default_for("amazon-linux-2023"),
            Some(EfsUtils::OsRepositories {})
        );
        assert_eq!(EfsUtils::default_for("windows-2022"), None);
    }

    #[test]
    fn a_template_writes_its_way_and_nothing_else() {
        assert_eq!(
            parse("{ source: os-repositories }").unwrap(),
            EfsUtils::OsRepositories {}
        );
        let build = parse(
            "{ source: build, tag: v1.35.2, commit: 0123456789abcdef0123456789abcdef01234567 }",
        )
        .unwrap();
        assert!(matches!(build, EfsUtils::Build { ref tag, .. } if tag.0 == "v1.35.2"));
        for refused in [
            "{ source: build, tag: v1.35.2 }",
            "{ source: build, tag: v1.35.2, commit: 0123456789abcdef0123456789abcdef01234567, url: x }",
            "{ source: os-repositories, tag: v1 }",
            "{ source: pip }",
        ] {
            assert!(parse(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_pin_that_is_not_a_plain_tag_and_a_full_commit_id_is_refused() {
        for tag in ["--upload-pack=x", "v1 2", "v1;reboot", "", "ü"] {
            assert!(GitTag::try_from(tag.to_owned()).is_err(), "{tag}");
        }
        for commit in [
            "c87d19f",
            "C87D19F3E1DB26532F09A7FED338347AACB90E10",
            "c87d19f3e1db26532f09a7fed338347aacb90e1g",
        ] {
            assert!(CommitId::try_from(commit.to_owned()).is_err(), "{commit}");
        }
    }
}
