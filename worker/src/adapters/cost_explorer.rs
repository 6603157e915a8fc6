//! AWS Cost Explorer as the billing source: GetCostAndUsage for the project's tagged
//! resources, grouped by the `cws:user` and `cws:institution` tags (the attribution tags every
//! launch carries, activated as cost allocation tags).

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_costexplorer::Client;
use aws_sdk_costexplorer::types::{
    DateInterval, Expression, Granularity, GroupDefinition, GroupDefinitionType, MatchOption,
    TagValues,
};
use domain::launch::{TAG_INSTITUTION, TAG_PROJECT, TAG_USER};
use domain::ports::{BilledCost, Billing, PortError};
use domain::pricing::Money;
use time::Date;
use time::format_description::well_known::Iso8601;

use crate::adapters::aws::classify;

/// The cost metric compared with the ledger: on-demand prices before credits and discounts,
/// which is what the ledger's pricing table holds.
const METRIC: &str = "UnblendedCost";

pub struct CostExplorer {
    client: Client,
}

impl CostExplorer {
    pub fn new(config: &SdkConfig) -> CostExplorer {
        CostExplorer {
            client: Client::new(config),
        }
    }
}

fn day(date: Date) -> String {
    date.format(&Iso8601::DATE)
        .expect("calendar dates format as ISO 8601")
}

/// Cost Explorer writes a tag group key as `key$value` (an empty value for untagged cost).
fn tag_value<'a>(key: &'a str, tag: &str) -> Option<&'a str> {
    key.strip_prefix(tag)?.strip_prefix('$')
}

/// Amounts come with up to ten decimals; the ledger counts micro-dollars.
fn amount(text: &str) -> Option<Money> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let micros: String = fraction.chars().take(6).collect();
    format!("{whole}.{micros}").parse().ok()
}

#[async_trait]
impl Billing for CostExplorer {
    async fn cost_by_user(
        &self,
        project: &str,
        from: Date,
        to: Date,
    ) -> Result<Vec<BilledCost>, PortError> {
        let mut costs: Vec<BilledCost> = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let answer = self
                .client
                .get_cost_and_usage()
                .time_period(
                    DateInterval::builder()
                        .start(day(from))
                        .end(day(to))
                        .build()
                        .expect("both ends are set"),
                )
                .granularity(Granularity::Monthly)
                .metrics(METRIC)
                .filter(
                    Expression::builder()
                        .tags(
                            TagValues::builder()
                                .key(TAG_PROJECT)
                                .values(project)
                                .match_options(MatchOption::Equals)
                                .build(),
                        )
                        .build(),
                )
                .group_by(
                    GroupDefinition::builder()
                        .r#type(GroupDefinitionType::Tag)
                        .key(TAG_USER)
                        .build(),
                )
                .group_by(
                    GroupDefinition::builder()
                        .r#type(GroupDefinitionType::Tag)
                        .key(TAG_INSTITUTION)
                        .build(),
                )
                .set_next_page_token(page.take())
                .send()
                .await
                .map_err(classify)?;
            for group in answer.results_by_time().iter().flat_map(|r| r.groups()) {
                let keys = group.keys();
                let find = |tag| keys.iter().find_map(|key| tag_value(key, tag));
                let (Some(user), Some(institution)) = (find(TAG_USER), find(TAG_INSTITUTION))
                else {
                    continue;
                };
                let Some(cost) = group
                    .metrics()
                    .and_then(|metrics| metrics.get(METRIC))
                    .and_then(|metric| metric.amount())
                    .and_then(amount)
                else {
                    continue;
                };
                match costs
                    .iter_mut()
                    .find(|c| c.user == user && c.institution == institution)
                {
                    Some(known) => known.cost = known.cost + cost,
                    None => costs.push(BilledCost {
                        user: user.to_owned(),
                        institution: institution.to_owned(),
                        cost,
                    }),
                }
            }
            match answer.next_page_token() {
                Some(token) if !token.is_empty() => page = Some(token.to_owned()),
                _ => return Ok(costs),
            }
        }
    }
}

/// The embedded mode has no bill to compare with.
pub struct NoBilling;

#[async_trait]
impl Billing for NoBilling {
    async fn cost_by_user(
        &self,
        _project: &str,
        _from: Date,
        _to: Date,
    ) -> Result<Vec<BilledCost>, PortError> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_keys_and_amounts_read_as_cost_explorer_writes_them() {
        assert_eq!(tag_value("cws:user$sarah_lee", TAG_USER), Some("sarah_lee"));
        assert_eq!(tag_value("cws:user$", TAG_USER), Some(""));
        assert_eq!(tag_value("cws:institution$mit", TAG_USER), None);
        assert_eq!(amount("12.3456789012"), "12.345678".parse().ok());
        assert_eq!(amount("7"), "7".parse().ok());
        assert_eq!(amount("-1.5"), None);
    }
}
