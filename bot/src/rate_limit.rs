//! Per-client limits on the routes anyone can call without a signature (the sign-in pages and
//! the provider's callback). Each bot process counts for itself, in memory: a token bucket per
//! client address, refilled evenly over a minute, in a table of bounded size.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use domain::message::{self, CallbackPage};

use crate::Bot;

/// How many clients the table follows at once. A client whose bucket is full again is as good
/// as absent and makes room; when every place holds a client that is still spending, a new
/// client is refused until one refills, so memory stays bounded whatever the traffic.
const MAX_CLIENTS: usize = 10_000;

/// How unauthenticated requests are limited, and where the client's address comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests one client address may make per minute (and in a burst).
    pub per_minute: u32,
    /// How many reverse proxies in front of the bot append to `X-Forwarded-For`: the client is
    /// the address the outermost of them saw. 0 means no proxy is trusted and the peer of the
    /// TCP connection is the client (a forwarded header is then ignored: anyone can write it).
    pub trusted_proxies: usize,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit {
            per_minute: 30,
            trusted_proxies: 0,
        }
    }
}

pub(crate) struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn capacity(&self) -> f64 {
        f64::from(self.limit.per_minute.max(1))
    }

    fn per_second(&self) -> f64 {
        self.capacity() / 60.0
    }

    /// Takes one request from `client`'s bucket, or says how long until one is available.
    fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let capacity = self.capacity();
        let per_second = self.per_second();
        let refilled = |bucket: &Bucket| {
            let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
            (bucket.tokens + elapsed * per_second).min(capacity)
        };
        let mut buckets = self.buckets.lock().expect("rate limit lock");
        if !buckets.contains_key(&client) && buckets.len() >= MAX_CLIENTS {
            buckets.retain(|_, bucket| refilled(bucket) < capacity);
            if buckets.len() >= MAX_CLIENTS {
                return Err(Duration::from_secs(60));
            }
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let tokens = refilled(bucket);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - tokens) / per_second))
        }
    }

    /// The client's address: the TCP peer, or with trusted proxies the address the outermost
    /// one recorded. IPv6 clients count per /64, the block one subscriber usually holds.
    fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let forwarded = match self.limit.trusted_proxies {
            0 => None,
            proxies => {
                let hops: Vec<&str> = headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|value| value.to_str().ok())
                    .flat_map(|value| value.split(','))
                    .map(str::trim)
                    .collect();
                hops.len()
                    .checked_sub(proxies)
                    .and_then(|at| hops[at].parse::<IpAddr>().ok())
            }
        };
        forwarded.or(peer.map(|peer| peer.ip())).map(per_subscriber)
    }
}

fn per_subscriber(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let block = u128::from(v6) & (u128::MAX << 64);
            IpAddr::from(block.to_be_bytes())
        }
        IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().expect("checked above")),
        v4 => v4,
    }
}

/// The middleware: 429 with `Retry-After` (whole seconds) beyond the limit; the request is not
/// looked at further.
pub(crate) async fn limit_unauthenticated(
    State(bot): State<Arc<Bot>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    // Served without connection info (a test's bare router), every client shares one bucket.
    let client = bot
        .limiter
        .client(peer, request.headers())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    match bot.limiter.take(client, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Html(message::verification_callback_page(
                    CallbackPage::TooManyRequests,
                )),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: u32, trusted_proxies: usize) -> Limiter {
        Limiter::new(RateLimit {
            per_minute,
            trusted_proxies,
        })
    }

    #[test]
    fn a_client_gets_its_burst_then_waits_for_the_refill() {
        let limiter = limiter(3, 0);
        let client = IpAddr::from([192, 0, 2, 1]);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take(client, start), Ok(()));
        }
        let wait = limiter.take(client, start).unwrap_err();
        assert_eq!(wait.as_secs_f64().round(), 20.0);
        assert_eq!(
            limiter.take(IpAddr::from([192, 0, 2, 2]), start),
            Ok(()),
            "another client has its own bucket"
        );
        assert_eq!(
            limiter.take(client, start + Duration::from_secs(21)),
            Ok(())
        );
    }

    #[test]
    fn the_table_stays_bounded_and_makes_room_from_refilled_clients() {
        let limiter = limiter(2, 0);
        let start = Instant::now();
        for n in 0..MAX_CLIENTS as u32 {
            limiter.take(IpAddr::from(n.to_be_bytes()), start).unwrap();
        }
        let newcomer = IpAddr::from([203, 0, 113, 9]);
        assert!(
            limiter.take(newcomer, start).is_err(),
            "every place is busy"
        );
        let later = start + Duration::from_secs(30);
        assert_eq!(limiter.take(newcomer, later), Ok(()));
        assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_forwarded_address_counts_only_behind_trusted_proxies() {
        let peer = Some(SocketAddr::from(([10, 0, 0, 5], 4000)));
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("198.51.100.7, 192.0.2.44"),
        );
        assert_eq!(
            limiter(1, 0).client(peer, &headers),
            Some(IpAddr::from([10, 0, 0, 5]))
        );
        assert_eq!(
            limiter(1, 1).client(peer, &headers),
            Some(IpAddr::from([192, 0, 2, 44])),
            "the client wrote 198.51.100.7 itself; the proxy saw 192.0.2.44"
        );
        assert_eq!(
            limiter(1, 2).client(peer, &headers),
            Some(IpAddr::from([198, 51, 100, 7]))
        );
        assert_eq!(
            limiter(1, 3).client(peer, &headers),
            Some(IpAddr::from([10, 0, 0, 5])),
            "fewer hops than proxies: the peer"
        );
    }

    #[test]
    fn ipv6_clients_count_per_64_block() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(per_subscriber(one), per_subscriber(other));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(per_subscriber(mapped), IpAddr::from([192, 0, 2, 1]));
    }
}
