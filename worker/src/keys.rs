//! SSH key pairs for research users: the public half goes into the launch user data, the private
//! half to the person, once.

use domain::template_trust::{PublisherName, TemplateSigner};
use ssh_key::rand_core::{OsRng, RngCore};
use ssh_key::{Algorithm, LineEnding, PrivateKey};

/// A new template publisher key named `name`, from the operating system's random source.
pub fn generate_template_signer(name: PublisherName) -> TemplateSigner {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    TemplateSigner::from_seed(name, seed)
}

/// A freshly generated key pair, both halves in OpenSSH text form.
pub struct SshKeyPair {
    /// One `authorized_keys` line: `ssh-ed25519 AAAA… comment`.
    pub public_openssh: String,
    /// `-----BEGIN OPENSSH PRIVATE KEY-----` PEM, unencrypted: it is handed to the person once
    /// and never stored.
    pub private_openssh: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A control character (a newline above all) would split the `authorized_keys` line.
    #[error("key comment contains a control character")]
    Comment,
    #[error("generating the key pair: {0}")]
    Ssh(#[from] ssh_key::Error),
}

/// A new Ed25519 key pair labelled `comment`, from the operating system's random source.
pub fn generate_ssh_key_pair(comment: &str) -> Result<SshKeyPair, KeyError> {
    if comment.chars().any(char::is_control) {
        return Err(KeyError::Comment);
    }
    let mut private = PrivateKey::random(&mut OsRng, Algorithm::Ed25519)?;
    private.set_comment(comment);
    // Moved out of its wiping wrapper rather than copied, so no second copy is left behind.
    let mut pem = private.to_openssh(LineEnding::LF)?;
    Ok(SshKeyPair {
        public_openssh: private.public_key().to_openssh()?,
        private_openssh: std::mem::take(&mut *pem),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use ssh_key::PublicKey;

    use super::*;

    #[test]
    fn the_public_key_is_one_ed25519_line_ending_with_the_comment() {
        let pair = generate_ssh_key_pair("sarah_lee@cws").unwrap();
        assert!(pair.public_openssh.starts_with("ssh-ed25519 "));
        assert!(pair.public_openssh.ends_with(" sarah_lee@cws"));
        assert!(!pair.public_openssh.contains('\n'));
    }

    #[test]
    fn the_private_key_parses_back_to_the_same_public_key() {
        let pair = generate_ssh_key_pair("sarah_lee@cws").unwrap();
        assert!(
            pair.private_openssh
                .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n")
        );
        let private = PrivateKey::from_openssh(pair.private_openssh.as_bytes()).unwrap();
        let public = PublicKey::from_openssh(&pair.public_openssh).unwrap();
        assert_eq!(private.public_key(), &public);
        assert_eq!(private.comment(), "sarah_lee@cws");
    }

    #[test]
    fn every_call_makes_a_new_key() {
        let first = generate_ssh_key_pair("a").unwrap();
        let second = generate_ssh_key_pair("a").unwrap();
        assert_ne!(first.public_openssh, second.public_openssh);
        assert_ne!(first.private_openssh, second.private_openssh);
    }

    #[test]
    fn a_comment_that_would_split_the_line_is_refused() {
        assert!(matches!(
            generate_ssh_key_pair("a\nssh-ed25519 AAAA mallory"),
            Err(KeyError::Comment)
        ));
    }

    /// Skips where OpenSSH is not installed: the parse-back test already covers the format.
    #[test]
    fn ssh_keygen_accepts_the_public_key() {
        if !Path::new("/usr/bin/ssh-keygen").exists() {
            eprintln!("skipped: /usr/bin/ssh-keygen not installed");
            return;
        }
        let pair = generate_ssh_key_pair("sarah_lee@cws").unwrap();
        let path = std::env::temp_dir().join(format!(
            "cws-keys-test-{}-{:?}.pub",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, format!("{}\n", pair.public_openssh)).unwrap();
        let output = Command::new("/usr/bin/ssh-keygen")
            .arg("-l")
            .arg("-f")
            .arg(&path)
            .output()
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{output:?}");
        assert!(stdout.contains("(ED25519)"), "{stdout}");
    }
}
