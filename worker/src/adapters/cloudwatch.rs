//! CloudWatch as the metrics source: GetMetricData for `AWS/EC2` `CPUUtilization`, one query
//! per instance and up to 500 queries per call (the API's limit), 5-minute maximums.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use domain::ports::{Metrics, PortError};
use time::OffsetDateTime;

use crate::adapters::aws::classify;

/// GetMetricData takes at most 500 queries.
const QUERIES_PER_CALL: usize = 500;
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

fn query(index: usize, instance_id: &str) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(format!("cpu{index}"))
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("AWS/EC2")
                        .metric_name("CPUUtilization")
                        .dimensions(
                            Dimension::builder()
                                .name("InstanceId")
                                .value(instance_id)
                                .build(),
                        )
                        .build(),
                )
                .period(PERIOD_SECONDS)
                .stat("Maximum")
                .build(),
        )
        .return_data(true)
        .build()
}

#[async_trait]
impl Metrics for CloudWatch {
    async fn peak_cpu(
        &self,
        instance_ids: &[String],
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<HashMap<String, f64>, PortError> {
        let mut peaks = HashMap::new();
        for chunk in instance_ids.chunks(QUERIES_PER_CALL) {
            let mut pages = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(index, id)| query(index, id))
                        .collect(),
                ))
                .start_time(DateTime::from_secs(from.unix_timestamp()))
                .end_time(DateTime::from_secs(to.unix_timestamp()))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(classify)?;
                for result in page.metric_data_results() {
                    let Some(index) = result
                        .id()
                        .and_then(|id| id.strip_prefix("cpu"))
                        .and_then(|i| i.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    let Some(instance_id) = chunk.get(index) else {
                        continue;
                    };
                    if let Some(peak) = result.values().iter().copied().reduce(f64::max) {
                        let entry = peaks.entry(instance_id.clone()).or_insert(peak);
                        *entry = entry.max(peak);
                    }
                }
            }
        }
        Ok(peaks)
    }
}

/// The embedded mode's simulated instances publish no metrics, so nothing is ever idle.
pub struct NoMetrics;

#[async_trait]
impl Metrics for NoMetrics {
    async fn peak_cpu(
        &self,
        _instance_ids: &[String],
        _from: OffsetDateTime,
        _to: OffsetDateTime,
    ) -> Result<HashMap<String, f64>, PortError> {
        Ok(HashMap::new())
    }
}
