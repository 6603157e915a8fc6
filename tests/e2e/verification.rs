//! Verified research identity through a local OpenID Connect provider standing in for Globus
//! Auth: `/cws profiles verify`, the browser's round trip, the callback on the real bot, and
//! what the worker stores, says and audits.

use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

use crate::harness::{
    Confirmation, FakeOidc, LEE, Person, SARAH_AT_BERKELEY, SMITH, Slash, TestEnv, TokenFault,
};

/// The Redis databases these tests own; tests sharing one take turns.
static DATABASES: [Mutex<()>; 4] = [
    Mutex::const_new(()),
    Mutex::const_new(()),
    Mutex::const_new(()),
    Mutex::const_new(()),
];

struct World {
    env: TestEnv,
    provider: FakeOidc,
    worker: usize,
    _turn: MutexGuard<'static, ()>,
}

/// The database of tests that have one to themselves.
static OWN: Mutex<()> = Mutex::const_new(());

/// A world whose worker verifies identities with the local provider; `db` is 5 to 8 (shared,
/// taken in turns) or one of a test's own.
async fn world(name: &'static str, db: u8) -> World {
    let turn = match DATABASES.get(usize::from(db).wrapping_sub(5)) {
        Some(shared) => shared.lock().await,
        None => OWN.lock().await,
    };
    let mut env = TestEnv::start(name, db).await;
    let provider = FakeOidc::start().await;
    let settings = provider.worker_env(&env.bot_url);
    let settings: Vec<(&str, &str)> = settings
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    let worker = env.start_worker_with_env(&settings);
    World {
        env,
        provider,
        worker,
        _turn: turn,
    }
}

const LEE_IDENTITY: &str = "cws:verified-identity:slack:T0CONSORTIUM:U0BERKLEE";

impl World {
    async fn dm(&self, person: Person, wanted: &str) -> String {
        let posted = self
            .env
            .slack
            .expect_dm(person.user_id, wanted, Duration::from_secs(30))
            .await;
        let text = posted.text().to_owned();
        assert!(text.contains(wanted), "wanted {wanted:?} in {text:?}");
        text
    }

    async fn stored_identity(&self) -> Option<String> {
        let mut redis = self.env.redis.clone();
        redis::AsyncCommands::get(&mut redis, LEE_IDENTITY)
            .await
            .unwrap()
    }

    /// The deployment's identity audit chain: each event's outcome and detail.
    async fn identity_audit(&self) -> Vec<(String, String)> {
        self.env
            .stream("cws:audit:~identity")
            .await
            .iter()
            .map(|link| {
                let link: serde_json::Value = serde_json::from_str(link).unwrap();
                let event = &link["event"];
                assert_eq!(event["action"], "identity_verification", "{link}");
                (
                    event["outcome"].as_str().unwrap().to_owned(),
                    event["detail"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// No access or ID token reached a chat message or the worker's log.
    fn no_token_leaked(&self) {
        let log = self.env.worker_log(self.worker);
        let said: Vec<String> = self
            .env
            .slack
            .all()
            .iter()
            .map(|p| p.body.to_string())
            .collect();
        for token in self.provider.tokens_issued() {
            assert!(!log.contains(&token), "a token in the worker log");
            assert!(!said.iter().any(|s| s.contains(&token)), "a token in chat");
        }
        assert!(!log.contains(crate::harness::oidc::CLIENT_SECRET));
    }

    /// A verification that failed for `reason`: told by DM, nothing stored, audited.
    async fn refused(&self, reason: &str) {
        let text = self.dm(LEE, "Research identity not verified").await;
        assert!(text.contains(reason), "{text}");
        assert!(text.contains("Nothing was stored"), "{text}");
        assert_eq!(self.stored_identity().await, None);
        let audit = self.identity_audit().await;
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!(audit[0].0, "refused");
        assert!(audit[0].1.contains(reason), "{audit:?}");
        self.no_token_leaked();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sarah_verifies_through_berkeley_login_and_her_profile_shows_it() {
    let w = world("verify-berkeley", 5).await;
    w.env
        .create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    let token = w
        .env
        .invite(
            SMITH,
            "berkeley --type read_write --valid-days 30 --require-verified-identity",
        )
        .await;
    let refused = w.env.accept(LEE, &token, "berkeley-collab").await;
    assert!(
        refused
            .text()
            .contains("requires a verified research identity"),
        "{}",
        refused.text()
    );

    let signed_in = w.env.sign_in(LEE).await;
    assert_eq!(signed_in.page.status, 200);
    assert!(
        signed_in.page.body.contains("Return to Slack"),
        "{}",
        signed_in.page.body
    );
    let verified = w.dm(LEE, "Research identity verified").await;
    assert!(
        verified.contains("sarah.lee@berkeley.edu (University of California, Berkeley)"),
        "{verified}"
    );

    let accepted = w.env.accept(LEE, &token, "berkeley-collab").await;
    assert!(
        accepted.text().contains("Profile created"),
        "{}",
        accepted.text()
    );
    // The research user is named from the institutional login (seed 002).
    assert!(accepted.text().contains("sarah_lee"), "{}", accepted.text());
    w.env
        .slack
        .expect_dm(LEE.user_id, "the SSH key", Duration::from_secs(30))
        .await;
    w.env.slash(&Slash::new("profiles list").by(LEE)).await;
    let listed = w.env.reply_containing("Profiles:").await;
    assert!(
        listed
            .text()
            .contains("berkeley-collab (invitation, active) - expires in 30 days - verified: sarah.lee@berkeley.edu, University of California, Berkeley"),
        "{}",
        listed.text()
    );
    let stored: serde_json::Value =
        serde_json::from_str(&w.stored_identity().await.expect("stored")).unwrap();
    assert_eq!(stored["subject"], SARAH_AT_BERKELEY.subject);
    assert_eq!(stored["email"], SARAH_AT_BERKELEY.email);
    assert_eq!(
        stored["linked"][0]["username"],
        "0000-0002-1825-0097@orcid.org"
    );
    let audit = w.identity_audit().await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "verified");
    w.no_token_leaked();
    w.env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_replayed_after_success_is_refused() {
    let w = world("verify-replay", 6).await;
    let signed_in = w.env.sign_in(LEE).await;
    w.dm(LEE, "Research identity verified").await;
    let stored = w.stored_identity().await;

    w.env.wait_for_done_jobs("command", 1).await;
    w.env.wait_for_done_jobs("verification", 1).await;
    let keys = w.env.key_count().await;

    // The replay is refused at the bot: nothing is queued, stored or audited.
    let replay = w.env.open_callback(&signed_in.callback).await;
    assert_eq!(replay.status, 410, "{}", replay.body);
    assert!(replay.body.contains("already used"), "{}", replay.body);
    assert_eq!(w.env.key_count().await, keys);
    assert_eq!(w.stored_identity().await, stored);
    assert_eq!(w.identity_audit().await.len(), 1);
    w.env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_state_is_refused_at_the_bot_and_nothing_is_kept() {
    let w = world("verify-unknown-state", 7).await;
    let keys = w.env.key_count().await;
    let forged = format!(
        "{}/oauth/globus/callback?code=whatever&state=never-issued",
        w.env.bot_url
    );
    let page = w.env.open_callback(&forged).await;
    assert_eq!(page.status, 404);
    assert!(
        page.body.contains("unknown or has expired"),
        "{}",
        page.body
    );
    let start = w
        .env
        .open_sign_in_page(&format!(
            "{}/oauth/globus/start?state=never-issued",
            w.env.bot_url
        ))
        .await;
    assert_eq!(start.page.status, 404);
    assert!(start.cookie.is_empty(), "no cookie for a made-up link");
    let incomplete = w
        .env
        .open_callback(&format!("{}/oauth/globus/callback?code=x", w.env.bot_url))
        .await;
    assert_eq!(incomplete.status, 400);
    assert_eq!(w.env.key_count().await, keys, "nothing stored or queued");
    assert_eq!(w.stored_identity().await, None);
    assert!(w.identity_audit().await.is_empty());
    w.env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sign_in_page_names_the_person_and_the_provider_waits_for_continue() {
    let w = world("verify-confirm-page", 80).await;
    let link = w.env.sign_in_link(LEE).await;
    let confirmation = w.env.open_sign_in_page(&link).await;
    assert_eq!(confirmation.page.status, 200);
    let body = &confirmation.page.body;
    assert!(
        body.contains("Slack user <strong>sarah.lee</strong> (U0BERKLEE)"),
        "{body}"
    );
    assert!(
        body.contains("in workspace <strong>berkeley-neuroscience (T0CONSORTIUM)</strong>"),
        "{body}"
    );
    // A link scanner fetching the page, or the page opened twice, goes no further.
    w.env.open_sign_in_page(&link).await;
    assert_eq!(
        w.provider.authorizations(),
        0,
        "the provider waits for Continue"
    );

    // Another site cannot press Continue for the person: its form carries no cookie of ours.
    let forged = Confirmation {
        cookie: String::new(),
        ..confirmation
    };
    let refused = w.env.press_continue(&forged).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(w.provider.authorizations(), 0);

    let confirmation = w.env.open_sign_in_page(&link).await;
    let onwards = w.env.press_continue(&confirmation).await;
    assert_eq!(onwards.status(), 303);
    let location = onwards.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&w.provider.issuer()), "{location}");
    assert_eq!(onwards.headers()["x-frame-options"], "DENY");
    w.env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_at_the_provider_stores_nothing() {
    let w = world("verify-cancel", 8).await;
    w.provider.cancel_next();
    let signed_in = w.env.sign_in(LEE).await;
    assert!(signed_in.page.body.contains("Sign-in not completed"));
    w.refused("you cancelled the sign-in").await;
    w.env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_for_another_audience_is_refused() {
    let w = world("verify-audience", 5).await;
    w.provider.fault_next(TokenFault::WrongAudience);
    w.env.sign_in(LEE).await;
    w.refused("ID token did not check out (Invalid audiences")
        .await;
    w.env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_refused() {
    let w = world("verify-expired", 6).await;
    w.provider.fault_next(TokenFault::Expired);
    w.env.sign_in(LEE).await;
    w.refused("ID token did not check out (Expired").await;
    w.env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_signed_with_a_foreign_key_is_refused() {
    let w = world("verify-signature", 7).await;
    w.provider.fault_next(TokenFault::ForeignKey);
    w.env.sign_in(LEE).await;
    w.refused("ID token did not check out (Signature verification failed")
        .await;
    w.env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_mit_only_invitation_refuses_a_verified_berkeley_identity() {
    let w = world("verify-domain", 8).await;
    w.env
        .create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    let token = w
        .env
        .invite(
            SMITH,
            "mit-only --type read_only --valid-days 30 --require-domain mit.edu",
        )
        .await;
    w.env.sign_in(LEE).await;
    w.dm(LEE, "Research identity verified").await;
    let refused = w.env.accept(LEE, &token, "mit-collab").await;
    assert!(
        refused.text().contains(
            "this invitation requires an identity at mit.edu, and your verified identity is sarah.lee@berkeley.edu"
        ),
        "{}",
        refused.text()
    );
    w.env.finish();
}
