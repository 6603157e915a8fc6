//! The launch policy engine: given what a launch would start, the restrictions of the caller's
//! invitation and the project's budget position, every rule the launch breaks. Pure: the
//! worker gathers the facts, this decides, and `/cws policy test` asks the same question.

use serde::{Deserialize, Serialize};

use crate::budget::BudgetPosition;
use crate::command::PolicyRestrictions;
use crate::pricing::{Money, PricingTable};
use crate::template::Template;

/// What a launch would start, resolved from the template, size, region and price table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchFacts {
    pub template: String,
    pub instance_type: String,
    pub region: String,
    pub hourly: Money,
}

/// One broken rule, carrying what the message needs to explain it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Violation {
    TemplateNotAllowed {
        template: String,
        allowed: Vec<String>,
    },
    InstanceTypeNotAllowed {
        instance_type: String,
        allowed: Vec<String>,
    },
    HourlyCostAboveCap {
        hourly: Money,
        cap: Money,
    },
    ForbiddenRegion {
        region: String,
        forbidden: Vec<String>,
    },
    /// Running the new workspace until the end of the month would take the project past its
    /// monthly budget.
    ExceedsBudget {
        projected: Money,
        remaining: Money,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyDecision {
    Allowed,
    /// Every broken rule, in the order of the invitation's restrictions, budget last.
    Refused(Vec<Violation>),
}

/// Checks every rule and reports all that are broken, not just the first.
pub fn evaluate(
    launch: &LaunchFacts,
    restrictions: Option<&PolicyRestrictions>,
    budget: &BudgetPosition,
) -> PolicyDecision {
    let mut violations = restrictions.map_or_else(Vec::new, |rules| broken_rules(launch, rules));
    let projected = budget.cost_to_month_end(launch.hourly);
    if projected > budget.remaining() {
        violations.push(Violation::ExceedsBudget {
            projected,
            remaining: budget.remaining(),
        });
    }
    if violations.is_empty() {
        PolicyDecision::Allowed
    } else {
        PolicyDecision::Refused(violations)
    }
}

/// The invitation's rules `launch` breaks, in the order of the restrictions.
fn broken_rules(launch: &LaunchFacts, rules: &PolicyRestrictions) -> Vec<Violation> {
    let mut violations = Vec::new();
    {
        if !rules.template_whitelist.is_empty()
            && !rules
                .template_whitelist
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(&launch.template))
        {
            violations.push(Violation::TemplateNotAllowed {
                template: launch.template.clone(),
                allowed: rules.template_whitelist.clone(),
            });
        }
        if !rules.max_instance_types.is_empty()
            && !instance_type_within(&launch.instance_type, &rules.max_instance_types)
        {
            violations.push(Violation::InstanceTypeNotAllowed {
                instance_type: launch.instance_type.clone(),
                allowed: rules.max_instance_types.clone(),
            });
        }
        if let Some(cap) = rules.max_hourly_cost {
            let cap = cap.to_money();
            if launch.hourly > cap {
                violations.push(Violation::HourlyCostAboveCap {
                    hourly: launch.hourly,
                    cap,
                });
            }
        }
        if rules
            .forbidden_regions
            .iter()
            .any(|region| region == &launch.region)
        {
            violations.push(Violation::ForbiddenRegion {
                region: launch.region.clone(),
                forbidden: rules.forbidden_regions.clone(),
            });
        }
    }
    violations
}

/// What `templates list --profile-filtered` offers: each template the restrictions leave a
/// launch of, with only its regions they do not forbid and its sizes whose instance type and
/// price pass the rules in one of those regions. A template with nothing left is left out.
/// The rules are [`evaluate`]'s; the budget is not, since it changes by the hour and a refused
/// launch says so.
pub fn allowed_templates(
    templates: &[Template],
    restrictions: Option<&PolicyRestrictions>,
    pricing: &PricingTable,
) -> Vec<Template> {
    templates
        .iter()
        .filter_map(|template| {
            let rules = restrictions.cloned().unwrap_or_default();
            let regions: Vec<String> = template
                .regions
                .iter()
                .filter(|region| !rules.forbidden_regions.contains(region))
                .cloned()
                .collect();
            let passes = |instance_type: &str| {
                regions.iter().any(|region| {
                    pricing.hourly(region, instance_type).is_some_and(|hourly| {
                        let launch = LaunchFacts {
                            template: template.name.clone(),
                            instance_type: instance_type.to_owned(),
                            region: region.clone(),
                            hourly,
                        };
                        broken_rules(&launch, &rules).is_empty()
                    })
                })
            };
            let sizes: std::collections::BTreeMap<_, _> = template
                .sizes
                .iter()
                .filter(|(_, instance_type)| passes(instance_type))
                .map(|(size, instance_type)| (*size, instance_type.clone()))
                .collect();
            (!sizes.is_empty()).then(|| Template {
                regions,
                sizes,
                ..template.clone()
            })
        })
        .collect()
}

/// Whether `wanted` is one of the allowed types or a smaller size of the same family:
/// `t3.medium` is within `t3.large`, `t3.xlarge` and `p3.2xlarge` are not.
pub fn instance_type_within(wanted: &str, allowed: &[String]) -> bool {
    // The size is after the last dot: SageMaker's `ml.t3.medium` is of family `ml.t3`, so an
    // EC2 `t3.large` allows no SageMaker instance, nor the reverse.
    let Some((family, size)) = wanted.rsplit_once('.') else {
        return false;
    };
    allowed.iter().any(|max| {
        if max == wanted {
            return true;
        }
        match (max.rsplit_once('.'), size_rank(size)) {
            (Some((max_family, max_size)), Some(rank)) if max_family == family => {
                size_rank(max_size).is_some_and(|max_rank| rank <= max_rank)
            }
            _ => false,
        }
    })
}

/// The order of EC2 size names: nano < micro < small < medium < large < xlarge < 2xlarge < …
/// `metal` and unknown sizes have no rank, so they match only when listed exactly.
fn size_rank(size: &str) -> Option<u32> {
    const NAMED: [&str; 6] = ["nano", "micro", "small", "medium", "large", "xlarge"];
    if let Some(rank) = NAMED.iter().position(|name| *name == size) {
        return Some(rank as u32);
    }
    let multiple: u32 = size.strip_suffix("xlarge")?.parse().ok()?;
    Some(NAMED.len() as u32 - 1 + multiple)
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::command::HourlyRate;

    /// The seed's Berkeley invitation restrictions.
    pub(crate) fn berkeley() -> PolicyRestrictions {
        PolicyRestrictions {
            template_whitelist: vec![
                "R Research Environment".into(),
                "Python Machine Learning".into(),
            ],
            max_instance_types: vec!["t3.large".into(), "r5.xlarge".into()],
            max_hourly_cost: Some(HourlyRate(500_000)),
            forbidden_regions: vec!["us-west-1".into(), "eu-west-1".into()],
        }
    }

    /// Enough for a p3.8xlarge all month ($9,106.56 in March), so only restrictions matter.
    fn plenty() -> BudgetPosition {
        BudgetPosition::new(
            Money::from_cents(5_000_000),
            Money::ZERO,
            datetime!(2026-03-01 00:00 UTC),
        )
    }

    fn facts(template: &str, instance_type: &str, region: &str, hourly: &str) -> LaunchFacts {
        LaunchFacts {
            template: template.into(),
            instance_type: instance_type.into(),
            region: region.into(),
            hourly: hourly.parse().unwrap(),
        }
    }

    #[test]
    fn the_seed_gpu_launch_breaks_three_rules() {
        let gpu = facts("GPU ML Workstation", "p3.8xlarge", "us-east-1", "12.24");
        let PolicyDecision::Refused(violations) = evaluate(&gpu, Some(&berkeley()), &plenty())
        else {
            panic!("allowed")
        };
        assert_eq!(violations.len(), 3, "{violations:#?}");
        assert!(matches!(
            violations[0],
            Violation::TemplateNotAllowed { .. }
        ));
        assert!(matches!(
            violations[1],
            Violation::InstanceTypeNotAllowed { .. }
        ));
        assert_eq!(
            violations[2],
            Violation::HourlyCostAboveCap {
                hourly: Money::from_cents(1224),
                cap: Money::from_cents(50)
            }
        );
    }

    #[test]
    fn each_rule_alone() {
        let rules = berkeley();
        let cases = [
            (
                facts("R Research Environment", "t3.large", "us-east-1", "0.0832"),
                0,
            ),
            (
                facts("Bioinformatics", "t3.large", "us-east-1", "0.0832"),
                1,
            ),
            (
                facts("R Research Environment", "t3.xlarge", "us-east-1", "0.1664"),
                1,
            ),
            (
                facts("R Research Environment", "r5.xlarge", "us-east-1", "0.60"),
                1,
            ),
            (
                facts("R Research Environment", "t3.medium", "eu-west-1", "0.0416"),
                1,
            ),
        ];
        for (launch, broken) in cases {
            let found = match evaluate(&launch, Some(&rules), &plenty()) {
                PolicyDecision::Allowed => 0,
                PolicyDecision::Refused(violations) => violations.len(),
            };
            assert_eq!(found, broken, "{launch:?}");
        }
    }

    #[test]
    fn no_restrictions_leaves_only_the_budget() {
        let gpu = facts("GPU ML Workstation", "p3.8xlarge", "us-east-1", "12.24");
        assert_eq!(evaluate(&gpu, None, &plenty()), PolicyDecision::Allowed);
        let tight = BudgetPosition::new(
            Money::from_cents(100_000),
            Money::from_cents(90_000),
            datetime!(2026-03-31 00:00 UTC),
        );
        let PolicyDecision::Refused(violations) = evaluate(&gpu, None, &tight) else {
            panic!("allowed")
        };
        assert_eq!(
            violations,
            vec![Violation::ExceedsBudget {
                projected: Money::from_cents(29_376),
                remaining: Money::from_cents(10_000)
            }]
        );
    }

    #[test]
    fn on_the_seed_budget_the_gpu_also_breaks_the_budget_rule() {
        let gpu = facts("GPU ML Workstation", "p3.8xlarge", "us-east-1", "12.24");
        let seed = BudgetPosition::new(
            Money::from_cents(500_000),
            Money::ZERO,
            datetime!(2026-03-01 00:00 UTC),
        );
        let PolicyDecision::Refused(violations) = evaluate(&gpu, Some(&berkeley()), &seed) else {
            panic!("allowed")
        };
        assert_eq!(violations.len(), 4);
        assert_eq!(
            violations[3],
            Violation::ExceedsBudget {
                projected: Money::from_cents(910_656),
                remaining: Money::from_cents(500_000)
            }
        );
    }

    #[test]
    fn smaller_sizes_of_an_allowed_family_are_within_it() {
        let allowed = vec!["t3.large".to_owned(), "r5.xlarge".to_owned()];
        for (wanted, within) in [
            ("t3.large", true),
            ("t3.medium", true),
            ("t3.nano", true),
            ("t3.xlarge", false),
            ("r5.large", true),
            ("r5.2xlarge", false),
            ("m5.large", false),
            ("p3.8xlarge", false),
            ("t3.metal", false),
            ("nonsense", false),
        ] {
            assert_eq!(instance_type_within(wanted, &allowed), within, "{wanted}");
        }
        assert!(instance_type_within(
            "c5.4xlarge",
            &["c5.12xlarge".to_owned()]
        ));
        assert!(!instance_type_within(
            "c5.24xlarge",
            &["c5.12xlarge".to_owned()]
        ));
        // SageMaker Studio's types are a family of their own.
        let studio = vec!["ml.t3.large".to_owned(), "t3.large".to_owned()];
        for (wanted, within) in [
            ("ml.t3.medium", true),
            ("ml.t3.xlarge", false),
            ("ml.p3.2xlarge", false),
            ("ml.m5.large", false),
        ] {
            assert_eq!(instance_type_within(wanted, &studio), within, "{wanted}");
        }
        assert!(!instance_type_within(
            "ml.t3.medium",
            &["t3.large".to_owned()]
        ));
        assert!(!instance_type_within(
            "t3.medium",
            &["ml.t3.large".to_owned()]
        ));
    }

    #[test]
    fn templates_filtered_for_berkeley_keep_what_a_launch_would_pass() {
        use crate::template::{Catalog, Size};
        let catalog = Catalog::builtin();
        let pricing = PricingTable::builtin();
        let allowed = allowed_templates(catalog.templates(), Some(&berkeley()), pricing);
        let shown: Vec<(&str, Vec<Size>, Vec<&str>)> = allowed
            .iter()
            .map(|t| {
                (
                    t.name.as_str(),
                    t.sizes.keys().copied().collect(),
                    t.offered_regions(),
                )
            })
            .collect();
        // XL is r5.2xlarge: above r5.xlarge and $0.504 > $0.50; GPU and Bioinformatics are
        // not on the list; us-west-1 and eu-west-1 are forbidden.
        let sizes = vec![Size::S, Size::M, Size::L];
        let regions = vec!["us-east-1", "us-east-2", "us-west-2"];
        assert_eq!(
            shown,
            vec![
                ("Python Machine Learning", sizes.clone(), regions.clone()),
                ("R Research Environment", sizes, regions),
            ]
        );
        assert_eq!(
            allowed_templates(catalog.templates(), None, pricing).len(),
            catalog.templates().len(),
            "no restrictions, every template"
        );
    }
}
