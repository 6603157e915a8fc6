//! A server on loopback that is none of the platforms: it records every request it gets, so a
//! test can show that a worker sent nothing to an address it was handed.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};

/// One request the stranger got: method, path, and whether it carried a bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
}

pub struct Stranger {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

async fn record(
    State(hits): State<Arc<Mutex<Vec<Hit>>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> &'static str {
    hits.lock().unwrap().push(Hit {
        method: method.to_string(),
        path: uri.path().to_owned(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
    "ok"
}

impl Stranger {
    pub async fn start() -> Stranger {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .fallback(record)
            .with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Stranger { url, hits }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `127.0.0.1:PORT`, as refusals name it.
    pub fn host(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}
