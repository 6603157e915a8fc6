//! Scripts on running instances through SSM Run Command (`AWS-RunShellScript`), with the
//! official AWS SDK: send, then poll the invocation until it ends. The instance needs the SSM
//! agent (on Amazon's and Ubuntu's AMIs) and an instance profile allowing Systems Manager.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::ProvideErrorMetadata;
use aws_sdk_ssm::types::CommandInvocationStatus;
use domain::ports::{InstanceCommands, PortError, ScriptOutcome, ScriptRun};

use crate::adapters::aws::classify;

/// How long a script may run on the instance: installing amazon-efs-utils takes a minute or two.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);
/// How long SSM may take to deliver the command to the agent.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);
const POLL_EVERY: Duration = Duration::from_secs(2);
/// The end of the output shown in chat.
const OUTPUT_SHOWN: usize = 1_000;

pub struct Ssm {
    client: Client,
}

impl Ssm {
    pub fn new(config: &SdkConfig) -> Ssm {
        Ssm {
            client: Client::new(config),
        }
    }
}

#[async_trait]
impl InstanceCommands for Ssm {
    async fn run_script(
        &self,
        instance_id: &str,
        comment: &str,
        script: &str,
    ) -> Result<ScriptRun, PortError> {
        let sent = self
            .client
            .send_command()
            .document_name("AWS-RunShellScript")
            .instance_ids(instance_id)
            // SSM's comment is at most 100 characters.
            .comment(comment.chars().take(100).collect::<String>())
            .timeout_seconds(DELIVERY_TIMEOUT.as_secs() as i32)
            .parameters("commands", vec![script.to_owned()])
            .parameters(
                "executionTimeout",
                vec![SCRIPT_TIMEOUT.as_secs().to_string()],
            )
            .send()
            .await
            .map_err(classify)?;
        let command_id = sent
            .command()
            .and_then(|command| command.command_id())
            .ok_or_else(|| PortError::Transient("SSM returned no command id".to_owned()))?
            .to_owned();
        let deadline = tokio::time::Instant::now() + DELIVERY_TIMEOUT + SCRIPT_TIMEOUT;
        loop {
            let invocation = self
                .client
                .get_command_invocation()
                .command_id(&command_id)
                .instance_id(instance_id)
                .send()
                .await;
            let outcome = match invocation {
                Ok(invocation) => match invocation.status() {
                    Some(CommandInvocationStatus::Success) => Some(ScriptOutcome::Succeeded),
                    Some(
                        CommandInvocationStatus::Pending
                        | CommandInvocationStatus::InProgress
                        | CommandInvocationStatus::Delayed,
                    )
                    | None => None,
                    Some(status) => {
                        let error = invocation.standard_error_content().unwrap_or_default();
                        let output = if error.trim().is_empty() {
                            invocation.standard_output_content().unwrap_or_default()
                        } else {
                            error
                        };
                        Some(ScriptOutcome::Failed {
                            status: status.as_str().to_owned(),
                            output: tail(output.trim(), OUTPUT_SHOWN),
                        })
                    }
                },
                // Right after sending, SSM may not know the invocation yet.
                Err(error) if error.code() == Some("InvocationDoesNotExist") => None,
                Err(error) => return Err(classify(error)),
            };
            if let Some(outcome) = outcome {
                return Ok(ScriptRun {
                    command_id,
                    outcome,
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(ScriptRun {
                    command_id,
                    outcome: ScriptOutcome::Failed {
                        status: "TimedOut".to_owned(),
                        output: String::new(),
                    },
                });
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}

fn tail(text: &str, chars: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(chars)).collect()
}
