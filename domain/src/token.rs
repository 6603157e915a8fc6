//! Signed values the system hands out and later takes back: invitation tokens and button values.
//!
//! Both are HMAC-SHA256 under the deployment's token key, each with its own context string so
//! a button value can never pass as an invitation token. A value is accepted only if it is
//! byte for byte the canonical encoding of what was signed, so editing any byte (including
//! base64 padding bits or letter case) makes it invalid.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const INVITATION_PREFIX: &str = "inv-";
const INVITATION_CONTEXT: &[u8] = b"cws invitation token v1\0";
const BUTTON_CONTEXT: &[u8] = b"cws button value v1\0";

/// The secret that signs tokens. At least 32 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenKey(Vec<u8>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a token key needs at least 32 bytes, got {0}")]
pub struct ShortTokenKey(pub usize);

impl TokenKey {
    pub fn new(bytes: Vec<u8>) -> Result<TokenKey, ShortTokenKey> {
        if bytes.len() < 32 {
            return Err(ShortTokenKey(bytes.len()));
        }
        Ok(TokenKey(bytes))
    }

    fn mac(&self, context: &[u8], payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(context);
        mac.update(payload);
        mac
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

/// An invitation's id: 128 random bits, shown as 32 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InvitationId([u8; 16]);

impl InvitationId {
    /// From 16 bytes the caller chose: random, or a digest of the job that creates it.
    pub fn from_bytes(bytes: [u8; 16]) -> InvitationId {
        InvitationId(bytes)
    }
}

impl fmt::Display for InvitationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an invitation id")]
pub struct InvalidInvitationId(pub String);

impl TryFrom<String> for InvitationId {
    type Error = InvalidInvitationId;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let bytes = hex::decode(&text).map_err(|_| InvalidInvitationId(text.clone()))?;
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| InvalidInvitationId(text.clone()))?;
        let id = InvitationId(bytes);
        // Only the lowercase spelling is an id, so one id has one key in the store.
        if id.to_string() != text {
            return Err(InvalidInvitationId(text));
        }
        Ok(id)
    }
}

impl From<InvitationId> for String {
    fn from(id: InvitationId) -> String {
        id.to_string()
    }
}

/// Why a token or signed value was not accepted. Deliberately says nothing about which part
/// was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("this is not an invitation token (they start with `inv-`)")]
    Malformed,
    #[error("this token was not issued by this deployment, or it was changed")]
    BadSignature,
}

/// `inv-<id>.<mac>`, both parts unpadded base64url.
pub fn invitation_token(key: &TokenKey, id: InvitationId) -> String {
    let mac = key.mac(INVITATION_CONTEXT, &id.0).finalize().into_bytes();
    format!(
        "{INVITATION_PREFIX}{}.{}",
        URL_SAFE_NO_PAD.encode(id.0),
        URL_SAFE_NO_PAD.encode(mac)
    )
}

/// The invitation id a token carries, if this deployment signed exactly this token.
pub fn verify_invitation_token(key: &TokenKey, token: &str) -> Result<InvitationId, TokenError> {
    let token = token.trim();
    let body = token
        .strip_prefix(INVITATION_PREFIX)
        .ok_or(TokenError::Malformed)?;
    let (id, _) = body.split_once('.').ok_or(TokenError::Malformed)?;
    let id: [u8; 16] = URL_SAFE_NO_PAD
        .decode(id)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(TokenError::BadSignature)?;
    let id = InvitationId(id);
    let expected = invitation_token(key, id);
    if constant_time_eq(expected.as_bytes(), token.as_bytes()) {
        Ok(id)
    } else {
        Err(TokenError::BadSignature)
    }
}

/// How much of a button's HMAC-SHA256 it carries: 128 bits (22 characters), as HMAC allows
/// (RFC 2104: at least half the hash), so that a button id fits Discord's 100 characters with
/// a 63-character workspace name in it.
const BUTTON_MAC_BYTES: usize = 16;

/// A button value: `<value>.<mac>`. The last `.` separates the signature, so the value may
/// contain dots.
pub fn sign_button_value(key: &TokenKey, value: &str) -> String {
    let mac = button_mac(key, value);
    format!(
        "{value}.{}",
        URL_SAFE_NO_PAD.encode(&mac[..BUTTON_MAC_BYTES])
    )
}

/// The value inside a signed button value, if this deployment signed exactly it. A button
/// posted before the signatures were cut to [`BUTTON_MAC_BYTES`] carries the whole HMAC and
/// is still taken.
pub fn verify_button_value<'a>(key: &TokenKey, signed: &'a str) -> Result<&'a str, TokenError> {
    let (value, mac) = signed.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let expected = button_mac(key, value);
    let short = URL_SAFE_NO_PAD.encode(&expected[..BUTTON_MAC_BYTES]);
    let whole = URL_SAFE_NO_PAD.encode(expected);
    if constant_time_eq(short.as_bytes(), mac.as_bytes())
        || constant_time_eq(whole.as_bytes(), mac.as_bytes())
    {
        Ok(value)
    } else {
        Err(TokenError::BadSignature)
    }
}

fn button_mac(key: &TokenKey, value: &str) -> Vec<u8> {
    key.mac(BUTTON_CONTEXT, value.as_bytes())
        .finalize()
        .into_bytes()
        .to_vec()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key() -> TokenKey {
        TokenKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap()
    }

    fn id() -> InvitationId {
        InvitationId::from_bytes([7; 16])
    }

    #[test]
    fn a_token_carries_its_id_back() {
        let token = invitation_token(&key(), id());
        assert!(token.starts_with("inv-"), "{token}");
        assert_eq!(verify_invitation_token(&key(), &token), Ok(id()));
        assert_eq!(
            verify_invitation_token(&key(), &format!("  {token}\n")),
            Ok(id())
        );
    }

    #[test]
    fn another_key_rejects_the_token() {
        let token = invitation_token(&key(), id());
        let other = TokenKey::new(vec![1; 32]).unwrap();
        assert_eq!(
            verify_invitation_token(&other, &token),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(TokenKey::new(vec![0; 31]), Err(ShortTokenKey(31)));
    }

    #[test]
    fn garbage_is_malformed() {
        assert_eq!(
            verify_invitation_token(&key(), "hello"),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            verify_invitation_token(&key(), "inv-nodot"),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn button_values_are_not_tokens() {
        let signed = sign_button_value(&key(), &id().to_string());
        assert_eq!(
            verify_button_value(&key(), &signed),
            Ok(id().to_string().as_str())
        );
        let token = invitation_token(&key(), id());
        assert!(verify_button_value(&key(), &token).is_err());
    }

    #[test]
    fn a_button_carries_half_the_mac_and_one_posted_with_the_whole_still_verifies() {
        let signed = sign_button_value(&key(), "terminate:mit-dev");
        let (_, mac) = signed.rsplit_once('.').unwrap();
        assert_eq!(mac.len(), 22);
        let whole = format!(
            "terminate:mit-dev.{}",
            URL_SAFE_NO_PAD.encode(button_mac(&key(), "terminate:mit-dev"))
        );
        assert_eq!(verify_button_value(&key(), &whole), Ok("terminate:mit-dev"));
        let other = TokenKey::new(vec![1; 32]).unwrap();
        assert!(verify_button_value(&other, &signed).is_err());
        let cut = &whole[..whole.len() - 1];
        assert!(verify_button_value(&key(), cut).is_err());
    }

    #[test]
    fn ids_have_one_spelling() {
        let id = InvitationId::from_bytes([0xab; 16]);
        let text = id.to_string();
        assert_eq!(InvitationId::try_from(text.clone()), Ok(id));
        assert!(InvitationId::try_from(text.to_uppercase()).is_err());
    }

    proptest! {
        /// Any edited byte makes the token invalid: every position, every replacement.
        #[test]
        fn any_edited_byte_invalidates_the_token(position in 0usize..100, replacement in 0u8..128) {
            let token = invitation_token(&key(), id());
            let position = position % token.len();
            let mut bytes = token.clone().into_bytes();
            prop_assume!(bytes[position] != replacement);
            bytes[position] = replacement;
            let edited = String::from_utf8_lossy(&bytes).into_owned();
            prop_assume!(edited.trim() != token);
            prop_assert!(verify_invitation_token(&key(), &edited).is_err());
        }

        #[test]
        fn any_edited_byte_invalidates_a_button_value(position in 0usize..200, replacement in 0u8..128) {
            let signed = sign_button_value(&key(), "exc-0123456789abcdef");
            let position = position % signed.len();
            let mut bytes = signed.clone().into_bytes();
            prop_assume!(bytes[position] != replacement);
            bytes[position] = replacement;
            let edited = String::from_utf8_lossy(&bytes).into_owned();
            prop_assert!(verify_button_value(&key(), &edited).is_err());
        }
    }
}
