//! fetch-artifact: fetch an artifact of another workflow run, verify its digest, extract it.
//!
//! ```text
//! inputs ──> locate ──> download (stream + hash) ──> verify ──> extract ──> report
//! ```
//! Nothing reaches the destination before the digest is verified: the download and the
//! extraction both happen in a staging directory on the destination's filesystem, and only a
//! verified, fully extracted tree is moved into place.

pub mod digest;
pub mod download;
pub mod extract;
pub mod github;
pub mod inputs;
pub mod locate;
pub mod report;
pub mod runner;
pub mod staging;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::digest::{Digest, Verification};
use crate::download::{BlobKind, Downloaded};
use crate::extract::Extracted;
use crate::github::{Artifact, Client, RetryPolicy, RunId};
use crate::inputs::Inputs;
use crate::staging::Staging;

/// One artifact, fetched and in place.
#[derive(Debug)]
pub struct Fetched {
    pub artifact: Artifact,
    pub run_id: Option<RunId>,
    pub digest: Digest,
    pub verification: Verification,
    pub bytes: u64,
    /// The destination directory, or the file for a single-file (`archive: false`) artifact.
    pub path: PathBuf,
    pub extracted: Option<Extracted>,
}

/// Runs the pipeline for validated inputs.
pub async fn run(inputs: &Inputs) -> Result<Fetched> {
    let client = Client::new(
        &inputs.api_url,
        inputs.token.clone(),
        retry_policy(inputs.retries),
        read_timeout(),
    )?;
    let artifact = locate::locate(&client, &inputs.repository, &inputs.name, inputs.run_id).await?;
    let run_id = inputs.run_id.or(artifact.run_id());
    runner::group(&format!(
        "Fetching artifact `{}` (id {}, {} bytes){} from {}",
        artifact.name,
        artifact.id,
        artifact.size_in_bytes,
        run_id.map(|r| format!(" of run {r}")).unwrap_or_default(),
        inputs.repository
    ));
    let fetched = fetch(&client, inputs, artifact, run_id).await;
    runner::end_group();
    fetched
}

async fn fetch(
    client: &Client,
    inputs: &Inputs,
    artifact: Artifact,
    run_id: Option<RunId>,
) -> Result<Fetched> {
    let dest = &inputs.path;
    let staging = Staging::create(dest)
        .with_context(|| format!("cannot prepare the destination {}", dest.display()))?;
    let blob = staging.download_file();
    let downloaded = download::download(client, &inputs.repository, &artifact, &blob).await?;
    let verification = verify(&artifact, &downloaded)?;

    let (path, extracted) = match &downloaded.kind {
        BlobKind::Zip => {
            let tree = staging.tree();
            let limits = inputs.limits.clone();
            let stats =
                tokio::task::spawn_blocking(move || extract::extract(&blob, &tree, &limits))
                    .await
                    .context("extraction stopped unexpectedly")?
                    .with_context(|| format!("cannot extract artifact `{}`", artifact.name))?;
            (dest.clone(), Some(stats))
        }
        BlobKind::File { name } => {
            std::fs::rename(&blob, staging.tree().join(name))
                .with_context(|| format!("cannot stage {name}"))?;
            (dest.join(name), None)
        }
    };
    staging.commit(dest).with_context(|| {
        format!(
            "cannot move artifact `{}` into {}",
            artifact.name,
            dest.display()
        )
    })?;
    match &extracted {
        Some(x) => runner::info(&format!(
            "extracted {} files ({} bytes) into {}",
            x.files,
            x.bytes,
            dest.display()
        )),
        None => runner::info(&format!("saved {}", path.display())),
    }
    Ok(Fetched {
        artifact,
        run_id,
        digest: downloaded.digest,
        verification,
        bytes: downloaded.bytes,
        path,
        extracted,
    })
}

/// Checks the downloaded bytes against the published digest.
fn verify(artifact: &Artifact, downloaded: &Downloaded) -> Result<Verification> {
    let expected = match artifact.digest.as_deref() {
        None => None,
        Some(raw) => Some(raw.parse::<Digest>().with_context(|| {
            format!(
                "GitHub published digest `{raw}` for artifact `{}`, which this version cannot \
                 check; refusing to use unverified bytes (upgrade fetch-artifact)",
                artifact.name
            )
        })?),
    };
    let verification = digest::verify(&artifact.name, expected.as_ref(), &downloaded.digest)?;
    match verification {
        Verification::Verified => runner::info(&format!(
            "digest verified: {} ({} bytes)",
            downloaded.digest, downloaded.bytes
        )),
        Verification::Unverifiable => runner::warning(&format!(
            "artifact `{}` has no published digest (uploaded before GitHub computed them), so \
             its {} bytes could not be verified; computed {}",
            artifact.name, downloaded.bytes, downloaded.digest
        )),
    }
    Ok(verification)
}

/// How long a read may stall before the request counts as failed (and is retried or resumed).
/// `FETCH_ARTIFACT_READ_TIMEOUT_MS` shortens it for the test suite.
fn read_timeout() -> Duration {
    std::env::var("FETCH_ARTIFACT_READ_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(Duration::from_secs(60), Duration::from_millis)
}

/// Retry settings. `FETCH_ARTIFACT_RETRY_BASE_MS` shortens the backoff for the test suite.
fn retry_policy(retries: u32) -> RetryPolicy {
    let mut policy = RetryPolicy {
        retries,
        ..RetryPolicy::default()
    };
    if let Some(ms) = std::env::var("FETCH_ARTIFACT_RETRY_BASE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        policy.base = Duration::from_millis(ms);
    }
    policy
}

/// Runs the pipeline on its own runtime and reports, stopping cleanly (staging removed) on
/// SIGINT or SIGTERM, which is how the runner cancels a job.
pub fn run_to_completion(inputs: &Inputs, files: &runner::RunnerFiles) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let pipeline = run(inputs);
        tokio::pin!(pipeline);
        let fetched = tokio::select! {
            r = &mut pipeline => r?,
            signal = cancelled() => {
                // Let the pipeline notice and unwind on its own (extraction runs on a blocking
                // thread that only stops at a check), so staging is removed after the last
                // write, not during it. A stalled network read is simply dropped.
                CANCELLED.store(true, Ordering::SeqCst);
                let _ = tokio::time::timeout(Duration::from_secs(10), &mut pipeline).await;
                anyhow::bail!("cancelled by {signal}; the destination was left as it was")
            }
        };
        report::report(&fetched, &inputs.path, files)
    })
}

/// Set when the runner cancels the job; long loops check it.
pub static CANCELLED: AtomicBool = AtomicBool::new(false);

pub fn is_cancelled() -> bool {
    CANCELLED.load(Ordering::Relaxed)
}

async fn cancelled() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
