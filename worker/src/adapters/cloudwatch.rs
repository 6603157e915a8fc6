//! CloudWatch as the metrics source: GetMetricData for `AWS/EC2` `CPUUtilization` (5-minute
//! maximums) and `NetworkIn` + `NetworkOut` (5-minute sums), three queries per instance and up
//! to 500 queries per call (the API's limit).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use domain::ports::{Activity, Metrics, PortError};
use time::OffsetDateTime;

use crate::adapters::aws::classify;

/// GetMetricData takes at most 500 queries; each instance takes three.
const INSTANCES_PER_CALL: usize = 500 / MEASURES.len();

/// What is asked of each instance: (query id prefix, metric, statistic).
const MEASURES: [(&str, &str, &str); 3] = [
    ("cpu", "CPUUtilization", "Maximum"),
    ("in", "NetworkIn", "Sum"),
    ("out", "NetworkOut", "Sum"),
];
/// EC2's basic monitoring publishes every 5 minutes.
const PERIOD_SECONDS: i32 = 300;

pub struct CloudWatch {
    client: Client,
}

impl CloudWatch {
    pub fn new(config: &SdkConfig) -> CloudWatch {
        CloudWatch {
            client: Client::new(config),
        }
    }
}

fn query(
    prefix: &str,
    metric: &str,
    stat: &str,
    index: usize,
    instance_id: &str,
) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(format!("{prefix}{index}"))
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("AWS/EC2")
                        .metric_name(metric)
                        .dimensions(
                            Dimension::builder()
                                .name("InstanceId")
                                .value(instance_id)
                                .build(),
                        )
                        .build(),
                )
                .period(PERIOD_SECONDS)
                .stat(stat)
                .build(),
        )
        .return_data(true)
        .build()
}

#[async_trait]
impl Metrics for CloudWatch {
    async fn activity(
        &self,
        instance_ids: &[String],
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<HashMap<String, Activity>, PortError> {
        let mut activity = HashMap::new();
        for chunk in instance_ids.chunks(INSTANCES_PER_CALL) {
            let queries = chunk
                .iter()
                .enumerate()
                .flat_map(|(index, id)| {
                    MEASURES
                        .iter()
                        .map(move |(prefix, metric, stat)| query(prefix, metric, stat, index, id))
                })
                .collect();
            let mut pages = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(queries))
                .start_time(DateTime::from_secs(from.unix_timestamp()))
                .end_time(DateTime::from_secs(to.unix_timestamp()))
                .into_paginator()
                .send();
            // Per instance: the CPU peak, and network bytes per period (in and out added).
            let mut cpu: HashMap<usize, f64> = HashMap::new();
            let mut network: HashMap<(usize, i64), f64> = HashMap::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(classify)?;
                for result in page.metric_data_results() {
                    let id = result.id().unwrap_or_default();
                    let Some((prefix, index)) = MEASURES.iter().find_map(|(prefix, _, _)| {
                        let index = id.strip_prefix(prefix)?.parse::<usize>().ok()?;
                        Some((*prefix, index))
                    }) else {
                        continue;
                    };
                    let points = result.timestamps().iter().zip(result.values());
                    if prefix == "cpu" {
                        for (_, value) in points {
                            let peak = cpu.entry(index).or_insert(*value);
                            *peak = peak.max(*value);
                        }
                    } else {
                        for (at, value) in points {
                            *network.entry((index, at.secs())).or_insert(0.0) += value;
                        }
                    }
                }
            }
            for (index, peak_cpu) in cpu {
                let peak_network_bytes = network
                    .iter()
                    .filter(|((i, _), _)| *i == index)
                    .map(|(_, bytes)| *bytes)
                    .reduce(f64::max);
                activity.insert(
                    chunk[index].clone(),
                    Activity {
                        peak_cpu,
                        peak_network_bytes,
                    },
                );
            }
        }
        Ok(activity)
    }
}

/// The embedded mode's simulated instances publish no metrics, so nothing is ever idle.
pub struct NoMetrics;

#[async_trait]
impl Metrics for NoMetrics {
    async fn activity(
        &self,
        _instance_ids: &[String],
        _from: OffsetDateTime,
        _to: OffsetDateTime,
    ) -> Result<HashMap<String, Activity>, PortError> {
        Ok(HashMap::new())
    }
}
