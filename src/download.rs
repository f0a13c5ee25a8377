//! Download: stream the artifact's blob to a staging file, hashing every byte as it passes.
//!
//! `…/artifacts/{id}/zip` answers 302 to a signed blob URL that lives about a minute. The blob
//! is fetched without the token, resumed with `Range` after a cut-off when the host allows it
//! (the hash then continues where it stopped, so every byte is hashed exactly once), and a
//! blob URL that stops working is replaced by a fresh one from the API.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use reqwest::header::{self, HeaderMap};
use tokio::fs::File;
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};
use tokio::time::Instant;

use crate::digest::{Digest, Hasher};
use crate::github::{ApiError, Artifact, Client, Repo};
use crate::locate::expired_message;
use crate::report::human_size;

/// How often a running download reports progress. The job log is not a terminal, so each report
/// is a line of its own; a few seconds apart keeps a long download visibly alive without
/// flooding the log.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// What the blob turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobKind {
    /// A zip archive, to be extracted.
    Zip,
    /// A single file uploaded with `archive: false`, saved under this plain base name.
    File { name: String },
}

#[derive(Debug)]
pub struct Downloaded {
    pub digest: Digest,
    pub bytes: u64,
    pub kind: BlobKind,
}

/// Streams the artifact's blob into the file `to`.
pub async fn download(
    client: &Client,
    repo: &Repo,
    artifact: &Artifact,
    to: &Path,
) -> Result<Downloaded> {
    let place = repo.to_string();
    let fresh_url = || async {
        match client.artifact_blob_url(repo, artifact.id).await {
            Err(ApiError::Gone { .. }) => {
                Err(anyhow!(expired_message(&artifact.name, artifact, &place)))
            }
            other => other.with_context(|| {
                format!(
                    "cannot get the download URL of artifact `{}` (id {})",
                    artifact.name, artifact.id
                )
            }),
        }
    };
    let mut url = fresh_url().await?;

    let file = File::create(to)
        .await
        .with_context(|| format!("cannot create {}", to.display()))?;
    let mut out = Sink {
        writer: BufWriter::with_capacity(1 << 20, file),
        hasher: Hasher::new(),
        written: 0,
    };
    let mut kind = None;
    let policy = client.retry_policy().clone();
    let mut failures = 0;
    let mut progress = Progress::new(&artifact.name, artifact.size_in_bytes, progress_every());
    loop {
        let err = match fetch(
            client,
            &url,
            &mut out,
            &mut kind,
            &artifact.name,
            &mut progress,
        )
        .await
        {
            Ok(()) => break,
            Err(e) => e,
        };
        if failures >= policy.retries {
            return Err(anyhow::Error::new(err)).with_context(|| {
                format!(
                    "download of artifact `{}` failed after {} attempts",
                    artifact.name,
                    failures + 1
                )
            });
        }
        failures += 1;
        if matches!(err.status(), Some(403 | 404 | 410)) {
            // Real blob storage answers these once the signature has expired: ask the API for
            // a new URL instead of failing.
            crate::runner::info(&format!(
                "the download URL stopped working ({err}); asking GitHub for a fresh one"
            ));
            url = fresh_url().await?;
            continue;
        }
        if !err.is_retryable() {
            return Err(anyhow::Error::new(err))
                .with_context(|| format!("cannot download artifact `{}`", artifact.name));
        }
        let wait = policy.delay(failures, err.retry_after());
        crate::runner::info(&format!(
            "download of `{}` interrupted after {} bytes ({err}); retrying in {:.1}s (attempt {} of {})",
            artifact.name,
            out.written,
            wait.as_secs_f64(),
            failures + 1,
            policy.retries + 1
        ));
        tokio::time::sleep(wait).await;
    }
    out.writer
        .flush()
        .await
        .with_context(|| format!("cannot write {}", to.display()))?;
    Ok(Downloaded {
        digest: out.hasher.finish(),
        bytes: out.written,
        kind: kind.unwrap_or(BlobKind::Zip),
    })
}

/// The staging file and the running hash, always in step.
struct Sink {
    writer: BufWriter<File>,
    hasher: Hasher,
    written: u64,
}

impl Sink {
    async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(chunk).await?;
        self.hasher.update(chunk);
        self.written += chunk.len() as u64;
        Ok(())
    }

    /// Throws away what was written, for a host that answered a `Range` request with the whole
    /// body.
    async fn restart(&mut self) -> std::io::Result<()> {
        self.writer.flush().await?;
        let f = self.writer.get_mut();
        f.set_len(0).await?;
        f.seek(std::io::SeekFrom::Start(0)).await?;
        self.hasher = Hasher::new();
        self.written = 0;
        Ok(())
    }
}

/// The periodic "so far" line of one download.
struct Progress {
    name: String,
    /// `size_in_bytes` from the API: only a hint, the blob may turn out larger or smaller.
    total: u64,
    every: Duration,
    next: Instant,
    /// Bytes and time at the previous report, for the rate since then.
    last: (u64, Instant),
}

impl Progress {
    fn new(name: &str, total: u64, every: Duration) -> Progress {
        let now = Instant::now();
        Progress {
            // The name comes from the API; a line break in it would end the log line early.
            name: name.chars().filter(|c| !c.is_control()).collect(),
            total,
            every,
            next: now + every,
            last: (0, now),
        }
    }

    fn report(&mut self, written: u64) {
        let now = Instant::now();
        let (before, then) = self.last;
        let secs = now.duration_since(then).as_secs_f64();
        // A restart from byte 0 makes `written` smaller than before: no negative rates.
        let rate = match written.checked_sub(before) {
            Some(delta) if secs > 0.0 => delta as f64 / secs,
            _ => 0.0,
        };
        crate::runner::info(&progress_line(&self.name, written, self.total, rate));
        self.last = (written, now);
        // From now, not from the missed deadline: after a long pause, one line, not a burst.
        self.next = now + self.every;
    }
}

/// `dist: 120.0 MiB of 300.0 MiB (40%), 85.3 MB/s`; without the total when the API gave none.
fn progress_line(name: &str, written: u64, total: u64, bytes_per_sec: f64) -> String {
    let so_far = human_size(written);
    let rate = bytes_per_sec / 1e6;
    if total == 0 {
        return format!("{name}: {so_far}, {rate:.1} MB/s");
    }
    let percent = (u128::from(written) * 100 / u128::from(total)).min(100);
    format!(
        "{name}: {so_far} of {} ({percent}%), {rate:.1} MB/s",
        human_size(total)
    )
}

/// The progress interval. `FETCH_ARTIFACT_PROGRESS_MS` shortens it for the test suite.
fn progress_every() -> Duration {
    std::env::var("FETCH_ARTIFACT_PROGRESS_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        // Zero would report on every wake-up: ignore it like a value that does not parse.
        .filter(|ms| *ms > 0)
        .map_or(PROGRESS_EVERY, Duration::from_millis)
}

/// One GET of the blob, from `out.written` on, appended to `out`.
async fn fetch(
    client: &Client,
    url: &str,
    out: &mut Sink,
    kind: &mut Option<BlobKind>,
    artifact_name: &str,
    progress: &mut Progress,
) -> Result<(), ApiError> {
    let shown = crate::github::redact_query(url);
    let local = |e: std::io::Error| ApiError::Transport {
        url: shown.clone(),
        detail: format!("cannot write the staging file: {e}"),
        retryable: false,
    };
    let mut resp = client.get_blob(url, out.written).await?;
    if out.written > 0 {
        let resumed = resp.status() == reqwest::StatusCode::PARTIAL_CONTENT
            && range_start(resp.headers()) == Some(out.written);
        if !resumed {
            crate::runner::info("the download host does not resume; starting over from byte 0");
            out.restart().await.map_err(local)?;
        }
    }
    if kind.is_none() {
        *kind = Some(classify(resp.headers(), artifact_name));
    }
    // A timer beside the reads, not a check per chunk: a download that has stalled still
    // reports, and its falling rate is what the reader of the log needs to see.
    let tick = tokio::time::sleep_until(progress.next);
    tokio::pin!(tick);
    loop {
        let next = tokio::select! {
            // `chunk` only takes data out of the body when it is ready, so dropping it for the
            // timer loses nothing.
            next = resp.chunk() => next,
            () = &mut tick => {
                progress.report(out.written);
                tick.as_mut().reset(progress.next);
                continue;
            }
        };
        match next {
            Ok(Some(chunk)) => {
                if crate::is_cancelled() {
                    return Err(local(std::io::Error::other("cancelled")));
                }
                out.write(&chunk).await.map_err(local)?
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err(ApiError::transport(&shown, e)),
        }
    }
}

/// The first byte of a `Content-Range: bytes N-M/T` answer.
fn range_start(headers: &HeaderMap) -> Option<u64> {
    let v = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let range = v.trim().strip_prefix("bytes ")?;
    range.split_once('-')?.0.trim().parse().ok()
}

/// Zip or single file, by the blob's `Content-Type`. A missing type means zip: that is what
/// every artifact was before `archive: false` existed.
pub fn classify(headers: &HeaderMap, artifact_name: &str) -> BlobKind {
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match mime.as_deref() {
        None
        | Some(
            ""
            | "application/zip"
            | "application/x-zip"
            | "application/x-zip-compressed"
            | "application/zip-compressed"
            | "multipart/x-zip",
        ) => BlobKind::Zip,
        Some(_) => {
            let from_header = headers
                .get(header::CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok())
                .and_then(disposition_filename);
            let name = from_header
                .as_deref()
                .and_then(base_name)
                .or_else(|| base_name(artifact_name))
                .unwrap_or_else(|| "artifact".to_owned());
            BlobKind::File { name }
        }
    }
}

/// The file name of a `Content-Disposition` header, preferring the RFC 6266 `filename*`.
fn disposition_filename(value: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for param in value.split(';').skip(1) {
        let Some((key, val)) = param.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let val = val.trim();
        if key == "filename*" {
            // charset'language'percent-encoded
            let mut parts = val.splitn(3, '\'');
            let charset = parts.next().unwrap_or("");
            let encoded = parts.nth(1);
            if charset.eq_ignore_ascii_case("utf-8") {
                extended = encoded.and_then(percent_decode);
            }
        } else if key == "filename" {
            let unquoted = val
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(|v| v.replace("\\\"", "\"").replace("\\\\", "\\"))
                .unwrap_or_else(|| val.to_owned());
            plain = Some(unquoted);
        }
    }
    extended.or(plain)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Reduces a name to a plain base name that is safe to create in the destination: the last
/// path segment (either separator), no control characters, not `.` or `..`.
pub fn base_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next()?.trim();
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    match clean.as_str() {
        "" | "." | ".." => None,
        _ => Some(clean),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn classifies_by_content_type() {
        assert_eq!(classify(&headers(&[]), "a"), BlobKind::Zip);
        assert_eq!(
            classify(
                &headers(&[("content-type", "Application/ZIP; charset=binary")]),
                "a"
            ),
            BlobKind::Zip
        );
        assert_eq!(
            classify(
                &headers(&[("content-type", "application/x-zip-compressed")]),
                "a"
            ),
            BlobKind::Zip
        );
        let h = headers(&[
            ("content-type", "application/octet-stream"),
            (
                "content-disposition",
                "attachment; filename=\"../../etc/app.tar.gz\"",
            ),
        ]);
        assert_eq!(
            classify(&h, "a"),
            BlobKind::File {
                name: "app.tar.gz".into()
            }
        );
        let h = headers(&[
            ("content-type", "text/plain"),
            (
                "content-disposition",
                "attachment; filename=\"x.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt",
            ),
        ]);
        assert_eq!(
            classify(&h, "a"),
            BlobKind::File {
                name: "résumé.txt".into()
            }
        );
        let h = headers(&[("content-type", "text/plain")]);
        assert_eq!(
            classify(&h, "notes"),
            BlobKind::File {
                name: "notes".into()
            }
        );
        let h = headers(&[
            ("content-type", "text/plain"),
            ("content-disposition", "attachment; filename=\"..\""),
        ]);
        assert_eq!(classify(&h, "n"), BlobKind::File { name: "n".into() });
    }

    #[test]
    fn base_names() {
        assert_eq!(base_name("C:\\x\\y.bin").as_deref(), Some("y.bin"));
        assert_eq!(base_name("a/"), None);
        assert_eq!(base_name(".."), None);
        assert_eq!(base_name("a\u{7}b").as_deref(), Some("ab"));
    }

    #[test]
    fn progress_lines() {
        assert_eq!(
            progress_line("dist", 120 << 20, 300 << 20, 85.3e6),
            "dist: 120.0 MiB of 300.0 MiB (40%), 85.3 MB/s"
        );
        // `size_in_bytes` smaller than the blob: never past 100%.
        assert_eq!(
            progress_line("dist", 3 << 20, 2 << 20, 0.0),
            "dist: 3.0 MiB of 2.0 MiB (100%), 0.0 MB/s"
        );
        assert_eq!(
            progress_line("dist", 1536, 0, 2e5),
            "dist: 1.5 KiB, 0.2 MB/s"
        );
        assert_eq!(Progress::new("a\r\nb", 1, PROGRESS_EVERY).name, "ab");
    }

    #[test]
    fn content_range() {
        assert_eq!(
            range_start(&headers(&[("content-range", "bytes 100-199/200")])),
            Some(100)
        );
        assert_eq!(
            range_start(&headers(&[("content-range", "bytes */200")])),
            None
        );
    }
}
