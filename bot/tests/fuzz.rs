//! Arbitrary requests to every route of the bot, served on loopback with a real Redis queue
//! behind it: whatever the body, headers and query string, the answer is never a 5xx and never
//! a dropped connection (a panic), and nothing is queued or stored without a valid signature.

use std::sync::{Arc, LazyLock};

use proptest::prelude::*;
use reqwest::Method;

/// Enough cases to reach every route many times, few enough to run in seconds.
const CASES: u32 = 2_000;

struct Served {
    runtime: tokio::runtime::Runtime,
    url: String,
    redis: apalis_redis::ConnectionManager,
    http: reqwest::Client,
}

/// One bot for every case, on Redis database 87 (emptied first).
static SERVED: LazyLock<Served> = LazyLock::new(|| {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (url, redis) = runtime.block_on(async {
        let base =
            std::env::var("CWS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let connection = apalis_redis::connect(format!("{base}/87"))
            .await
            .expect("Redis is running (see scripts/test)");
        redis::cmd("FLUSHDB")
            .exec_async(&mut connection.clone())
            .await
            .unwrap();
        let bot = bot::Bot::new(
            "fuzz-signing-secret",
            Arc::new(queue::RedisJobQueue::new(connection.clone())),
            Arc::new(queue::RedisSignIns::new(connection.clone())),
        )
        // Ed25519's base point: a valid public key whose private key nobody here uses.
        .with_discord(&format!("58{}", "66".repeat(31)))
        .expect("a well-formed public key")
        // The limit is not what is tested here: every case must reach its handler.
        .with_rate_limit(bot::RateLimit {
            per_minute: u32::MAX,
            trusted_proxies: 1,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(bot::serve(listener, bot));
        (url, connection)
    });
    Served {
        runtime,
        url,
        redis,
        http: reqwest::Client::new(),
    }
});

const ROUTES: [(&str, &str); 7] = [
    ("POST", "/slack/commands"),
    ("POST", "/slack/interactions"),
    ("POST", "/discord/interactions"),
    ("GET", "/oauth/globus/callback"),
    ("GET", "/oauth/globus/start"),
    ("POST", "/oauth/globus/start"),
    ("GET", "/healthz"),
];

const HEADERS: [&str; 9] = [
    "content-type",
    "x-slack-signature",
    "x-slack-request-timestamp",
    "x-signature-ed25519",
    "x-signature-timestamp",
    "cookie",
    "x-forwarded-for",
    "accept",
    "user-agent",
];

/// Text a header may carry (visible ASCII and spaces), often shaped like the real thing.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,80}",
        "v0=[0-9a-f]{64}",
        "[0-9]{1,12}",
        "application/(json|x-www-form-urlencoded)",
        "cws_confirm=[0-9a-f]{0,32}",
    ]
}

/// Bodies: bytes, Slack-like forms, Discord-like JSON.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        Just("payload".to_owned()),
        Just("text".to_owned()),
        Just("command".to_owned()),
        Just("state".to_owned()),
        Just("confirm".to_owned()),
        Just("user_id".to_owned()),
        Just("response_url".to_owned()),
        Just("trigger_id".to_owned()),
        "[a-z_]{1,12}",
    ];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        proptest::collection::vec((field, ".{0,64}"), 0..8)
            .prop_map(|pairs| serde_urlencoded::to_string(pairs).unwrap().into_bytes()),
        (0u8..7, ".{0,40}", ".{0,40}").prop_map(|(kind, name, value)| {
            serde_json::json!({
                "type": kind,
                "id": "1",
                "token": value,
                "data": { "name": name, "custom_id": value, "options": [] },
                "member": { "user": { "id": name } },
            })
            .to_string()
            .into_bytes()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn no_request_gets_a_5xx_or_queues_a_job(
        route in 0..ROUTES.len(),
        query in proptest::option::of("[ -~]{0,120}"),
        headers in proptest::collection::vec((0..HEADERS.len(), header_value()), 0..6),
        body in body(),
    ) {
        let served = &*SERVED;
        let (method, path) = ROUTES[route];
        let mut url = format!("{}{path}", served.url);
        if let Some(query) = query {
            url.push('?');
            url.push_str(&query.replace(['#', ' '], "%20"));
        }
        let mut request = served
            .http
            .request(Method::from_bytes(method.as_bytes()).unwrap(), url)
            .body(body);
        for (name, value) in headers {
            request = request.header(HEADERS[name], value);
        }
        let (status, keys) = served.runtime.block_on(async {
            let response = request.send().await.expect("the bot answers (no panic)");
            let status = response.status();
            let keys: usize = redis::cmd("DBSIZE")
                .query_async(&mut served.redis.clone())
                .await
                .unwrap();
            (status, keys)
        });
        prop_assert!(!status.is_server_error(), "{method} {path}: {status}");
        prop_assert_eq!(keys, 0, "{} {}: something was stored or queued", method, path);
    }
}
