//! Where a worker may send a request whose address arrives in a chat payload: a slash
//! command's `response_url`, a shared file's download URL, a Discord attachment. Those
//! addresses travel through the queue, so anyone who can write a job could otherwise make a
//! worker post to, or fetch from (with the bot token attached), any host it can reach.

use std::fmt;

use url::Url;

/// A URL prefix such as `https://hooks.slack.com/`: a URL is under it when its scheme, host
/// and port are the prefix's exactly and its path starts with the prefix's path. Comparing
/// parsed parts, not text, is what keeps `https://hooks.slack.com.evil.example/` and
/// `https://hooks.slack.com@evil.example/` out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPrefix(Url);

/// The text of a setting that is not an http(s) URL prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an http or https URL such as https://hooks.slack.com/")]
pub struct InvalidUrlPrefix;

impl UrlPrefix {
    /// Reads a prefix; a path not ending in `/` gets one, so `https://x/files` does not admit
    /// `https://x/files-of-someone-else`.
    pub fn parse(text: &str) -> Result<UrlPrefix, InvalidUrlPrefix> {
        let mut url = Url::parse(text.trim()).map_err(|_| InvalidUrlPrefix)?;
        let web = matches!(url.scheme(), "http" | "https");
        if !web || url.host_str().is_none() || !url.username().is_empty() {
            return Err(InvalidUrlPrefix);
        }
        url.set_query(None);
        url.set_fragment(None);
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(UrlPrefix(url))
    }

    /// `url`, parsed, when it is under this prefix; `None` for anything else, including text
    /// that is not a URL and URLs carrying a user name or password.
    pub fn admit(&self, url: &str) -> Option<Url> {
        let url = Url::parse(url).ok()?;
        let under = url.scheme() == self.0.scheme()
            && url.host() == self.0.host()
            && url.port_or_known_default() == self.0.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none()
            && url.path().starts_with(self.0.path());
        under.then_some(url)
    }
}

impl fmt::Display for UrlPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// The host (and port, when one is given) of `url` for messages and logs, or the text itself
/// when it is not a URL.
pub fn host_of(url: &str) -> String {
    match Url::parse(url) {
        Ok(parsed) => match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => url.to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_urls_under_the_prefix_are_admitted() {
        let hooks = UrlPrefix::parse("https://hooks.slack.com/").unwrap();
        for ok in [
            "https://hooks.slack.com/commands/T0/1/abc",
            "https://HOOKS.slack.com:443/commands/T0/1/abc",
        ] {
            assert!(hooks.admit(ok).is_some(), "{ok}");
        }
        for foreign in [
            "https://hooks.slack.com.evil.example/commands/T0/1/abc",
            "https://hooks.slack.com@evil.example/commands",
            "https://user:pass@hooks.slack.com/commands",
            "http://hooks.slack.com/commands/T0/1/abc",
            "https://hooks.slack.com:8443/commands/T0/1/abc",
            "https://evil.example/https://hooks.slack.com/",
            "https://127.0.0.1/commands",
            "hooks.slack.com/commands",
            "",
        ] {
            assert!(hooks.admit(foreign).is_none(), "{foreign}");
        }
    }

    #[test]
    fn the_prefix_path_is_a_folder() {
        let files = UrlPrefix::parse("http://127.0.0.1:4000/files").unwrap();
        assert_eq!(files.to_string(), "http://127.0.0.1:4000/files/");
        assert!(files.admit("http://127.0.0.1:4000/files/a.csv").is_some());
        assert!(files.admit("http://127.0.0.1:4000/files-x/a.csv").is_none());
        assert!(files.admit("http://127.0.0.1:4001/files/a.csv").is_none());
        assert!(files.admit("http://localhost:4000/files/a.csv").is_none());
    }

    #[test]
    fn prefixes_are_web_urls() {
        for bad in [
            "",
            "hooks.slack.com",
            "ftp://x/",
            "file:///etc/",
            "https://u@x/",
        ] {
            assert_eq!(UrlPrefix::parse(bad), Err(InvalidUrlPrefix), "{bad}");
        }
        assert_eq!(host_of("http://127.0.0.1:9/x"), "127.0.0.1:9");
        assert_eq!(host_of("https://evil.example/x"), "evil.example");
    }
}
