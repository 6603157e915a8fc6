//! A person's own SSH public key, as they paste it (`/cws profiles ssh-key add "ssh-ed25519 …"`):
//! checked here so that only a key of a sound algorithm and size, whose blob says what its
//! first word says, ever reaches an `authorized_keys` file. Their comment is dropped: the line
//! the workspaces get is `TYPE BLOB USER@cws`, nothing of it typed free-form.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use serde::{Deserialize, Serialize};

/// Algorithms accepted, as OpenSSH names them (security keys' `sk-` forms included).
const ALGORITHMS: &[&str] = &[
    "ssh-ed25519",
    "sk-ssh-ed25519@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-rsa",
];

/// The smallest RSA modulus accepted (NIST SP 800-57: 2,048 bits until 2030).
pub const MIN_RSA_BITS: usize = 2048;

/// A validated public key: its algorithm and its base64 blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicSshKey {
    algorithm: String,
    blob: String,
}

impl PublicSshKey {
    /// The `authorized_keys` line for `username`.
    pub fn authorized_line(&self, username: &str) -> String {
        format!("{} {} {username}@cws", self.algorithm, self.blob)
    }

    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }
}

/// Why a pasted key is refused; each says what to paste instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSshKey {
    #[error(
        "that is a private key: never paste it anywhere. Paste the public half, the one line of \
         the .pub file (e.g. `cat ~/.ssh/id_ed25519.pub`), and make a new key pair, since this \
         one has left your machine"
    )]
    Private,
    #[error("expected one OpenSSH public key line, `ssh-ed25519 AAAA… comment`")]
    Shape,
    #[error(
        "`{0}` keys are not accepted: use ssh-ed25519 (`ssh-keygen -t ed25519`), ECDSA or RSA \
         of at least 2048 bits"
    )]
    Algorithm(String),
    #[error("the key's data is not valid base64 or does not match its type `{0}`")]
    Blob(String),
    #[error(
        "this RSA key has {0} bits; at least 2048 are needed (`ssh-keygen -t ed25519` makes a \
         better one)"
    )]
    WeakRsa(usize),
}

impl FromStr for PublicSshKey {
    type Err = BadSshKey;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.contains("PRIVATE KEY") {
            return Err(BadSshKey::Private);
        }
        if text.chars().any(char::is_control) {
            return Err(BadSshKey::Shape);
        }
        let mut words = text.split_whitespace();
        let (Some(algorithm), Some(blob)) = (words.next(), words.next()) else {
            return Err(BadSshKey::Shape);
        };
        if !ALGORITHMS.contains(&algorithm) {
            return Err(BadSshKey::Algorithm(algorithm.to_owned()));
        }
        let bad_blob = || BadSshKey::Blob(algorithm.to_owned());
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(blob)
            .map_err(|_| bad_blob())?;
        let mut fields = Fields(&bytes);
        if fields.next().ok_or_else(bad_blob)? != algorithm.as_bytes() {
            return Err(bad_blob());
        }
        if algorithm == "ssh-rsa" {
            let _exponent = fields.next().ok_or_else(bad_blob)?;
            let modulus = fields.next().ok_or_else(bad_blob)?;
            let bits = mpint_bits(modulus);
            if bits < MIN_RSA_BITS {
                return Err(BadSshKey::WeakRsa(bits));
            }
        } else {
            // Every other algorithm has at least its public point or key after the name.
            fields.next().ok_or_else(bad_blob)?;
        }
        Ok(PublicSshKey {
            algorithm: algorithm.to_owned(),
            blob: blob.to_owned(),
        })
    }
}

impl fmt::Display for PublicSshKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.blob)
    }
}

impl TryFrom<String> for PublicSshKey {
    type Error = BadSshKey;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<PublicSshKey> for String {
    fn from(key: PublicSshKey) -> String {
        key.to_string()
    }
}

/// The script that makes `user`'s current key the one in `authorized_keys` on a running
/// workspace, removing every key it replaced; `None` if the name or a key is not one the
/// system made or checked (nothing unchecked reaches a root shell).
pub fn replace_key_script(user: &crate::profile::ResearchUser) -> Option<String> {
    let is_key_data = |data: &str| {
        !data.is_empty()
            && data
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    };
    let line = user.ssh_public_key.trim();
    let valid_line = !line.chars().any(char::is_control)
        && crate::profile::ResearchUser::key_data(line).is_some_and(is_key_data);
    if !crate::user_data::is_username(&user.username)
        || !valid_line
        || !user.retired_keys.iter().all(|data| is_key_data(data))
    {
        return None;
    }
    Some(crate::shell::render(
        crate::shell::Script::ReplaceSshKey,
        &serde_json::json!({
            "user": user.username,
            "new_key": line,
            "retired_keys": user.retired_keys,
        }),
    ))
}

/// The length-prefixed strings of an SSH wire-format blob (RFC 4251 §5).
struct Fields<'a>(&'a [u8]);

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (length, rest) = self.0.split_first_chunk::<4>()?;
        let length = u32::from_be_bytes(*length) as usize;
        if rest.len() < length {
            return None;
        }
        let (field, rest) = rest.split_at(length);
        self.0 = rest;
        Some(field)
    }
}

/// The bit length of an unsigned mpint (a leading zero byte only marks it positive).
fn mpint_bits(mpint: &[u8]) -> usize {
    let digits: &[u8] = match mpint.iter().position(|b| *b != 0) {
        Some(first) => &mpint[first..],
        None => return 0,
    };
    digits.len() * 8 - digits[0].leading_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real ed25519 public key (`ssh-keygen -t ed25519`).
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDDNtVzmIbd+bszyw/O1Z2rtpr37rQOiQSdgnOth5JOk sarah@laptop";

    fn rsa_key(bits: usize) -> String {
        let mut blob = Vec::new();
        let mut field = |bytes: &[u8]| {
            blob.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            blob.extend_from_slice(bytes);
        };
        field(b"ssh-rsa");
        field(&[1, 0, 1]);
        let mut modulus = vec![0u8];
        modulus.push(0x80);
        modulus.extend(std::iter::repeat_n(0xab, bits / 8 - 1));
        field(&modulus);
        format!(
            "ssh-rsa {} old@box",
            base64::engine::general_purpose::STANDARD.encode(blob)
        )
    }

    #[test]
    fn an_ed25519_key_becomes_our_line_without_the_persons_comment() {
        let key: PublicSshKey = ED25519.parse().unwrap();
        assert_eq!(key.algorithm(), "ssh-ed25519");
        assert_eq!(
            key.authorized_line("sarah_lee"),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDDNtVzmIbd+bszyw/O1Z2rtpr37rQOiQSdgnOth5JOk sarah_lee@cws"
        );
    }

    #[test]
    fn rsa_keys_need_2048_bits() {
        assert!(rsa_key(2048).parse::<PublicSshKey>().is_ok());
        assert!(rsa_key(4096).parse::<PublicSshKey>().is_ok());
        assert_eq!(
            rsa_key(1024).parse::<PublicSshKey>(),
            Err(BadSshKey::WeakRsa(1024))
        );
    }

    #[test]
    fn what_is_not_a_sound_public_key_is_refused_with_what_to_paste() {
        for (pasted, refusal) in [
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
                BadSshKey::Private,
            ),
            ("", BadSshKey::Shape),
            ("ssh-ed25519", BadSshKey::Shape),
            (
                "ssh-ed25519 AAAA\nssh-ed25519 BBBB mallory",
                BadSshKey::Shape,
            ),
            (
                "ssh-dss AAAAB3NzaC1kc3MAAACBAP",
                BadSshKey::Algorithm("ssh-dss".into()),
            ),
            (
                "ssh-ed25519 not*base64",
                BadSshKey::Blob("ssh-ed25519".into()),
            ),
            // An RSA blob under the ed25519 name.
            (
                &rsa_key(2048).replacen("ssh-rsa", "ssh-ed25519", 1),
                BadSshKey::Blob("ssh-ed25519".into()),
            ),
            // The type's name and no key after it.
            (
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",
                BadSshKey::Blob("ssh-ed25519".into()),
            ),
        ] {
            assert_eq!(pasted.parse::<PublicSshKey>(), Err(refusal), "{pasted:?}");
        }
    }

    #[test]
    fn a_stored_key_reads_back_the_same() {
        let key: PublicSshKey = ED25519.parse().unwrap();
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(serde_json::from_str::<PublicSshKey>(&json).unwrap(), key);
    }
}
