//! A web workspace's password: one per launch, made by the worker from the operating system's
//! generator, kept in the workers' own store and sent only to its owner by direct message.
//!
//! User data is readable by anyone in the account who may call `DescribeInstanceAttribute`, so
//! it carries the password only as each service's own one-way hash: Jupyter's
//! `sha256:salt:digest`, code-server's SHA-256, and a SHA-512 crypt of the research user's Unix
//! password, which RStudio Server signs in with. With 128 random bits behind them the hashes
//! cannot be turned back into the password. Nothing on the instance needs AWS permissions or a
//! CLI to read a parameter at boot, and nothing reaches the channel. code-server also takes its
//! hash as a session cookie: only someone who can open a Session Manager session to the
//! instance could use that, and such a person can open a shell there anyway.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

/// The password and the salt its hashes are made with.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSecret {
    password: String,
    salt: String,
}

/// Never printed: a log line or a debug dump must not carry it.
impl fmt::Debug for ServiceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServiceSecret(…)")
    }
}

impl ServiceSecret {
    /// A secret from random bytes: the first 16 make the password (32 hexadecimal digits,
    /// easy to paste and to type), the last 8 the salt.
    pub fn from_random(bytes: [u8; 24]) -> ServiceSecret {
        ServiceSecret {
            password: hex::encode(&bytes[..16]),
            salt: hex::encode(&bytes[16..]),
        }
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// Jupyter Notebook's `--NotebookApp.password`: `algorithm:salt:hexdigest` of the password
    /// followed by the salt, as its `passwd_check` verifies with any hashlib algorithm.
    pub fn jupyter_hash(&self) -> String {
        let digest = Sha256::digest(format!("{}{}", self.password, self.salt));
        format!("sha256:{}:{}", self.salt, hex::encode(digest))
    }

    /// code-server's `HASHED_PASSWORD`: the SHA-256 of the password, in hexadecimal.
    pub fn code_server_hash(&self) -> String {
        hex::encode(Sha256::digest(&self.password))
    }

    /// The research user's password for `chpasswd -e`: SHA-512 crypt (`$6$`), which PAM
    /// checks when RStudio Server signs them in.
    pub fn unix_crypt(&self) -> String {
        sha512_crypt(self.password.as_bytes(), self.salt.as_bytes())
    }
}

/// glibc's SHA-512 crypt with the default 5,000 rounds, as Ulrich Drepper specified it
/// (<https://www.akkadia.org/drepper/SHA-crypt.txt>); the salt is at most 16 bytes.
fn sha512_crypt(password: &[u8], salt: &[u8]) -> String {
    const ROUNDS: usize = 5_000;
    let salt = &salt[..salt.len().min(16)];

    let alternate = Sha512::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut a = Sha512::new().chain_update(password).chain_update(salt);
    let mut left = password.len();
    while left > 64 {
        a.update(alternate);
        left -= 64;
    }
    a.update(&alternate[..left]);
    let mut length = password.len();
    while length > 0 {
        if length & 1 == 1 {
            a.update(alternate);
        } else {
            a.update(password);
        }
        length >>= 1;
    }
    let mut digest = a.finalize();

    let repeated = |block: &[u8], times: usize, wanted: usize| -> Vec<u8> {
        let mut hash = Sha512::new();
        for _ in 0..times {
            hash.update(block);
        }
        let full = hash.finalize();
        full.iter().cycle().take(wanted).copied().collect()
    };
    let p = repeated(password, password.len(), password.len());
    let s = repeated(salt, 16 + usize::from(digest[0]), salt.len());

    for round in 0..ROUNDS {
        let mut c = Sha512::new();
        if round % 2 == 1 {
            c.update(&p);
        } else {
            c.update(digest);
        }
        if round % 3 != 0 {
            c.update(&s);
        }
        if round % 7 != 0 {
            c.update(&p);
        }
        if round % 2 == 1 {
            c.update(digest);
        } else {
            c.update(&p);
        }
        digest = c.finalize();
    }

    const ORDER: [(usize, usize, usize); 21] = [
        (0, 21, 42),
        (22, 43, 1),
        (44, 2, 23),
        (3, 24, 45),
        (25, 46, 4),
        (47, 5, 26),
        (6, 27, 48),
        (28, 49, 7),
        (50, 8, 29),
        (9, 30, 51),
        (31, 52, 10),
        (53, 11, 32),
        (12, 33, 54),
        (34, 55, 13),
        (56, 14, 35),
        (15, 36, 57),
        (37, 58, 16),
        (59, 17, 38),
        (18, 39, 60),
        (40, 61, 19),
        (62, 20, 41),
    ];
    let mut encoded = String::with_capacity(86);
    for (first, second, third) in ORDER {
        let bits = (u32::from(digest[first]) << 16)
            | (u32::from(digest[second]) << 8)
            | u32::from(digest[third]);
        push_base64(&mut encoded, bits, 4);
    }
    push_base64(&mut encoded, u32::from(digest[63]), 2);
    format!("$6${}${encoded}", String::from_utf8_lossy(salt))
}

/// crypt's own base-64 alphabet, least significant six bits first.
fn push_base64(out: &mut String, mut bits: u32, characters: usize) {
    const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for _ in 0..characters {
        out.push(char::from(ALPHABET[(bits & 0x3f) as usize]));
        bits >>= 6;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> ServiceSecret {
        ServiceSecret::from_random(*b"0123456789abcdefSALTsalt")
    }

    #[test]
    fn sha512_crypt_matches_the_specifications_vectors() {
        // The first is the specification's; the others are what `openssl passwd -6 -salt SALT
        // PASSWORD` prints: a salt cut to 16 bytes, a password longer than one digest.
        let long = "x".repeat(70);
        let cases = [
            (
                "Hello world!",
                "saltstring",
                "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
            ),
            (
                "a very much longer text to encrypt.  This one even stretches over morethan one line.",
                "anotherlongsaltstring",
                "$6$anotherlongsalts$zCB2J77iwc/56nB80mcnR6gCDELuiqcwDzPCm3OZnzRQyxT9pVMJ2vfOf0YI0AvrvfVu.AqASga4nxwhEPO7Z0",
            ),
            (
                long.as_str(),
                "ab",
                "$6$ab$pWR1UD3a0xtawrhzK7aur8QQZL8ZBygJ39zGZlWYnxHrKXcb.5/71jgiq9.sKiypHLphRR4.cdIV8Hw.AJziB/",
            ),
        ];
        for (password, salt, expected) in cases {
            assert_eq!(
                sha512_crypt(password.as_bytes(), salt.as_bytes()),
                expected,
                "{password}"
            );
        }
    }

    #[test]
    fn each_service_gets_its_own_hash_and_none_shows_the_password() {
        let secret = secret();
        assert_eq!(secret.password(), "30313233343536373839616263646566");
        assert_eq!(secret.salt, "53414c5473616c74");
        let jupyter = secret.jupyter_hash();
        let code_server = secret.code_server_hash();
        let unix = secret.unix_crypt();
        // As Python's hashlib and `openssl passwd -6` make them.
        assert_eq!(
            jupyter,
            "sha256:53414c5473616c74:6dc22e7b9d85271e2810096059cdd0529f5cecd46b3fc48ee2ff15d57fbb2d9d"
        );
        assert_eq!(
            code_server,
            "301716ea96a1ff13e7dd9c8da3f88af200c3d2ef9ee325cace47685ca9fe5d0b"
        );
        assert_eq!(
            unix,
            "$6$53414c5473616c74$oxPAmYS5eWZlzbDErV17WSqYwJaLJrHMuu1u/KiGzlhLheT/3t8hT7W22YQIeE23ouZobEzo8B1ZrU9VyQAMj0"
        );
        for hash in [&jupyter, &code_server, &unix] {
            assert!(!hash.contains(secret.password()), "{hash}");
        }
        assert_eq!(format!("{secret:?}"), "ServiceSecret(…)");
    }
}
