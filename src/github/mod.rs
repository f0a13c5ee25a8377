//! The REST client: standard headers, retries, pagination, and the `/zip` redirect dance.
//!
//! Every request goes through one `reqwest::Client` (one connection pool). Redirects are never
//! followed automatically: the token must only ever reach the API origin, so every hop is
//! decided here.

mod error;
mod retry;
mod types;

pub use error::ApiError;
pub use retry::RetryPolicy;
pub use types::{
    Artifact, ArtifactId, ArtifactPage, ArtifactRun, MinimalRepo, Repo, RunId, RunPage, WorkflowRun,
};

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::inputs::Token;

pub const API_VERSION: &str = "2026-03-10";
const USER_AGENT: &str = concat!("fetch-artifact/", env!("CARGO_PKG_VERSION"));
/// GitHub caps `per_page` at 100; asking for the maximum keeps round trips few.
const PER_PAGE: &str = "100";
/// More than this many pages means a server that keeps sending `next`: stop rather than spin.
const MAX_PAGES: usize = 1000;
const MAX_API_REDIRECTS: usize = 5;

pub struct Client {
    http: reqwest::Client,
    api_url: String,
    api_origin: String,
    token: Token,
    retry: RetryPolicy,
}

impl Client {
    /// `read_timeout` is an idle timeout: how long a single read may wait for bytes.
    pub fn new(
        api_url: &str,
        token: Token,
        retry: RetryPolicy,
        read_timeout: Duration,
    ) -> anyhow::Result<Client> {
        // reqwest is built without a default crypto provider so we can pick ring (small, and
        // builds for static musl without a C++ toolchain). Installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(30))
            // An idle-read timeout, not a total one: a big download may take long, a stalled
            // one must not hang the job.
            .read_timeout(read_timeout)
            // No `.no_proxy()`: the runner hands its proxy settings to container actions as
            // HTTP(S)_PROXY / NO_PROXY, which reqwest reads here by itself, loopback included
            // (tests/it/network.rs holds it to that).
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
        Ok(Client {
            api_origin: origin_of(api_url).unwrap_or_default(),
            api_url: api_url.trim_end_matches('/').to_owned(),
            http,
            token,
            retry,
        })
    }

    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// `{api_url}/repos/{owner}/{name}{rest}`.
    pub fn repo_url(&self, repo: &Repo, rest: &str) -> String {
        format!(
            "{}/repos/{}/{}{}",
            self.api_url, repo.owner, repo.name, rest
        )
    }

    fn api_request(&self, method: Method, url: &str) -> RequestBuilder {
        self.http.request(method, url).headers(self.api_headers())
    }

    fn api_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/vnd.github+json"),
        );
        h.insert(
            "x-github-api-version",
            HeaderValue::from_static(API_VERSION),
        );
        if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", self.token.expose())) {
            v.set_sensitive(true);
            h.insert(header::AUTHORIZATION, v);
        }
        h
    }

    /// Sends an API request, retrying transient failures, and returns a 2xx/3xx response.
    async fn send_api(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, &str)],
    ) -> Result<Response, ApiError> {
        self.retry
            .run(url, || async {
                let resp = self
                    .api_request(method.clone(), url)
                    .query(query)
                    .send()
                    .await
                    .map_err(|e| ApiError::transport(url, e))?;
                check_status(resp, url).await
            })
            .await
    }

    /// GETs one JSON document, following same-origin redirects (a renamed repository answers
    /// 301 to its new URL).
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, ApiError> {
        let (value, _) = self.get_json_page(url, &[]).await?;
        Ok(value)
    }

    async fn get_json_page<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, &str)],
    ) -> Result<(T, Option<String>), ApiError> {
        let mut url = url.to_owned();
        let mut query = query;
        for _ in 0..=MAX_API_REDIRECTS {
            let resp = self.send_api(Method::GET, &url, query).await?;
            if resp.status().is_redirection() {
                url = self.same_origin_location(&resp, &url)?;
                query = &[];
                continue;
            }
            let next = next_link(resp.headers());
            let body = resp
                .bytes()
                .await
                .map_err(|e| ApiError::transport(&url, e))?;
            let value = serde_json::from_slice(&body).map_err(|e| ApiError::Decode {
                url: url.clone(),
                detail: e.to_string(),
            })?;
            return Ok((value, next));
        }
        Err(ApiError::Redirect {
            from: url.clone(),
            to: url,
            why: "too many redirects".into(),
        })
    }

    /// GETs every page of a list endpoint (`per_page=100`, then `Link: rel="next"` to the end).
    pub async fn get_all_pages<P: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<P>, ApiError> {
        let mut pages = Vec::new();
        let (first, mut next) = self.first_page(url, query).await?;
        pages.push(first);
        while let Some(link) = next.take() {
            if pages.len() >= MAX_PAGES {
                return Err(ApiError::Decode {
                    url: url.to_owned(),
                    detail: format!("more than {MAX_PAGES} pages; stopping"),
                });
            }
            let (page, n) = self.next_page(url, &link).await?;
            pages.push(page);
            next = n;
        }
        Ok(pages)
    }

    /// The first page of a list (`per_page=100`) and the link to the next, for callers that
    /// stop as soon as they have found what they want.
    pub async fn first_page<P: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, &str)],
    ) -> Result<(P, Option<String>), ApiError> {
        let mut q: Vec<(&str, &str)> = query.to_vec();
        q.push(("per_page", PER_PAGE));
        self.get_json_page(url, &q).await
    }

    /// Follows a `rel="next"` link, which must stay on the API host (it carries the token).
    pub async fn next_page<P: DeserializeOwned>(
        &self,
        list_url: &str,
        link: &str,
    ) -> Result<(P, Option<String>), ApiError> {
        if origin_of(link).as_deref() != Some(self.api_origin.as_str()) {
            return Err(ApiError::Redirect {
                from: list_url.to_owned(),
                to: link.to_owned(),
                why: "the next page is on another host, and the token only goes to the API host"
                    .into(),
            });
        }
        self.get_json_page(link, &[]).await
    }

    /// Sends a DELETE to the API.
    pub async fn delete(&self, url: &str) -> Result<(), ApiError> {
        self.send_api(Method::DELETE, url, &[]).await.map(|_| ())
    }

    /// Asks `…/artifacts/{id}/zip` for the short-lived signed blob URL (the `Location` of its
    /// 302). 410 means the artifact expired.
    pub async fn artifact_blob_url(&self, repo: &Repo, id: ArtifactId) -> Result<String, ApiError> {
        let url = self.repo_url(repo, &format!("/actions/artifacts/{id}/zip"));
        let resp = self.send_api(Method::GET, &url, &[]).await?;
        if !resp.status().is_redirection() {
            return Err(ApiError::Decode {
                url,
                detail: format!(
                    "expected a redirect to the download, got HTTP {}",
                    resp.status().as_u16()
                ),
            });
        }
        location(&resp, &url)
    }

    /// GETs a blob URL **without** the token (the URL carries its own signature, and the token
    /// must never leave the API host), optionally from byte `offset` on. Redirects between blob
    /// hosts are followed, still without the token.
    pub async fn get_blob(&self, url: &str, offset: u64) -> Result<Response, ApiError> {
        let mut url = url.to_owned();
        for _ in 0..=MAX_API_REDIRECTS {
            let mut req = self.http.get(&url);
            if offset > 0 {
                req = req.header(header::RANGE, format!("bytes={offset}-"));
            }
            let shown = redact_query(&url);
            let resp = req
                .send()
                .await
                .map_err(|e| ApiError::transport(&shown, e))?;
            if resp.status().is_redirection() {
                url = location(&resp, &shown)?;
                continue;
            }
            return check_status(resp, &shown).await;
        }
        Err(ApiError::Redirect {
            from: redact_query(&url),
            to: String::new(),
            why: "too many redirects".into(),
        })
    }

    fn same_origin_location(&self, resp: &Response, from: &str) -> Result<String, ApiError> {
        let to = location(resp, from)?;
        if origin_of(&to).as_deref() == Some(self.api_origin.as_str()) {
            Ok(to)
        } else {
            Err(ApiError::Redirect {
                from: from.to_owned(),
                to: redact_query(&to),
                why: "it leaves the API host, and the token only goes to the API host".into(),
            })
        }
    }
}

/// Turns a non-success status into the matching typed error, reading GitHub's `message`.
async fn check_status(resp: Response, url: &str) -> Result<Response, ApiError> {
    let status = resp.status();
    if status.is_success() || status.is_redirection() {
        return Ok(resp);
    }
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap_or_default();
    let message = error_message(&body);
    let url = url.to_owned();
    let retry_after = retry::server_delay(&headers);
    let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN
            && (headers
                .get("x-ratelimit-remaining")
                .is_some_and(|v| v.as_bytes() == b"0")
                || message.to_ascii_lowercase().contains("rate limit")));
    Err(match status.as_u16() {
        _ if rate_limited => ApiError::RateLimited {
            url,
            message,
            retry_after,
        },
        401 => ApiError::Unauthorized { url, message },
        403 => ApiError::Forbidden { url, message },
        404 => ApiError::NotFound { url, message },
        410 => ApiError::Gone { url, message },
        s => ApiError::Status {
            status: s,
            url,
            message,
            retry_after,
        },
    })
}

/// GitHub's error JSON has a `message`; blob storage answers XML. Keep either short.
fn error_message(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct GitHubError {
        message: String,
    }
    if let Ok(e) = serde_json::from_str::<GitHubError>(body) {
        return e.message;
    }
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        "(no message)".to_owned()
    } else if flat.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|&i| flat.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}…", &flat[..cut])
    } else {
        flat
    }
}

fn location(resp: &Response, from: &str) -> Result<String, ApiError> {
    let raw = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Redirect {
            from: from.to_owned(),
            to: String::new(),
            why: format!("HTTP {} without a Location header", resp.status().as_u16()),
        })?;
    // A relative Location is resolved against the URL that answered.
    resp.url()
        .join(raw)
        .map(|u| u.to_string())
        .map_err(|e| ApiError::Redirect {
            from: from.to_owned(),
            to: redact_query(raw),
            why: e.to_string(),
        })
}

/// The `rel="next"` target of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_owned())
    })
}

/// `scheme://host[:port]`, lower-cased, for same-origin checks.
fn origin_of(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(format!(
        "{}://{}:{}",
        u.scheme(),
        u.host_str()?.to_ascii_lowercase(),
        u.port_or_known_default()?
    ))
}

/// Drops the query string: a signed blob URL's signature is a credential for a minute and has
/// no business in a log.
pub fn redact_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(link: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::LINK, HeaderValue::from_str(link).unwrap());
        h
    }

    #[test]
    fn parses_next_link() {
        let h = headers(
            r#"<https://api.github.com/r?page=1>; rel="prev", <https://api.github.com/r?page=3>; rel="next", <https://api.github.com/r?page=9>; rel="last""#,
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/r?page=3")
        );
        let h = headers(r#"<https://api.github.com/r?page=1>; rel="first""#);
        assert_eq!(next_link(&h), None);
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://API.github.com/x").as_deref(),
            Some("https://api.github.com:443")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/api/v3").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_ne!(
            origin_of("http://127.0.0.1:1/"),
            origin_of("http://127.0.0.2:1/")
        );
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            error_message(r#"{"message":"Not Found","documentation_url":"x"}"#),
            "Not Found"
        );
        assert_eq!(error_message(""), "(no message)");
        assert_eq!(
            error_message("<Error>\n <Code>X</Code></Error>"),
            "<Error> <Code>X</Code></Error>"
        );
        assert!(error_message(&"é".repeat(300)).ends_with('…'));
        assert_eq!(redact_query("http://b/blob/1?sig=abc"), "http://b/blob/1?…");
    }
}
