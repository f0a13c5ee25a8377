//! Locate: find the artifact to fetch — by name in a given run, or the newest of that name in
//! the repository.

use anyhow::{Context, Result, bail};

use crate::github::{Artifact, ArtifactPage, Client, Repo, RunId};
use crate::inputs::ArtifactName;

/// Finds the artifact `name` in `run` (or, without a run, across the repository).
pub async fn locate(
    client: &Client,
    repo: &Repo,
    name: &ArtifactName,
    run: Option<RunId>,
) -> Result<Artifact> {
    match run {
        Some(run) => in_run(client, repo, name, run).await,
        None => in_repository(client, repo, name).await,
    }
}

async fn in_run(client: &Client, repo: &Repo, name: &ArtifactName, run: RunId) -> Result<Artifact> {
    let url = client.repo_url(repo, &format!("/actions/runs/{run}/artifacts"));
    let matching = list(client, &url, &[("name", name.as_str())])
        .await
        .with_context(|| format!("cannot list the artifacts of run {run} in {repo}"))?;
    // The name filter is the server's; check it here too rather than trust it.
    let matching: Vec<Artifact> = matching
        .into_iter()
        .filter(|a| a.name == name.as_str())
        .collect();
    if matching.is_empty() {
        let all = list(client, &url, &[])
            .await
            .with_context(|| format!("cannot list the artifacts of run {run} in {repo}"))?;
        bail!("{}", not_in_run(name, run, repo, &all));
    }
    newest_live(name, matching, &format!("run {run} in {repo}"))
}

async fn in_repository(client: &Client, repo: &Repo, name: &ArtifactName) -> Result<Artifact> {
    let url = client.repo_url(repo, "/actions/artifacts");
    let matching: Vec<Artifact> = list(client, &url, &[("name", name.as_str())])
        .await
        .with_context(|| format!("cannot list the artifacts of {repo}"))?
        .into_iter()
        .filter(|a| a.name == name.as_str())
        .collect();
    if matching.is_empty() {
        bail!(
            "no artifact named `{name}` in {repo}. Check the name (it is case-sensitive), or pass \
             `run-id` to fetch from a specific run"
        );
    }
    newest_live(name, matching, repo.to_string().as_str())
}

async fn list(client: &Client, url: &str, query: &[(&str, &str)]) -> Result<Vec<Artifact>> {
    let pages: Vec<ArtifactPage> = client.get_all_pages(url, query).await?;
    Ok(pages.into_iter().flat_map(|p| p.artifacts).collect())
}

/// Picks the newest artifact that has not expired; if all have, says when the newest did.
fn newest_live(name: &ArtifactName, candidates: Vec<Artifact>, place: &str) -> Result<Artifact> {
    let newest_expired = candidates
        .iter()
        .filter(|a| a.expired)
        .max_by(|a, b| a.newness().cmp(&b.newness()))
        .cloned();
    match candidates
        .into_iter()
        .filter(|a| !a.expired)
        .max_by(|a, b| a.newness().cmp(&b.newness()))
    {
        Some(a) => Ok(a),
        None => {
            let a = newest_expired.context("no candidates")?;
            bail!("{}", expired_message(name.as_str(), &a, place))
        }
    }
}

/// "artifact `dist` expired on …; re-run …" — shared with download, which can learn of expiry
/// from a 410 after listing said it was alive.
pub fn expired_message(name: &str, artifact: &Artifact, place: &str) -> String {
    let when = artifact
        .expires_at
        .as_deref()
        .map(|t| format!(" on {}", t.replace('T', " ").replace('Z', " UTC")))
        .unwrap_or_default();
    let rerun = match artifact.run_id() {
        Some(run) => format!("re-run workflow run {run} to upload it again"),
        None => "re-run the workflow that uploads it".to_owned(),
    };
    format!(
        "artifact `{name}` (id {}) in {place} expired{when}; {rerun}, or raise its retention-days",
        artifact.id
    )
}

fn not_in_run(name: &ArtifactName, run: RunId, repo: &Repo, all: &[Artifact]) -> String {
    if all.is_empty() {
        return format!(
            "run {run} in {repo} has no artifacts at all (none uploaded, all deleted, or the run \
             is still in progress), so `{name}` cannot be fetched from it"
        );
    }
    let mut names: Vec<&str> = all.iter().map(|a| a.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let listed = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "run {run} in {repo} has no artifact named `{name}`; it has: {listed}. Names are \
         case-sensitive"
    )
}
