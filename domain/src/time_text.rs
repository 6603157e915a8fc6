//! Dates and durations as people read them in chat: "June 1, 2027", "expires in 18 months".

use time::{Duration, OffsetDateTime};

/// `June 1, 2027`.
pub fn date(at: OffsetDateTime) -> String {
    format!("{} {}, {}", at.month(), at.day(), at.year())
}

/// `June 1, 2027 14:05 UTC`.
pub fn date_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", date(at), at.hour(), at.minute())
}

/// How long until `at`, rounded in the largest unit that fits: `18 months`, `7 days`,
/// `5 hours`. Months are 30 days, which is how people count an invitation's "18 months" (540
/// days); rounding keeps a 540-day invitation at 18 months a minute after it was made.
pub fn until(now: OffsetDateTime, at: OffsetDateTime) -> String {
    let left = at - now;
    if left <= Duration::ZERO {
        return "now".to_owned();
    }
    let hours = left.whole_hours();
    let rounded = |per: i64| (hours + per / 2) / per;
    let (count, unit) = if hours >= 60 * 24 {
        (rounded(30 * 24), "month")
    } else if hours >= 24 {
        (rounded(24), "day")
    } else if hours >= 1 {
        (hours, "hour")
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
            (Duration::days(540) - Duration::minutes(1), "18 months"),
            (Duration::days(7) - Duration::hours(1), "7 days"),
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
