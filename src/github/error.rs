//! Errors from the REST API and the blob host, typed so callers can branch on them (retry,
//! "expired", "not found") and worded so a user knows what to check next.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "GitHub rejected the token (HTTP 401) for {url}: {message}. The `github-token` is \
         missing, expired or revoked"
    )]
    Unauthorized { url: String, message: String },

    #[error(
        "access denied (HTTP 403) for {url}: {message}. The token needs the `actions: read` \
         permission on that repository (`actions: write` to delete); GITHUB_TOKEN only reaches \
         the repository of the running workflow, so for another repository pass a personal \
         access token or a GitHub App token"
    )]
    Forbidden { url: String, message: String },

    #[error(
        "not found (HTTP 404): {url}: {message}. Check the repository, run id and artifact; a \
         private repository also answers 404 to a token that cannot see it (`actions: read`)"
    )]
    NotFound { url: String, message: String },

    #[error("gone (HTTP 410): {url}: {message}")]
    Gone { url: String, message: String },

    #[error("rate limit exceeded for {url}: {message}")]
    RateLimited {
        url: String,
        message: String,
        retry_after: Option<Duration>,
    },

    #[error("HTTP {status} from {url}: {message}")]
    Status {
        status: u16,
        url: String,
        message: String,
        retry_after: Option<Duration>,
    },

    #[error("request to {url} failed: {detail}")]
    Transport {
        url: String,
        detail: String,
        /// Connection refused/reset, timeouts and broken bodies are worth another try; a bad
        /// URL or a TLS certificate error is not.
        retryable: bool,
    },

    #[error("unexpected response from {url}: {detail}")]
    Decode { url: String, detail: String },

    #[error("refusing to follow {from} to {to}: {why}")]
    Redirect {
        from: String,
        to: String,
        why: String,
    },
}

impl ApiError {
    /// Whether trying the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::RateLimited { .. } => true,
            ApiError::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            ApiError::Transport { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// How long the server asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited { retry_after, .. } | ApiError::Status { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::Forbidden { .. } => Some(403),
            ApiError::NotFound { .. } => Some(404),
            ApiError::Gone { .. } => Some(410),
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn transport(url: &str, err: reqwest::Error) -> ApiError {
        let err = err.without_url();
        let certificate = certificate_error(&err);
        // A certificate the client rejects is rejected again on every attempt (reqwest calls it
        // a connect error, which is otherwise worth retrying).
        let retryable = certificate.is_none()
            && (err.is_timeout()
                || err.is_connect()
                || err.is_body()
                || err.is_request()
                || err.is_decode());
        let mut detail = error_chain(&err);
        if matches!(
            certificate,
            Some(rustls::CertificateError::UnknownIssuer | rustls::CertificateError::BadSignature)
        ) {
            detail.push_str(UNTRUSTED_CA_HINT);
        }
        ApiError::Transport {
            url: url.to_owned(),
            detail,
            retryable,
        }
    }
}

/// rustls' bare "invalid peer certificate: UnknownIssuer" does not tell a user what to do. The
/// usual cause is GitHub Enterprise Server (or its artifact storage) behind a company CA: the
/// runner's machine may trust it, but the action's container trusts only the bundle in its
/// image, or the one `SSL_CERT_FILE` names (rustls-native-certs reads it, and it replaces the
/// system bundle rather than adding to it). `BadSignature` is the same story when a CA of the same
/// name is trusted but is not the one that signed (an old or a different CA).
const UNTRUSTED_CA_HINT: &str = ". The server's TLS certificate is not signed by a certificate \
    authority this action trusts. For GitHub Enterprise Server with a private CA, set \
    SSL_CERT_FILE in the step's `env:` to a PEM bundle that contains that CA, at a path the \
    action's container can read (for example /github/workspace/ca-bundle.pem); it replaces the \
    built-in bundle, so add the public CAs too if the artifact storage has a public certificate";

/// The certificate problem behind a TLS handshake failure, if that is what `err` is. The
/// rustls error sits inside `io::Error`s, whose `source()` skips the error they wrap, so those
/// links are opened with `get_ref` instead.
fn certificate_error(err: &reqwest::Error) -> Option<rustls::CertificateError> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(rustls::Error::InvalidCertificate(c)) = e.downcast_ref::<rustls::Error>() {
            return Some(c.clone());
        }
        current = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// reqwest's top-level message is "error sending request"; the cause underneath ("connection
/// refused", "operation timed out") is what a user needs, so walk the chain. `without_url`
/// keeps signed blob URLs (short-lived credentials) out of the text.
fn error_chain(err: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p: &String| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}
