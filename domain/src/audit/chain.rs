//! The audit trail as a hash chain. Each link stores its place (`seq`, from 1), the hash of the
//! link before it and its own hash, which covers that previous hash, its place and the event.
//! Editing an event, inserting one or removing one therefore breaks the chain where it
//! happened, and [`verify`] names that place.
//!
//! The event is hashed in a canonical form (its JSON with sorted keys), so any change to any
//! field counts, including fields this version does not know.
//!
//! The chain has no secret: someone who rewrites a link *and every link after it* and the head
//! leaves a consistent chain. The daily archives in S3, which the workers never rewrite, are
//! what such a rewrite is compared with.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AuditEvent;

/// The hash "before" the first link.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored link. `event` is kept as the JSON value it was stored as, so verification sees
/// exactly what is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub seq: u64,
    pub prev: String,
    pub hash: String,
    pub event: serde_json::Value,
}

/// The newest link's place and hash, kept beside the chain: what shows that links were cut off
/// its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

impl Link {
    /// The link that follows `head` (`None`: the chain is empty).
    pub fn after(head: Option<&Head>, event: &AuditEvent) -> Link {
        Link::after_at(head, head.map_or(1, |head| head.seq + 1), event)
    }

    /// The link that points at `head` but takes place `seq`: where a writer goes when the
    /// stored entries were renumbered by hand and `head.seq + 1` is taken. `verify` names the
    /// tampering before it reaches this link.
    pub fn after_at(head: Option<&Head>, seq: u64, event: &AuditEvent) -> Link {
        let prev = head.map_or_else(|| GENESIS.to_owned(), |head| head.hash.clone());
        let event = serde_json::to_value(event).expect("audit events serialize");
        Link {
            hash: hash(&prev, seq, &event),
            seq,
            prev,
            event,
        }
    }

    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }

    /// The event, if the stored JSON is still one.
    pub fn audit_event(&self) -> Option<AuditEvent> {
        serde_json::from_value(self.event.clone()).ok()
    }

    fn intact(&self) -> bool {
        hash(&self.prev, self.seq, &self.event) == self.hash
    }
}

fn hash(prev: &str, seq: u64, event: &serde_json::Value) -> String {
    // serde_json's map is a BTreeMap: keys serialize sorted, which makes the form canonical.
    let mut digest = Sha256::new();
    digest.update(prev.as_bytes());
    digest.update(b"\n");
    digest.update(seq.to_string().as_bytes());
    digest.update(b"\n");
    digest.update(event.to_string().as_bytes());
    hex::encode(digest.finalize())
}

/// Where a chain stopped being the one that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The link's content no longer matches its hash, or (rewritten with a fresh hash) the link
    /// after it no longer points to it.
    Edited { seq: u64 },
    /// A link that was never part of the chain; `position` counts stored entries from 1.
    Inserted { position: usize, claimed_seq: u64 },
    /// Links `first..=last` are missing after link `first - 1`.
    Removed { first: u64, last: u64 },
}

/// What a report says of the chain it was read from: the head it was read up to and whether
/// the chain verified, so a printed report can be checked against the stored trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    pub head: Option<Head>,
    pub verified: Result<u64, Break>,
}

impl Seal {
    /// Verifies `links` up to `head`.
    pub fn of(links: &[Link], head: Option<&Head>) -> Seal {
        Seal {
            head: head.cloned(),
            verified: verify(links, head),
        }
    }

    /// `verified intact, 10,004 events` or where it broke.
    pub fn describe(&self) -> String {
        match &self.verified {
            Ok(events) => format!("verified intact, {events} events"),
            Err(Break::Edited { seq }) => format!("BROKEN: event #{seq} was edited"),
            Err(Break::Inserted { position, .. }) => {
                format!("BROKEN: an event was inserted at position {position}")
            }
            Err(Break::Removed { first, last }) if first == last => {
                format!("BROKEN: event #{first} was removed")
            }
            Err(Break::Removed { first, last }) => {
                format!("BROKEN: events #{first} to #{last} were removed")
            }
        }
    }

    /// `#10004 3f2a…` in full, or that the chain is empty.
    pub fn head_text(&self) -> String {
        self.head.as_ref().map_or_else(
            || "none (no events yet)".to_owned(),
            |head| format!("#{} {}", head.seq, head.hash),
        )
    }
}

/// Walks the chain from the start. `Ok` carries how many links are intact.
pub fn verify(links: &[Link], head: Option<&Head>) -> Result<u64, Break> {
    let mut accepted: Vec<&Link> = Vec::with_capacity(links.len());
    for (index, link) in links.iter().enumerate() {
        if !link.intact() {
            return Err(Break::Edited { seq: link.seq });
        }
        let (last_seq, last_hash) = accepted
            .last()
            .map_or((0, GENESIS), |last| (last.seq, last.hash.as_str()));
        if link.seq == last_seq + 1 && link.prev == last_hash {
            accepted.push(link);
            continue;
        }
        let inserted = Break::Inserted {
            position: index + 1,
            claimed_seq: link.seq,
        };
        // The next stored link follows the last accepted one: this one was slipped in between.
        if let Some(next) = links.get(index + 1)
            && next.seq == last_seq + 1
            && next.prev == last_hash
        {
            return Err(inserted);
        }
        if link.seq > last_seq + 1 {
            return Err(Break::Removed {
                first: last_seq + 1,
                last: link.seq - 1,
            });
        }
        if link.seq == last_seq + 1 {
            // Points at a link that is not the one stored before it: that one was rewritten.
            return Err(Break::Edited { seq: last_seq });
        }
        // A place already taken. If this link follows the one before that place, it is the
        // original and the accepted link at its place was the insertion.
        let before = link.seq.checked_sub(1).and_then(|seq| {
            if seq == 0 {
                Some(GENESIS)
            } else {
                accepted.get(seq as usize - 1).map(|l| l.hash.as_str())
            }
        });
        if before == Some(link.prev.as_str()) {
            let position = links
                .iter()
                .position(|l| std::ptr::eq(l, accepted[link.seq as usize - 1]))
                .map_or(index, |p| p + 1);
            return Err(Break::Inserted {
                position,
                claimed_seq: link.seq,
            });
        }
        return Err(inserted);
    }
    let last_seq = accepted.last().map_or(0, |last| last.seq);
    if let Some(head) = head {
        if head.seq > last_seq {
            return Err(Break::Removed {
                first: last_seq + 1,
                last: head.seq,
            });
        }
        if head.seq == last_seq && accepted.last().is_some_and(|last| last.hash != head.hash) {
            return Err(Break::Edited { seq: last_seq });
        }
    }
    Ok(last_seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditAction;
    use crate::identity::ChatIdentity;
    use time::macros::datetime;

    fn event(n: u64) -> AuditEvent {
        AuditEvent {
            action: AuditAction::Launch,
            who: ChatIdentity::slack("T1", &format!("U{n}")),
            institution: "MIT".to_owned(),
            resource: format!("ws-{n}"),
            outcome: "launched".to_owned(),
            detail: None,
            at: datetime!(2026-01-15 10:00 UTC),
        }
    }

    fn chain(n: u64) -> (Vec<Link>, Head) {
        let mut links: Vec<Link> = Vec::new();
        for i in 1..=n {
            let link = Link::after(links.last().map(Link::head).as_ref(), &event(i));
            links.push(link);
        }
        let head = links.last().unwrap().head();
        (links, head)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let (links, head) = chain(5);
        assert_eq!(verify(&links, Some(&head)), Ok(5));
        assert_eq!(verify(&[], None), Ok(0));
    }

    #[test]
    fn a_seal_says_what_a_printed_report_can_be_checked_against() {
        let (links, head) = chain(5);
        let seal = Seal::of(&links, Some(&head));
        assert_eq!(seal.describe(), "verified intact, 5 events");
        assert_eq!(seal.head_text(), format!("#5 {}", head.hash));
        let mut edited = links.clone();
        edited[2].event["outcome"] = "refused".into();
        assert_eq!(
            Seal::of(&edited, Some(&head)).describe(),
            "BROKEN: event #3 was edited"
        );
        let mut removed = links;
        removed.remove(1);
        assert_eq!(
            Seal::of(&removed, Some(&head)).describe(),
            "BROKEN: event #2 was removed"
        );
        assert_eq!(Seal::of(&[], None).head_text(), "none (no events yet)");
    }

    #[test]
    fn an_edited_event_is_named() {
        let (mut links, head) = chain(5);
        links[2].event["outcome"] = "refused".into();
        assert_eq!(verify(&links, Some(&head)), Err(Break::Edited { seq: 3 }));
    }

    #[test]
    fn an_edit_with_a_fresh_hash_is_named_by_the_link_after_it() {
        let (mut links, head) = chain(5);
        links[2].event["resource"] = "elsewhere".into();
        links[2].hash = hash(&links[2].prev, 3, &links[2].event);
        assert_eq!(verify(&links, Some(&head)), Err(Break::Edited { seq: 3 }));
    }

    #[test]
    fn an_edit_of_the_newest_event_with_a_fresh_hash_is_caught_by_the_head() {
        let (mut links, head) = chain(3);
        links[2].event["resource"] = "elsewhere".into();
        links[2].hash = hash(&links[2].prev, 3, &links[2].event);
        assert_eq!(verify(&links, Some(&head)), Err(Break::Edited { seq: 3 }));
    }

    #[test]
    fn a_removed_event_is_named() {
        let (mut links, head) = chain(5);
        links.remove(1);
        assert_eq!(
            verify(&links, Some(&head)),
            Err(Break::Removed { first: 2, last: 2 })
        );
        let (mut links, head) = chain(5);
        links.truncate(3);
        assert_eq!(
            verify(&links, Some(&head)),
            Err(Break::Removed { first: 4, last: 5 })
        );
    }

    #[test]
    fn an_inserted_event_is_named_however_it_is_numbered() {
        let (links, head) = chain(5);
        let forged = |seq: u64, prev: &str| {
            let event = serde_json::to_value(event(99)).unwrap();
            Link {
                hash: hash(prev, seq, &event),
                seq,
                prev: prev.to_owned(),
                event,
            }
        };
        // Numbered as the next link and pointing at its predecessor, like a real one.
        let mut copy = links.clone();
        copy.insert(2, forged(3, &links[1].hash));
        assert_eq!(
            verify(&copy, Some(&head)),
            Err(Break::Inserted {
                position: 3,
                claimed_seq: 3
            })
        );
        // With made-up numbers.
        let mut copy = links.clone();
        copy.insert(2, forged(42, "feed"));
        assert_eq!(
            verify(&copy, Some(&head)),
            Err(Break::Inserted {
                position: 3,
                claimed_seq: 42
            })
        );
        // At the very start.
        let mut copy = links.clone();
        copy.insert(0, forged(1, GENESIS));
        assert_eq!(
            verify(&copy, Some(&head)),
            Err(Break::Inserted {
                position: 1,
                claimed_seq: 1
            })
        );
    }
}
