//! What a fake chat server received, in order, each message marked once a test has examined
//! it: tests wait for the next matching message, and a test ends by checking that nothing it
//! did not expect arrived.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

pub struct Inbox<T> {
    /// The platform, for failure messages: "no Slack message …".
    platform: &'static str,
    received: Mutex<Vec<(T, bool)>>,
    changed: Notify,
}

impl<T: Clone + Debug> Inbox<T> {
    pub fn new(platform: &'static str) -> Inbox<T> {
        Inbox {
            platform,
            received: Mutex::default(),
            changed: Notify::new(),
        }
    }

    pub fn record(&self, message: T) {
        self.received.lock().unwrap().push((message, false));
        self.changed.notify_waiters();
    }

    /// Waits for a message not yet examined that matches, marks it examined and returns it.
    pub async fn expect(&self, what: &str, timeout: Duration, matches: impl Fn(&T) -> bool) -> T {
        let wait = async {
            loop {
                let changed = self.changed.notified();
                {
                    let mut received = self.received.lock().unwrap();
                    if let Some((found, examined)) = received
                        .iter_mut()
                        .find(|(m, examined)| !*examined && matches(m))
                    {
                        *examined = true;
                        return found.clone();
                    }
                }
                changed.await;
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(found) => found,
            Err(_) => panic!(
                "no {} message {what} within {timeout:?}; received: {:#?}",
                self.platform,
                self.all()
            ),
        }
    }

    pub fn all(&self) -> Vec<T> {
        self.received(|_| true)
    }

    pub fn unexamined(&self) -> Vec<T> {
        self.received(|examined| !examined)
    }

    fn received(&self, keep: impl Fn(bool) -> bool) -> Vec<T> {
        let received = self.received.lock().unwrap();
        received
            .iter()
            .filter(|(_, examined)| keep(*examined))
            .map(|(m, _)| m.clone())
            .collect()
    }
}
