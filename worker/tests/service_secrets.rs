//! Web workspaces' passwords in Redis: made once per launch (a retried or racing run of the
//! same launch gets the same one, as its instance has the same user data), read back for
//! `connect`, kept apart per launch, and gone once the workspace is terminated.

use std::sync::Arc;

use domain::job::JobKey;
use worker::adapters::redis_records::RedisRecords;
use worker::state::State;

/// Redis database 90, emptied first.
async fn state() -> (State, redis::aio::ConnectionManager) {
    let base =
        std::env::var("CWS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let client = redis::Client::open(format!("{base}/90")).expect("redis url");
    let mut connection = client
        .get_connection_manager()
        .await
        .expect("Redis is running with 128 databases (see scripts/test)");
    redis::cmd("FLUSHDB")
        .exec_async(&mut connection)
        .await
        .expect("flushdb");
    let records = Arc::new(RedisRecords::new(connection.clone()));
    (State::new(records, None), connection)
}

fn launch(key: &str) -> JobKey {
    JobKey::try_from(key.to_owned()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_launch_has_one_password_until_its_workspace_is_terminated() {
    let (state, mut connection) = state().await;
    let first = launch("slack:T0CONSORTIUM:1767225600.000100");
    assert_eq!(state.service_secret(&first).await.unwrap(), None);

    let runs =
        futures::future::join_all((0..8).map(|_| state.service_secret_for_launch(&first))).await;
    let made = runs[0].as_ref().unwrap().clone();
    assert!(runs.iter().all(|run| run.as_ref().unwrap() == &made));
    assert_eq!(made.password().len(), 32);
    assert_eq!(
        state.service_secret(&first).await.unwrap().as_ref(),
        Some(&made)
    );
    let stored: String = redis::AsyncCommands::get(
        &mut connection,
        "cws:service-secret:slack:T0CONSORTIUM:1767225600.000100",
    )
    .await
    .unwrap();
    assert!(stored.contains(made.password()));

    let other = state
        .service_secret_for_launch(&launch("slack:T0CONSORTIUM:1767225600.000200"))
        .await
        .unwrap();
    assert_ne!(other.password(), made.password());

    state.forget_service_secret(&first).await.unwrap();
    assert_eq!(state.service_secret(&first).await.unwrap(), None);
}
