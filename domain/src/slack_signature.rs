//! Slack's request signing, version 0: `v0=` + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)).
//! Requests older (or newer) than five minutes are refused so a captured request cannot be replayed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from now, in seconds.
pub const MAX_AGE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRejection {
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("the timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("the request is {age_secs} s from now, outside the {MAX_AGE_SECS} s window")]
    Stale { age_secs: i64 },
    #[error("the signature does not match")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The `X-Slack-Signature` value Slack would send for this body at this timestamp.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    format!(
        "v0={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Checks the headers of a request against its raw body. The comparison is constant-time.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureRejection> {
    let timestamp = timestamp.ok_or(SignatureRejection::MissingHeader(
        "X-Slack-Request-Timestamp",
    ))?;
    let signature = signature.ok_or(SignatureRejection::MissingHeader("X-Slack-Signature"))?;
    let sent: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureRejection::BadTimestamp)?;
    let age_secs = now_unix.saturating_sub(sent);
    if age_secs.abs() > MAX_AGE_SECS {
        return Err(SignatureRejection::Stale { age_secs });
    }
    let digest = signature
        .strip_prefix("v0=")
        .and_then(|hex_digest| hex::decode(hex_digest).ok())
        .ok_or(SignatureRejection::Mismatch)?;
    mac(secret, timestamp, body)
        .verify_slice(&digest)
        .map_err(|_| SignatureRejection::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    // The worked example from Slack's "Verifying requests from Slack" documentation.
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const TIMESTAMP: &str = "1531420618";

    #[test]
    fn matches_slacks_documented_example() {
        assert_eq!(
            sign(SECRET, TIMESTAMP, BODY),
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }

    #[test]
    fn accepts_a_fresh_correct_signature() {
        let signature = sign(SECRET, TIMESTAMP, BODY);
        assert_eq!(
            verify(
                SECRET,
                Some(TIMESTAMP),
                Some(&signature),
                BODY,
                1_531_420_618 + 299
            ),
            Ok(())
        );
    }

    #[test]
    fn refuses_a_replay_six_minutes_later() {
        let signature = sign(SECRET, TIMESTAMP, BODY);
        let verdict = verify(
            SECRET,
            Some(TIMESTAMP),
            Some(&signature),
            BODY,
            1_531_420_618 + 360,
        );
        assert_eq!(verdict, Err(SignatureRejection::Stale { age_secs: 360 }));
    }

    #[test]
    fn refuses_a_tampered_body_or_a_wrong_secret() {
        let signature = sign(SECRET, TIMESTAMP, BODY);
        let mut tampered = BODY.to_vec();
        tampered[10] ^= 1;
        let now = 1_531_420_618;
        assert_eq!(
            verify(SECRET, Some(TIMESTAMP), Some(&signature), &tampered, now),
            Err(SignatureRejection::Mismatch)
        );
        assert_eq!(
            verify(b"other", Some(TIMESTAMP), Some(&signature), BODY, now),
            Err(SignatureRejection::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some(TIMESTAMP), Some("v0=zz"), BODY, now),
            Err(SignatureRejection::Mismatch)
        );
        assert_eq!(
            verify(SECRET, None, Some(&signature), BODY, now),
            Err(SignatureRejection::MissingHeader(
                "X-Slack-Request-Timestamp"
            ))
        );
        assert_eq!(
            verify(SECRET, Some("soon"), Some(&signature), BODY, now),
            Err(SignatureRejection::BadTimestamp)
        );
    }
}
