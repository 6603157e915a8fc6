//! Who may publish workspace templates, and the Ed25519 signatures that prove a template is
//! theirs and unchanged. A template decides what runs on the lead account's machines (image,
//! packages, open ports, instance types), so a deployment that reads templates from a directory
//! or publishes approved proposals accepts only text a trusted publisher signed.
//!
//! A signature is a small text file beside the template (`NAME.yml.sig`):
//!
//! ```text
//! publisher: stanford-rc
//! signature: <base64 of the 64-byte Ed25519 signature>
//! ```
//!
//! over the template file's exact bytes, prefixed by [`SIGNED_CONTEXT`] so that no signature
//! made for something else verifies as a template's.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};

/// What every template signature signs before the file's bytes.
pub const SIGNED_CONTEXT: &[u8] = b"cws-template-signature-v1\n";

/// A publisher's name as signatures and `templates list` show it: lowercase letters, digits
/// and dashes, 1 to 63 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublisherName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a publisher name: use lowercase letters, digits and dashes, e.g. stanford-rc"
)]
pub struct InvalidPublisherName(pub String);

impl FromStr for PublisherName {
    type Err = InvalidPublisherName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = (1..=63).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-');
        valid
            .then(|| PublisherName(text.to_owned()))
            .ok_or_else(|| InvalidPublisherName(text.to_owned()))
    }
}

impl PublisherName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublisherName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is wrong with `CWS_TEMPLATE_PUBLISHERS` or `CWS_TEMPLATE_SIGNING_KEY`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTrust {
    #[error(transparent)]
    Name(#[from] InvalidPublisherName),
    #[error(
        "`{0}` is not NAME=PUBLIC_KEY: expected e.g. stanford-rc=<base64 of a 32-byte Ed25519 public key> (`cws templates keygen NAME` prints one)"
    )]
    Entry(String),
    #[error("the key of `{0}` is not the base64 of a 32-byte Ed25519 public key")]
    PublicKey(String),
    #[error("`{0}` is named twice")]
    Duplicate(String),
    #[error(
        "expected NAME:SECRET_KEY, the base64 of a 32-byte Ed25519 secret key (`cws templates keygen NAME` prints one; the value is not shown)"
    )]
    SigningKey,
    #[error(
        "its public key is not among CWS_TEMPLATE_PUBLISHERS, so nothing it signs would be trusted: add {0}"
    )]
    SignerNotTrusted(String),
}

/// One publisher the deployment trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    pub name: PublisherName,
    key: VerifyingKey,
}

/// The publishers a deployment trusts (`CWS_TEMPLATE_PUBLISHERS`:
/// `name=BASE64_PUBLIC_KEY,name=…`). Empty: no template from outside the binary is trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publishers(Vec<Publisher>);

impl FromStr for Publishers {
    type Err = InvalidTrust;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut publishers: Vec<Publisher> = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, key) = entry
                .split_once('=')
                .ok_or_else(|| InvalidTrust::Entry(entry.to_owned()))?;
            let name: PublisherName = name.trim().parse()?;
            let key = decode_32(key.trim())
                .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
                .ok_or_else(|| InvalidTrust::PublicKey(name.to_string()))?;
            if publishers.iter().any(|p| p.name == name) {
                return Err(InvalidTrust::Duplicate(name.to_string()));
            }
            publishers.push(Publisher { name, key });
        }
        Ok(Publishers(publishers))
    }
}

impl Publishers {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|p| p.name.as_str()).collect()
    }

    /// The publisher whose signature `signature` (a `.sig` file's text) is over `text`.
    pub fn verify(
        &self,
        text: &str,
        signature: Option<&str>,
    ) -> Result<PublisherName, SignatureProblem> {
        let signature = signature.ok_or(SignatureProblem::Unsigned)?;
        let signature: TemplateSignature = signature.parse()?;
        let publisher = self
            .0
            .iter()
            .find(|p| p.name == signature.publisher)
            .ok_or_else(|| SignatureProblem::UnknownPublisher(signature.publisher.to_string()))?;
        publisher
            .key
            .verify(&signed_message(text), &signature.signature)
            .map_err(|_| SignatureProblem::Tampered(publisher.name.to_string()))?;
        Ok(publisher.name.clone())
    }

    fn trusts(&self, name: &PublisherName, key: &VerifyingKey) -> bool {
        self.0.iter().any(|p| &p.name == name && &p.key == key)
    }
}

/// Why a template's signature does not make it trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    #[error("unsigned: no signature file beside it (sign it with `cws templates sign`)")]
    Unsigned,
    #[error("its signature file is not `publisher: NAME` and `signature: BASE64`: {0}")]
    Malformed(String),
    #[error("signed by `{0}`, which is not in CWS_TEMPLATE_PUBLISHERS")]
    UnknownPublisher(String),
    #[error("its signature by `{0}` does not match its text: it was changed after signing")]
    Tampered(String),
}

/// A parsed `.sig` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSignature {
    pub publisher: PublisherName,
    signature: ed25519_dalek::Signature,
}

impl FromStr for TemplateSignature {
    type Err = SignatureProblem;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut publisher = None;
        let mut signature = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once(':') {
                Some(("publisher", name)) => publisher = Some(name.trim()),
                Some(("signature", value)) => signature = Some(value.trim()),
                _ => {
                    return Err(SignatureProblem::Malformed(format!(
                        "unexpected line `{line}`"
                    )));
                }
            }
        }
        let publisher = publisher
            .ok_or_else(|| SignatureProblem::Malformed("no `publisher:` line".to_owned()))?
            .parse()
            .map_err(|e: InvalidPublisherName| SignatureProblem::Malformed(e.to_string()))?;
        let bytes: [u8; 64] = signature
            .and_then(|s| STANDARD.decode(s).ok())
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| {
                SignatureProblem::Malformed("`signature:` is not 64 bytes of base64".to_owned())
            })?;
        Ok(TemplateSignature {
            publisher,
            signature: ed25519_dalek::Signature::from_bytes(&bytes),
        })
    }
}

impl fmt::Display for TemplateSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "publisher: {}", self.publisher)?;
        writeln!(
            f,
            "signature: {}",
            STANDARD.encode(self.signature.to_bytes())
        )
    }
}

/// A publisher's secret key (`CWS_TEMPLATE_SIGNING_KEY=name:BASE64_SECRET`): the deployment's
/// own, with which workers sign the proposals its admins approve. Never printed.
#[derive(Clone)]
pub struct TemplateSigner {
    pub name: PublisherName,
    key: SigningKey,
}

impl fmt::Debug for TemplateSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TemplateSigner({}, <secret>)", self.name)
    }
}

impl PartialEq for TemplateSigner {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.key.verifying_key() == other.key.verifying_key()
    }
}

impl Eq for TemplateSigner {}

impl FromStr for TemplateSigner {
    type Err = InvalidTrust;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, secret) = text.split_once(':').ok_or(InvalidTrust::SigningKey)?;
        let name: PublisherName = name.trim().parse()?;
        let seed = decode_32(secret.trim()).ok_or(InvalidTrust::SigningKey)?;
        Ok(TemplateSigner::from_seed(name, seed))
    }
}

impl TemplateSigner {
    /// The signer of a freshly generated 32-byte secret (the caller brings the randomness).
    pub fn from_seed(name: PublisherName, seed: [u8; 32]) -> TemplateSigner {
        TemplateSigner {
            name,
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The `.sig` file's text for `text`.
    pub fn sign(&self, text: &str) -> String {
        TemplateSignature {
            publisher: self.name.clone(),
            signature: self.key.sign(&signed_message(text)),
        }
        .to_string()
    }

    /// Its `CWS_TEMPLATE_PUBLISHERS` entry: `name=BASE64_PUBLIC_KEY`.
    pub fn publisher_entry(&self) -> String {
        format!(
            "{}={}",
            self.name,
            STANDARD.encode(self.key.verifying_key().to_bytes())
        )
    }

    /// Its `CWS_TEMPLATE_SIGNING_KEY` value: `name:BASE64_SECRET`. A secret: for the person
    /// who generates it, once.
    pub fn secret_entry(&self) -> String {
        format!("{}:{}", self.name, STANDARD.encode(self.key.to_bytes()))
    }

    /// Refuses a signer whose signatures `publishers` would not accept.
    pub fn check_trusted(&self, publishers: &Publishers) -> Result<(), InvalidTrust> {
        if publishers.trusts(&self.name, &self.key.verifying_key()) {
            Ok(())
        } else {
            Err(InvalidTrust::SignerNotTrusted(self.publisher_entry()))
        }
    }
}

fn signed_message(text: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNED_CONTEXT.len() + text.len());
    message.extend_from_slice(SIGNED_CONTEXT);
    message.extend_from_slice(text.as_bytes());
    message
}

fn decode_32(text: &str) -> Option<[u8; 32]> {
    STANDARD.decode(text).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str, seed: u8) -> TemplateSigner {
        TemplateSigner::from_seed(name.parse().unwrap(), [seed; 32])
    }

    fn trusting(signers: &[&TemplateSigner]) -> Publishers {
        let entries: Vec<String> = signers.iter().map(|s| s.publisher_entry()).collect();
        entries.join(",").parse().unwrap()
    }

    const TEXT: &str = "name: Stanford Genomics\nslug: stanford-genomics\n";

    #[test]
    fn a_trusted_publishers_signature_names_them() {
        let stanford = signer("stanford-rc", 1);
        let publishers = trusting(&[&signer("mit-ops", 2), &stanford]);
        let signature = stanford.sign(TEXT);
        assert_eq!(
            publishers.verify(TEXT, Some(&signature)).unwrap().as_str(),
            "stanford-rc"
        );
    }

    #[test]
    fn one_changed_byte_unsigned_or_unknown_publishers_are_refused() {
        let stanford = signer("stanford-rc", 1);
        let publishers = trusting(&[&stanford]);
        let signature = stanford.sign(TEXT);
        let changed = TEXT.replacen("Genomics", "Genomicz", 1);
        assert_eq!(
            publishers.verify(&changed, Some(&signature)),
            Err(SignatureProblem::Tampered("stanford-rc".to_owned()))
        );
        assert_eq!(
            publishers.verify(TEXT, None),
            Err(SignatureProblem::Unsigned)
        );
        let stranger = signer("stranger", 9).sign(TEXT);
        assert_eq!(
            publishers.verify(TEXT, Some(&stranger)),
            Err(SignatureProblem::UnknownPublisher("stranger".to_owned()))
        );
        // A trusted name with another key's signature is as good as a forgery.
        let impostor = signer("stanford-rc", 7).sign(TEXT);
        assert_eq!(
            publishers.verify(TEXT, Some(&impostor)),
            Err(SignatureProblem::Tampered("stanford-rc".to_owned()))
        );
        assert!(matches!(
            publishers.verify(TEXT, Some("publisher: stanford-rc\nsignature: abc\n")),
            Err(SignatureProblem::Malformed(_))
        ));
    }

    #[test]
    fn settings_round_trip_and_refuse_what_they_cannot_use() {
        let signer = signer("stanford-rc", 3);
        let parsed: TemplateSigner = signer.secret_entry().parse().unwrap();
        assert_eq!(parsed, signer);
        assert!(!format!("{parsed:?}").contains(&signer.secret_entry()[12..]));
        for bad in ["stanford-rc", "Stanford=AAAA", "stanford-rc=AAAA", "a=,b="] {
            assert!(bad.parse::<Publishers>().is_err(), "{bad}");
        }
        let twice = format!("{},{}", signer.publisher_entry(), signer.publisher_entry());
        assert_eq!(
            twice.parse::<Publishers>(),
            Err(InvalidTrust::Duplicate("stanford-rc".to_owned()))
        );
        assert_eq!(
            "stanford-rc:short".parse::<TemplateSigner>(),
            Err(InvalidTrust::SigningKey)
        );
        assert!(signer.check_trusted(&trusting(&[&signer])).is_ok());
        assert!(matches!(
            signer.check_trusted(&Publishers::default()),
            Err(InvalidTrust::SignerNotTrusted(entry)) if entry == signer.publisher_entry()
        ));
    }
}
