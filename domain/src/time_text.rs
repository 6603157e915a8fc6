//! Dates and durations as people read them in chat: "June 1, 2027", "expires in 18 months".

use time::{Duration, OffsetDateTime};

/// `June 1, 2027`.
pub fn date(at: OffsetDateTime) -> String {
    format!("{} {}, {}", at.month(), at.day(), at.year())
}

/// How long until `at`, in the largest whole unit that fits: `18 months`, `7 days`, `5 hours`.
/// Months are 30 days, which is how people count an invitation's "18 months" (540 days).
pub fn until(now: OffsetDateTime, at: OffsetDateTime) -> String {
    let left = at - now;
    if left <= Duration::ZERO {
        return "now".to_owned();
    }
    let days = left.whole_days();
    let (count, unit) = if days >= 60 {
        (days / 30, "month")
    } else if days >= 1 {
        (days, "day")
    } else if left.whole_hours() >= 1 {
        (left.whole_hours(), "hour")
    } else {
        (left.whole_minutes().max(1), "minute")
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn dates_read_like_the_seed() {
        assert_eq!(date(datetime!(2027-06-01 09:00 UTC)), "June 1, 2027");
    }

    #[test]
    fn durations_pick_the_largest_unit() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let cases = [
            (Duration::days(540), "18 months"),
            (Duration::days(59), "59 days"),
            (Duration::days(1), "1 day"),
            (Duration::hours(5), "5 hours"),
            (Duration::seconds(10), "1 minute"),
            (Duration::seconds(-1), "now"),
        ];
        for (left, expected) in cases {
            assert_eq!(until(now, now + left), expected, "{left}");
        }
    }
}
