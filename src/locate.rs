//! Locate: find the run (given, or searched for with the run filters) and the artifacts to
//! fetch from it (by name, pattern, regular expression or id), or — with no run and no filter —
//! the newest artifacts of that name across the repository.

use anyhow::{Context, Result};

use crate::github::{ApiError, Artifact, ArtifactPage, Client, Repo, RunId, RunPage, WorkflowRun};
use crate::inputs::{Inputs, RunFilter};
use crate::runner;
use crate::select::{Chosen, Selection, choose};

/// What to fetch.
#[derive(Debug)]
pub struct Located {
    /// The run the artifacts come from, when there is one run.
    pub run: Option<WorkflowRun>,
    /// The artifacts, oldest first (the order `merge-multiple` applies them in).
    pub artifacts: Vec<Artifact>,
}

/// Nothing matched: the caller applies `if-no-artifact-found` to this, and fails on anything
/// else (a network error is never "not found").
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NothingFound(pub String);

pub async fn locate(client: &Client, inputs: &Inputs) -> Result<Located> {
    let repo = &inputs.repository;
    let sel = &inputs.selection;
    if let Selection::Ids(ids) = sel {
        return by_ids(client, repo, ids, inputs.run_id).await;
    }
    if let Some(run_id) = inputs.run_id {
        let ignored = inputs.runs.given();
        if !ignored.is_empty() {
            runner::info(&format!(
                "run-id {run_id} is given, so these run filters are ignored: {}",
                ignored.join(", ")
            ));
        }
        let run = get_run(client, repo, run_id).await?;
        if run.is_from_fork(repo) {
            warn_fork_run(&run);
        }
        let artifacts = in_run(client, repo, sel, &run).await?;
        return Ok(Located {
            run: Some(run),
            artifacts,
        });
    }
    if inputs.runs.any() {
        let (run, artifacts) = discover(client, repo, &inputs.runs, sel).await?;
        return Ok(Located {
            run: Some(run),
            artifacts,
        });
    }
    let artifacts = in_repository(client, repo, sel, inputs.runs.allow_forks).await?;
    Ok(Located {
        run: None,
        artifacts,
    })
}

async fn get_run(client: &Client, repo: &Repo, run: RunId) -> Result<WorkflowRun> {
    let url = client.repo_url(repo, &format!("/actions/runs/{run}"));
    client
        .get_json(&url)
        .await
        .with_context(|| format!("cannot read workflow run {run} of {repo}"))
}

/// The selected artifacts of `run`; an error (listing what the run does have) when none.
async fn in_run(
    client: &Client,
    repo: &Repo,
    sel: &Selection,
    run: &WorkflowRun,
) -> Result<Vec<Artifact>> {
    let all = list_run_artifacts(client, repo, run.id, sel.server_name()).await?;
    let names: Vec<Artifact> = if sel.server_name().is_none() {
        all.clone()
    } else {
        Vec::new()
    };
    let chosen = choose(sel, all);
    if !chosen.live.is_empty() {
        return Ok(chosen.live);
    }
    if !chosen.expired.is_empty() {
        return Err(
            NothingFound(expired_all(&chosen, &format!("run {} in {repo}", run.id))).into(),
        );
    }
    let everything = if sel.server_name().is_some() {
        list_run_artifacts(client, repo, run.id, None).await?
    } else {
        names
    };
    Err(NothingFound(not_in_run(sel, run.id, repo, &everything)).into())
}

async fn list_run_artifacts(
    client: &Client,
    repo: &Repo,
    run: RunId,
    name: Option<&str>,
) -> Result<Vec<Artifact>> {
    let url = client.repo_url(repo, &format!("/actions/runs/{run}/artifacts"));
    let query: Vec<(&str, &str)> = name.map(|n| ("name", n)).into_iter().collect();
    let pages: Vec<ArtifactPage> = client
        .get_all_pages(&url, &query)
        .await
        .with_context(|| format!("cannot list the artifacts of run {run} in {repo}"))?;
    Ok(pages.into_iter().flat_map(|p| p.artifacts).collect())
}

async fn in_repository(
    client: &Client,
    repo: &Repo,
    sel: &Selection,
    allow_forks: bool,
) -> Result<Vec<Artifact>> {
    let url = client.repo_url(repo, "/actions/artifacts");
    let query: Vec<(&str, &str)> = sel.server_name().map(|n| ("name", n)).into_iter().collect();
    let pages: Vec<ArtifactPage> = client
        .get_all_pages(&url, &query)
        .await
        .with_context(|| format!("cannot list the artifacts of {repo}"))?;
    let mut candidates: Vec<Artifact> = pages.into_iter().flat_map(|p| p.artifacts).collect();
    // Dropped before choosing, so a newer fork upload cannot shadow the repository's own.
    if !allow_forks {
        let before = candidates.len();
        candidates.retain(|a| !(sel.matches(a) && a.is_from_fork()));
        let skipped = before - candidates.len();
        if skipped > 0 {
            runner::info(&format!(
                "skipped {skipped} artifact{} uploaded by runs of a fork's code (anyone can write those; set `allow-forks: true` to accept them)",
                if skipped == 1 { "" } else { "s" }
            ));
        }
    }
    let chosen = choose(sel, candidates);
    if !chosen.live.is_empty() {
        return Ok(chosen.live);
    }
    if !chosen.expired.is_empty() {
        return Err(NothingFound(expired_all(&chosen, &repo.to_string())).into());
    }
    Err(NothingFound(format!(
        "no artifact {} in {repo}. Check the name (it is case-sensitive), or pass `run-id` or \
         run filters (`workflow`, `branch`, …) to fetch from a specific run",
        sel.describe()
    ))
    .into())
}

/// `artifact-ids`: each fetched by id. Their run is the artifacts' own (when they share one).
async fn by_ids(
    client: &Client,
    repo: &Repo,
    ids: &[crate::github::ArtifactId],
    run_id: Option<RunId>,
) -> Result<Located> {
    let mut artifacts = Vec::new();
    for id in ids {
        let url = client.repo_url(repo, &format!("/actions/artifacts/{id}"));
        match client.get_json::<Artifact>(&url).await {
            Ok(a) => artifacts.push(a),
            Err(ApiError::NotFound { .. }) => {
                return Err(NothingFound(format!(
                    "artifact id {id} does not exist in {repo} (deleted, or a wrong id)"
                ))
                .into());
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read artifact {id} of {repo}"));
            }
        }
    }
    if let Some(run) = run_id
        && let Some(a) = artifacts
            .iter()
            .find(|a| a.run_id().is_some_and(|r| r != run))
    {
        return Err(NothingFound(format!(
            "artifact {} (`{}`) belongs to run {}, not to run-id {run}",
            a.id,
            a.name,
            a.run_id().map(|r| r.to_string()).unwrap_or_default()
        ))
        .into());
    }
    if let Some(a) = artifacts.iter().find(|a| a.expired) {
        return Err(NothingFound(expired_message(&a.name, a, &repo.to_string())).into());
    }
    for a in artifacts.iter().filter(|a| a.is_from_fork()) {
        runner::warning(&format!(
            "artifact {} (`{}`) was uploaded by a run of a fork's code: treat its files as \
             untrusted input",
            a.id, a.name
        ));
    }
    artifacts.sort_by(|a, b| a.newness().cmp(&b.newness()));
    let first_run = artifacts.first().and_then(|a| a.run_id());
    let run = match first_run {
        Some(r) if artifacts.iter().all(|a| a.run_id() == Some(r)) => {
            Some(get_run(client, repo, r).await?)
        }
        _ => None,
    };
    Ok(Located { run, artifacts })
}

/// GitHub caps filtered run listings at 1,000 results.
const FILTERED_RUN_CAP: u64 = 1000;

/// Walks the matching runs newest first and picks one: the newest, or with `search-artifacts`
/// the newest that has the wanted artifacts.
async fn discover(
    client: &Client,
    repo: &Repo,
    filter: &RunFilter,
    sel: &Selection,
) -> Result<(WorkflowRun, Vec<Artifact>)> {
    let (branch, head_sha) = resolve_refs(client, repo, filter).await?;
    let url = match &filter.workflow {
        Some(w) => client.repo_url(repo, &format!("/actions/workflows/{}/runs", url_segment(w))),
        None => client.repo_url(repo, "/actions/runs"),
    };
    // The server filters what it filters reliably; everything is checked again below.
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(b) = &branch {
        query.push(("branch", b));
    }
    if let Some(e) = &filter.event {
        query.push(("event", e));
    }
    if let Some(sha) = &head_sha
        && sha.len() == 40
    {
        query.push(("head_sha", sha));
    }
    let describe = describe_filter(filter, branch.as_deref(), head_sha.as_deref());
    let context = || format!("cannot list the workflow runs of {repo}");

    let (mut page, mut next): (RunPage, _) = client
        .first_page(&url, &query)
        .await
        .with_context(context)?;
    let mut seen: u64 = 0;
    let mut looked_at: u32 = 0;
    let mut forks_skipped = 0;
    let mut first_without: Option<WorkflowRun> = None;
    loop {
        for run in std::mem::take(&mut page.workflow_runs) {
            seen += 1;
            if !run_matches(&run, filter, branch.as_deref(), head_sha.as_deref()) {
                continue;
            }
            if !filter.allow_forks && run.is_from_fork(repo) {
                forks_skipped += 1;
                continue;
            }
            report_forks(forks_skipped);
            forks_skipped = 0;
            looked_at += 1;
            if !filter.search_artifacts {
                runner::info(&format!("chose run {} ({})", run.id, run_label(&run)));
                let artifacts = in_run(client, repo, sel, &run).await?;
                return Ok((run, artifacts));
            }
            match in_run(client, repo, sel, &run).await {
                Ok(artifacts) => {
                    runner::info(&format!(
                        "chose run {} ({}), the newest of {looked_at} matching runs with artifacts {}",
                        run.id,
                        run_label(&run),
                        sel.describe()
                    ));
                    return Ok((run, artifacts));
                }
                Err(e) if e.is::<NothingFound>() => {
                    runner::info(&format!(
                        "run {} has no artifacts {}; looking further back",
                        run.id,
                        sel.describe()
                    ));
                    first_without.get_or_insert(run);
                }
                Err(e) => return Err(e),
            }
            if looked_at >= filter.search_depth {
                return Err(NothingFound(format!(
                    "none of the {looked_at} newest runs {describe} in {repo} has artifacts {}; stopped at search-depth {} (raise it to look further back)",
                    sel.describe(),
                    filter.search_depth
                ))
                .into());
            }
        }
        let Some(link) = next.take() else { break };
        let (p, n) = client.next_page(&url, &link).await.with_context(context)?;
        page = p;
        next = n;
    }
    report_forks(forks_skipped);
    let capped = !query.is_empty() && seen >= FILTERED_RUN_CAP;
    let cap_note = if capped {
        format!(
            " (GitHub lists at most {FILTERED_RUN_CAP} runs for a filtered search, and the search reached that end)"
        )
    } else {
        String::new()
    };
    if let Some(run) = first_without {
        return Err(NothingFound(format!(
            "no run {describe} in {repo} has artifacts {}; the newest matching run was {}{cap_note}",
            sel.describe(),
            run.id
        ))
        .into());
    }
    Err(NothingFound(format!("no workflow run {describe} in {repo}{cap_note}")).into())
}

/// A run the user named by id is fetched from even when it ran a fork's code (the
/// `workflow_run` follow-up of a fork's pull request is a legitimate use), but never silently.
fn warn_fork_run(run: &WorkflowRun) {
    let fork = run
        .head_repository
        .as_ref()
        .map(|r| r.full_name.as_str())
        .unwrap_or("a fork");
    runner::warning(&format!(
        "run {} ran code from {fork}: its artifacts can be written by whoever opened the pull \
         request. Treat the files as untrusted input (do not execute them with secrets in reach)",
        run.id
    ));
}

fn report_forks(n: u32) {
    if n > 0 {
        runner::info(&format!(
            "skipped {n} run{} from a fork (its artifacts could be written by anyone; set `allow-forks: true` to accept them)",
            if n == 1 { "" } else { "s" }
        ));
    }
}

/// Turns `ref` and `pr` into a branch or a head SHA.
async fn resolve_refs(
    client: &Client,
    repo: &Repo,
    filter: &RunFilter,
) -> Result<(Option<String>, Option<String>)> {
    let mut branch = filter.branch.clone();
    let mut sha = filter.commit.clone();
    if let Some(r) = &filter.git_ref {
        if let Some(b) = r.strip_prefix("refs/heads/") {
            branch = Some(b.to_owned());
        } else if r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit()) {
            sha = Some(r.to_ascii_lowercase());
        } else if !r.starts_with("refs/") && is_branch(client, repo, r).await? {
            branch = Some(r.clone());
        } else {
            #[derive(serde::Deserialize)]
            struct Commit {
                sha: String,
            }
            let url = client.repo_url(repo, &format!("/commits/{}", url_segment(r)));
            let c: Commit = client.get_json(&url).await.map_err(|e| match e {
                ApiError::NotFound { .. } | ApiError::Status { status: 422, .. } => {
                    anyhow::Error::new(NothingFound(format!(
                        "ref `{r}` is not a branch, tag or commit of {repo}"
                    )))
                }
                other => {
                    anyhow::Error::new(other).context(format!("cannot resolve ref `{r}` in {repo}"))
                }
            })?;
            runner::info(&format!("ref `{r}` is commit {}", c.sha));
            sha = Some(c.sha);
        }
    }
    if let Some(n) = filter.pr {
        #[derive(serde::Deserialize)]
        struct Head {
            sha: String,
        }
        #[derive(serde::Deserialize)]
        struct Pull {
            head: Head,
        }
        let url = client.repo_url(repo, &format!("/pulls/{n}"));
        let pull: Pull = client.get_json(&url).await.map_err(|e| match e {
            ApiError::NotFound { .. } => anyhow::Error::new(NothingFound(format!(
                "pull request #{n} does not exist in {repo}"
            ))),
            other => anyhow::Error::new(other)
                .context(format!("cannot read pull request #{n} of {repo}")),
        })?;
        runner::info(&format!("pull request #{n} is at commit {}", pull.head.sha));
        if let Some(other) = sha
            .as_ref()
            .filter(|s| !pull.head.sha.starts_with(s.as_str()))
        {
            return Err(NothingFound(format!(
                "pull request #{n} is at commit {}, which contradicts the commit filter {other}",
                pull.head.sha
            ))
            .into());
        }
        sha = Some(pull.head.sha);
    }
    Ok((branch, sha))
}

async fn is_branch(client: &Client, repo: &Repo, name: &str) -> Result<bool> {
    let url = client.repo_url(repo, &format!("/branches/{}", url_segment(name)));
    match client.get_json::<serde_json::Value>(&url).await {
        Ok(_) => Ok(true),
        Err(ApiError::NotFound { .. }) => Ok(false),
        Err(e) => {
            Err(e).with_context(|| format!("cannot check whether `{name}` is a branch of {repo}"))
        }
    }
}

/// The client-side check of every filter: the server's filtering is a speed-up, not a promise.
fn run_matches(run: &WorkflowRun, f: &RunFilter, branch: Option<&str>, sha: Option<&str>) -> bool {
    let eq = |want: Option<&str>, have: Option<&str>| want.is_none_or(|w| have == Some(w));
    f.state
        .accepts(run.status.as_deref(), run.conclusion.as_deref())
        && eq(branch, run.head_branch.as_deref())
        && eq(f.event.as_deref(), run.event.as_deref())
        && sha.is_none_or(|s| run.head_sha.as_deref().is_some_and(|h| h.starts_with(s)))
        && f.run_number.is_none_or(|n| run.run_number == Some(n))
}

fn describe_filter(f: &RunFilter, branch: Option<&str>, sha: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(w) = &f.workflow {
        parts.push(format!("of workflow `{w}`"));
    }
    if let Some(b) = branch {
        parts.push(format!("on branch `{b}`"));
    }
    if let Some(e) = &f.event {
        parts.push(format!("for event `{e}`"));
    }
    if let Some(s) = sha {
        parts.push(format!("for commit {s}"));
    }
    if let Some(n) = f.run_number {
        parts.push(format!("with run number {n}"));
    }
    parts.push(match &f.state {
        crate::select::RunState::Any => "in any state".to_owned(),
        crate::select::RunState::Status(s) => format!("with status `{s}`"),
        crate::select::RunState::Conclusion(c) => format!("with conclusion `{c}`"),
    });
    parts.join(" ")
}

fn run_label(run: &WorkflowRun) -> String {
    format!(
        "{} #{} on {}, {}",
        run.name.as_deref().unwrap_or("workflow"),
        run.run_number.map(|n| n.to_string()).unwrap_or_default(),
        run.head_branch.as_deref().unwrap_or("?"),
        run.created_at.as_deref().unwrap_or("?")
    )
}

/// Percent-encodes a path segment (branch names may hold `/`, `#`, spaces).
fn url_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn expired_all(chosen: &Chosen, place: &str) -> String {
    chosen
        .expired
        .iter()
        .map(|a| expired_message(&a.name, a, place))
        .collect::<Vec<_>>()
        .join("; ")
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

fn not_in_run(sel: &Selection, run: RunId, repo: &Repo, all: &[Artifact]) -> String {
    if all.is_empty() {
        return format!(
            "run {run} in {repo} has no artifacts at all (none uploaded, all deleted, or the run \
             is still in progress), so none {}",
            sel.describe()
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
        "run {run} in {repo} has no artifact {}; it has: {listed}. Names are case-sensitive",
        sel.describe()
    )
}
