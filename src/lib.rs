//! fetch-artifact: fetch an artifact of another workflow run, verify its digest, extract it.
//!
//! ```text
//! inputs ──> locate ──> download (stream + hash) ──> verify ──> extract ──> report
//! ```
//! Nothing reaches the destination before the digest is verified: the download and the
//! extraction both happen in a staging directory on the destination's filesystem, and only a
//! verified, fully extracted tree is moved into place.

pub mod cli;
pub mod digest;
pub mod download;
pub mod extract;
pub mod github;
pub mod inputs;
pub mod locate;
mod random;
pub mod report;
pub mod runner;
pub mod select;
pub mod staging;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::digest::{Digest, Verification};
use crate::download::{BlobKind, Downloaded};
use crate::extract::Extracted;
use crate::github::{Artifact, Client, RetryPolicy, RunId, WorkflowRun};
use crate::inputs::{IfNone, Inputs};
use crate::locate::NothingFound;
use crate::staging::Staging;

/// What a run of the action did (or, with `dry-run`, would do).
#[derive(Debug)]
pub struct Outcome {
    pub run: Option<WorkflowRun>,
    pub run_id: Option<RunId>,
    pub dest: PathBuf,
    pub items: Vec<Item>,
    /// Why nothing was fetched, when nothing was (with `if-no-artifact-found: warn|ignore`).
    pub nothing_found: Option<String>,
    pub dry_run: bool,
    /// Deletions that failed (`delete-after-download`); the downloads themselves stand.
    pub delete_errors: Vec<String>,
}

/// One artifact, fetched and in place.
#[derive(Debug)]
pub struct Item {
    pub artifact: Artifact,
    /// Where it went: the directory, or the file for a single-file (`archive: false`) or
    /// `skip-unpack` artifact.
    pub path: PathBuf,
    /// The digest computed while downloading (none in a dry run).
    pub digest: Option<Digest>,
    pub verification: Option<Verification>,
    pub bytes: u64,
    pub extracted: Option<Extracted>,
    pub deleted: bool,
}

/// Runs the pipeline for validated inputs.
pub async fn run(inputs: &Inputs) -> Result<Outcome> {
    let client = Arc::new(Client::new(
        &inputs.api_url,
        inputs.token.clone(),
        retry_policy(inputs.retries),
        read_timeout(),
    )?);
    let located = match locate::locate(&client, inputs).await {
        Ok(l) => l,
        Err(e) => return nothing_found(inputs, e),
    };
    let run_id = located.run.as_ref().map(|r| r.id).or_else(|| {
        let first = located.artifacts.first()?.run_id();
        located
            .artifacts
            .iter()
            .all(|a| a.run_id() == first)
            .then_some(first)?
    });
    let targets: Vec<(Artifact, PathBuf)> = located
        .artifacts
        .into_iter()
        .map(|a| {
            let dest = destination(inputs, &a);
            (a, dest)
        })
        .collect();

    if inputs.dry_run {
        runner::info(&format!(
            "dry run: would fetch {} artifact(s):",
            targets.len()
        ));
        let items = targets
            .into_iter()
            .map(|(artifact, dest)| {
                runner::info(&format!(
                    "  `{}` (id {}, {} bytes) into {}",
                    artifact.name,
                    artifact.id,
                    artifact.size_in_bytes,
                    dest.display()
                ));
                Item {
                    bytes: artifact.size_in_bytes,
                    artifact,
                    path: dest,
                    digest: None,
                    verification: None,
                    extracted: None,
                    deleted: false,
                }
            })
            .collect();
        return Ok(Outcome {
            run: located.run,
            run_id,
            dest: inputs.path.clone(),
            items,
            nothing_found: None,
            dry_run: true,
            delete_errors: Vec::new(),
        });
    }

    let title = match targets.as_slice() {
        [(a, _)] => format!(
            "Fetching artifact `{}` (id {}, {} bytes){} from {}",
            a.name,
            a.id,
            a.size_in_bytes,
            run_id.map(|r| format!(" of run {r}")).unwrap_or_default(),
            inputs.repository
        ),
        many => format!(
            "Fetching {} artifacts{} from {}, {} at a time",
            many.len(),
            run_id.map(|r| format!(" of run {r}")).unwrap_or_default(),
            inputs.repository,
            inputs.parallel_downloads.min(many.len())
        ),
    };
    runner::group(&title);
    let prepared = prepare_all(&client, inputs, targets).await;
    let placed = prepared.and_then(|p| commit_all(p, inputs.merge_multiple));
    runner::end_group();
    let mut items = placed?;

    let mut delete_errors = Vec::new();
    if inputs.delete_after {
        for item in &mut items {
            let url = client.repo_url(
                &inputs.repository,
                &format!("/actions/artifacts/{}", item.artifact.id),
            );
            match client.delete(&url).await {
                Ok(()) => {
                    item.deleted = true;
                    runner::info(&format!("deleted artifact `{}` (id {})", item.artifact.name, item.artifact.id));
                }
                Err(e) => delete_errors.push(format!(
                    "cannot delete artifact `{}` (id {}) after downloading it (the files are in place): {e}. \
                     Deleting needs the `actions: write` permission on {}",
                    item.artifact.name, item.artifact.id, inputs.repository
                )),
            }
        }
    }
    Ok(Outcome {
        run: located.run,
        run_id,
        dest: inputs.path.clone(),
        items,
        nothing_found: None,
        dry_run: false,
        delete_errors,
    })
}

/// Applies `if-no-artifact-found` to a locate error that means "nothing matched".
fn nothing_found(inputs: &Inputs, e: anyhow::Error) -> Result<Outcome> {
    if inputs.if_none == IfNone::Fail || !e.is::<NothingFound>() {
        return Err(e);
    }
    let why = format!("{e:#}");
    match inputs.if_none {
        IfNone::Warn => runner::warning(&format!("{why} (if-no-artifact-found: warn)")),
        _ => runner::info(&format!("{why} (if-no-artifact-found: ignore)")),
    }
    Ok(Outcome {
        run: None,
        run_id: None,
        dest: inputs.path.clone(),
        items: Vec::new(),
        nothing_found: Some(why),
        dry_run: inputs.dry_run,
        delete_errors: Vec::new(),
    })
}

/// Where an artifact goes: an exact `name` (or `merge-multiple`) lands straight in `path`;
/// anything that may match several artifacts gets `path/<artifact name>`.
fn destination(inputs: &Inputs, artifact: &Artifact) -> PathBuf {
    // A kept zip is already one file named after its artifact: `path/<name>.zip`.
    if inputs.selection.is_single_name() || inputs.merge_multiple || inputs.skip_unpack {
        inputs.path.clone()
    } else {
        // The name becomes one path segment, never a path: `a/../b` must not climb.
        let segment = download::base_name(&artifact.name.replace('/', "_"))
            .unwrap_or_else(|| format!("artifact-{}", artifact.id));
        inputs.path.join(segment)
    }
}

/// An artifact downloaded, verified and unpacked in its staging directory, not yet in place.
struct Prepared {
    item: Item,
    dest: PathBuf,
    staging: Staging,
}

/// Fetches every target, `parallel-downloads` at a time over one connection pool. All of them
/// must succeed before anything is moved into place.
async fn prepare_all(
    client: &Arc<Client>,
    inputs: &Inputs,
    targets: Vec<(Artifact, PathBuf)>,
) -> Result<Vec<Prepared>> {
    let permits = Arc::new(tokio::sync::Semaphore::new(
        inputs.parallel_downloads.max(1),
    ));
    let shared = Arc::new(inputs.clone());
    let mut tasks = tokio::task::JoinSet::new();
    let count = targets.len();
    for (index, (artifact, dest)) in targets.into_iter().enumerate() {
        let (client, inputs, permits) = (client.clone(), shared.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (index, prepare(&client, &inputs, artifact, dest).await)
        });
    }
    let mut done: Vec<Option<Prepared>> = (0..count).map(|_| None).collect();
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, Ok(p))) => done[i] = Some(p),
            Ok((_, Err(e))) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(anyhow::anyhow!("a download task failed: {e}"));
            }
        }
    }
    match first_error {
        // Dropping the prepared ones removes their staging directories.
        Some(e) => Err(e),
        None => Ok(done.into_iter().flatten().collect()),
    }
}

async fn prepare(
    client: &Client,
    inputs: &Inputs,
    artifact: Artifact,
    dest: PathBuf,
) -> Result<Prepared> {
    let staging = Staging::create(&dest, inputs.owner)
        .with_context(|| format!("cannot prepare the destination {}", dest.display()))?;
    let blob = staging.download_file();
    let downloaded = download::download(client, &inputs.repository, &artifact, &blob).await?;
    let verification = verify(&artifact, &downloaded)?;

    let (path, extracted) = match &downloaded.kind {
        BlobKind::Zip if inputs.skip_unpack => {
            let name = format!(
                "{}.zip",
                download::base_name(&artifact.name.replace('/', "_"))
                    .unwrap_or_else(|| "artifact".into())
            );
            std::fs::rename(&blob, staging.tree().join(&name))
                .with_context(|| format!("cannot stage {name}"))?;
            (dest.join(name), None)
        }
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
    Ok(Prepared {
        item: Item {
            artifact,
            path,
            digest: Some(downloaded.digest),
            verification: Some(verification),
            bytes: downloaded.bytes,
            extracted,
            deleted: false,
        },
        dest,
        staging,
    })
}

/// Moves every prepared artifact into place, oldest first, so with `merge-multiple` the
/// newest artifact's file wins; says when one artifact's file replaces another's.
fn commit_all(prepared: Vec<Prepared>, merge: bool) -> Result<Vec<Item>> {
    // Every conflict with what the destination already holds is found before anything moves.
    for p in &prepared {
        p.staging.check(&p.dest).with_context(|| {
            format!(
                "cannot move artifact `{}` into {}",
                p.item.artifact.name,
                p.dest.display()
            )
        })?;
    }
    // Worked out from the staged trees before anything moves, said once everything has.
    let mut replaced = Vec::new();
    if merge && prepared.len() > 1 {
        let mut from: HashMap<PathBuf, &str> = HashMap::new();
        for p in &prepared {
            let name = p.item.artifact.name.as_str();
            for rel in p.staging.files().context("cannot list a staged artifact")? {
                let path = p.dest.join(rel);
                if let Some(prev) = from.insert(path.clone(), name)
                    && prev != name
                {
                    replaced.push(format!(
                        "{} from `{name}` replaces the one from `{prev}` (merge-multiple: newest wins)",
                        path.display()
                    ));
                }
            }
        }
    }
    let mut items = Vec::with_capacity(prepared.len());
    for p in prepared {
        let name = p.item.artifact.name.clone();
        p.staging
            .commit(&p.dest)
            .with_context(|| format!("cannot move artifact `{name}` into {}", p.dest.display()))?;
        match &p.item.extracted {
            Some(x) => runner::info(&format!(
                "`{name}`: extracted {} files ({} bytes) into {}",
                x.files,
                x.bytes,
                p.dest.display()
            )),
            None => runner::info(&format!("`{name}`: saved {}", p.item.path.display())),
        }
        items.push(p.item);
    }
    for line in &replaced {
        runner::info(line);
    }
    Ok(items)
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
            "`{}`: digest verified: {} ({} bytes)",
            artifact.name, downloaded.digest, downloaded.bytes
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
        report::report(&fetched, files)?;
        if let Some(why) = fetched.delete_errors.first() {
            anyhow::bail!("{why}");
        }
        Ok(())
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
