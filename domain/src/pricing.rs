//! Money and the on-demand pricing table. Money is integer micro-dollars: hourly rates such as
//! $0.0416 are exact, and sums of many ledger entries never drift as floats would.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// An amount of US dollars in millionths of a dollar. Arithmetic saturates at about ±$9.2
/// trillion rather than wrapping or panicking; the grammar bounds every amount and rate typed
/// far below that, so saturation only guards against a corrupted record.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Money(i64);

const MICROS_PER_DOLLAR: i64 = 1_000_000;

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_micros(micros: i64) -> Money {
        Money(micros)
    }

    pub const fn from_cents(cents: i64) -> Money {
        Money(cents.saturating_mul(10_000))
    }

    /// A wide intermediate result (rate × seconds, sums of many events), saturated.
    pub fn from_wide_micros(micros: i128) -> Money {
        Money(i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX }))
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    /// Whole cents, rounded half away from zero: what invoices and chargeback rows show.
    pub fn cents_rounded(self) -> i64 {
        let half = if self.0 >= 0 { 5_000 } else { -5_000 };
        self.0.saturating_add(half) / 10_000
    }

    /// A rate with as many decimals as it needs (at least two): `$0.0832`, `$12.24`.
    pub fn display_rate(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let dollars = abs / MICROS_PER_DOLLAR as u64;
        let mut fraction = format!("{:06}", abs % MICROS_PER_DOLLAR as u64);
        while fraction.len() > 2 && fraction.ends_with('0') {
            fraction.pop();
        }
        format!("{sign}${dollars}.{fraction}")
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(parts: I) -> Money {
        parts.fold(Money::ZERO, |a, b| a + b)
    }
}

/// `$1,240.80`: rounded to cents with thousands separators, the way reports print money.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cents = self.cents_rounded();
        let sign = if cents < 0 { "-" } else { "" };
        let abs = cents.unsigned_abs();
        let dollars = (abs / 100).to_string();
        let mut grouped = String::with_capacity(dollars.len() + dollars.len() / 3);
        for (i, digit) in dollars.chars().enumerate() {
            if i > 0 && (dollars.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        write!(f, "{sign}${grouped}.{:02}", abs % 100)
    }
}

/// Whole cents for each part such that they add up to the rounded sum of the parts: each part
/// gets its cents rounded down, and the cents left over go to the largest remainders (ties to
/// the earlier part). What every table with a total uses, so the rows always add up.
pub fn cents_adding_up(parts: &[Money]) -> Vec<Money> {
    let target = parts.iter().copied().sum::<Money>().cents_rounded();
    let mut cents: Vec<i64> = parts.iter().map(|part| part.0.div_euclid(10_000)).collect();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(parts[i].0.rem_euclid(10_000)));
    let mut left = target.saturating_sub(cents.iter().fold(0, |a: i64, b| a.saturating_add(*b)));
    for &i in order.iter().cycle().take(left.unsigned_abs() as usize) {
        cents[i] += left.signum();
        left -= left.signum();
    }
    cents.into_iter().map(Money::from_cents).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an amount of dollars with at most six decimals")]
pub struct InvalidMoney(pub String);

/// Parses `12.24`, `0.0416`, `5000`, optionally with a leading `$`, exactly.
impl FromStr for Money {
    type Err = InvalidMoney;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidMoney(text.to_owned());
        let trimmed = text.trim().trim_start_matches('$');
        let (whole, fraction) = trimmed.split_once('.').unwrap_or((trimmed, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 6 {
            return Err(invalid());
        }
        let whole: i64 = whole.parse().map_err(|_| invalid())?;
        let fraction_micros: i64 = format!("{fraction:0<6}").parse().map_err(|_| invalid())?;
        whole
            .checked_mul(MICROS_PER_DOLLAR)
            .and_then(|w| w.checked_add(fraction_micros))
            .map(Money)
            .ok_or_else(invalid)
    }
}

impl TryFrom<String> for Money {
    type Error = InvalidMoney;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PricingFile {
    source: String,
    currency: String,
    ebs_gp3_gb_month: BTreeMap<String, String>,
    #[serde(default)]
    ebs_snapshot_gb_month: BTreeMap<String, String>,
    #[serde(default)]
    memory_gib: BTreeMap<String, u32>,
    on_demand_hourly: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("{0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("only USD is supported, found {0}")]
    Currency(String),
    #[error("{region} {item}: {source}")]
    Rate {
        region: String,
        item: String,
        source: InvalidMoney,
    },
}

/// On-demand $/hour per region and instance type, plus EBS volume and snapshot $/GB-month per
/// region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingTable {
    source: String,
    hourly: BTreeMap<String, BTreeMap<String, Money>>,
    ebs_gb_month: BTreeMap<String, Money>,
    snapshot_gb_month: BTreeMap<String, Money>,
    memory_gib: BTreeMap<String, u32>,
}

static BUILTIN: LazyLock<PricingTable> = LazyLock::new(|| {
    PricingTable::from_yaml(include_str!("../../templates/pricing.yml"))
        .expect("templates/pricing.yml is compiled in and checked by the pricing tests")
});

impl PricingTable {
    pub fn builtin() -> &'static PricingTable {
        &BUILTIN
    }

    pub fn from_yaml(text: &str) -> Result<PricingTable, PricingError> {
        let file: PricingFile = serde_yaml::from_str(text)?;
        if file.currency != "USD" {
            return Err(PricingError::Currency(file.currency));
        }
        let rate = |region: &str, item: &str, text: &str| {
            text.parse::<Money>().map_err(|source| PricingError::Rate {
                region: region.to_owned(),
                item: item.to_owned(),
                source,
            })
        };
        let mut hourly = BTreeMap::new();
        for (region, types) in &file.on_demand_hourly {
            let mut rates = BTreeMap::new();
            for (instance_type, text) in types {
                rates.insert(instance_type.clone(), rate(region, instance_type, text)?);
            }
            hourly.insert(region.clone(), rates);
        }
        let mut ebs_gb_month = BTreeMap::new();
        for (region, text) in &file.ebs_gp3_gb_month {
            ebs_gb_month.insert(region.clone(), rate(region, "ebs_gp3_gb_month", text)?);
        }
        let mut snapshot_gb_month = BTreeMap::new();
        for (region, text) in &file.ebs_snapshot_gb_month {
            snapshot_gb_month.insert(region.clone(), rate(region, "ebs_snapshot_gb_month", text)?);
        }
        Ok(PricingTable {
            source: file.source,
            hourly,
            ebs_gb_month,
            snapshot_gb_month,
            memory_gib: file.memory_gib,
        })
    }

    /// The instance type's memory, GiB, if the table lists it.
    pub fn memory_gib(&self, instance_type: &str) -> Option<u32> {
        self.memory_gib.get(instance_type).copied()
    }

    /// Where the figures come from, for reports that must be traceable.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn hourly(&self, region: &str, instance_type: &str) -> Option<Money> {
        self.hourly.get(region)?.get(instance_type).copied()
    }

    pub fn ebs_gb_month(&self, region: &str) -> Option<Money> {
        self.ebs_gb_month.get(region).copied()
    }

    /// EBS snapshot storage (standard tier), $/GB-month.
    pub fn snapshot_gb_month(&self, region: &str) -> Option<Money> {
        self.snapshot_gb_month.get(region).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Catalog;

    #[test]
    fn money_parses_exactly() {
        assert_eq!("0.0416".parse(), Ok(Money::from_micros(41_600)));
        assert_eq!("$12.24".parse(), Ok(Money::from_micros(12_240_000)));
        assert_eq!("5000".parse(), Ok(Money::from_micros(5_000_000_000)));
        for bad in ["", "abc", "1.2345678", "-1", "1.2.3", ".5"] {
            assert!(bad.parse::<Money>().is_err(), "{bad}");
        }
    }

    #[test]
    fn money_displays_like_the_seed_reports() {
        assert_eq!(Money::from_cents(124_080).to_string(), "$1,240.80");
        assert_eq!(Money::from_cents(482_340).to_string(), "$4,823.40");
        assert_eq!(Money::from_cents(55_310_400).to_string(), "$553,104.00");
        assert_eq!(Money::from_micros(41_600).display_rate(), "$0.0416");
        assert_eq!(Money::from_micros(12_240_000).display_rate(), "$12.24");
        assert_eq!(Money::from_micros(500_000).display_rate(), "$0.50");
    }

    #[test]
    fn cents_round_half_away_from_zero() {
        assert_eq!(Money::from_micros(4_999).cents_rounded(), 0);
        assert_eq!(Money::from_micros(5_000).cents_rounded(), 1);
        assert_eq!(Money::from_micros(-5_000).cents_rounded(), -1);
    }

    #[test]
    fn the_seed_gpu_price_is_12_24_an_hour() {
        let rate = PricingTable::builtin().hourly("us-east-1", "p3.8xlarge");
        assert_eq!(rate, Some(Money::from_micros(12_240_000)));
    }

    #[test]
    fn aliased_regions_share_prices() {
        let table = PricingTable::builtin();
        assert_eq!(
            table.hourly("us-west-2", "t3.large"),
            table.hourly("us-east-1", "t3.large")
        );
    }

    #[test]
    fn every_template_size_has_a_price_wherever_the_template_is_offered() {
        let table = PricingTable::builtin();
        for template in Catalog::builtin().templates() {
            for region in template.offered_regions() {
                for size in template.offered_sizes() {
                    let instance_type = template.instance_type(size).unwrap();
                    assert!(
                        table.hourly(region, instance_type).is_some(),
                        "{} {size} ({instance_type}) has no price in {region}",
                        template.name
                    );
                }
            }
        }
    }

    #[test]
    fn rows_of_cents_add_up_to_the_rounded_total() {
        let parts: Vec<Money> = ["5.106666", "3.906666", "1.730666"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        let cents = cents_adding_up(&parts);
        assert_eq!(
            cents,
            [
                Money::from_cents(511),
                Money::from_cents(390),
                Money::from_cents(173)
            ]
        );
        let sum: i64 = cents.iter().map(|c| c.micros()).sum();
        assert_eq!(Money::from_micros(sum), Money::from_cents(1074));
        assert_eq!(cents_adding_up(&[]), Vec::<Money>::new());
        assert_eq!(
            cents_adding_up(&[Money::from_micros(4_999), Money::from_micros(4_999)]),
            [Money::from_cents(1), Money::ZERO]
        );
    }
}
