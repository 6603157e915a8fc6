//! The embedded mode's cloud: instances exist only in memory. Ids derive from the client token,
//! so the same launch returns the same instance here too.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use domain::launch::LaunchPlan;
use domain::ports::{Cloud, LaunchedInstance, PortError};

#[derive(Default)]
pub struct SimulatedCloud {
    instances: Mutex<HashMap<String, LaunchedInstance>>,
}

#[async_trait]
impl Cloud for SimulatedCloud {
    async fn run_instance(&self, plan: &LaunchPlan) -> Result<LaunchedInstance, PortError> {
        let mut instances = self.instances.lock().expect("simulated cloud lock");
        let instance = instances
            .entry(plan.client_token.clone())
            .or_insert_with(|| LaunchedInstance {
                instance_id: format!("i-{}", &plan.client_token[..17]),
                state: "running".to_owned(),
                private_ip: Some("10.0.0.10".to_owned()),
            });
        Ok(instance.clone())
    }
}
