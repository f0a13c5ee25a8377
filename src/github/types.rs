//! The REST API's types, as much of them as we read, and the ids that name things.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A workflow run id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub u64);

/// An artifact id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ArtifactId(pub u64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for ArtifactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `owner/name`, validated with GitHub's character rules so it is safe to put in a URL path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl FromStr for Repo {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected = || format!("expected `owner/name` (for example `octo/app`), got `{s}`");
        let (owner, name) = s.trim().split_once('/').ok_or_else(expected)?;
        let owner_ok = !owner.is_empty()
            && owner.len() <= 39
            && owner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let name = name.strip_suffix(".git").unwrap_or(name);
        let name_ok = !name.is_empty()
            && name.len() <= 100
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if owner_ok && name_ok {
            Ok(Repo {
                owner: owner.to_owned(),
                name: name.to_owned(),
            })
        } else {
            Err(expected())
        }
    }
}

/// An artifact as the list and get endpoints return it. `digest` stays a string here: parsing
/// it is verification's job, and an unparsable one must fail there, loudly.
#[derive(Debug, Clone, Deserialize)]
pub struct Artifact {
    pub id: ArtifactId,
    pub name: String,
    pub size_in_bytes: u64,
    pub expired: bool,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub workflow_run: Option<ArtifactRun>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ArtifactRun {
    #[serde(default)]
    pub id: Option<RunId>,
    #[serde(default)]
    pub head_branch: Option<String>,
    #[serde(default)]
    pub head_sha: Option<String>,
    #[serde(default)]
    pub repository_id: Option<u64>,
    #[serde(default)]
    pub head_repository_id: Option<u64>,
}

impl Artifact {
    /// The run that produced the artifact, when GitHub says.
    pub fn run_id(&self) -> Option<RunId> {
        self.workflow_run.as_ref().and_then(|r| r.id)
    }

    /// Whether the run that uploaded it ran a fork's code (a fork's pull request). Unknown
    /// counts as not a fork: GitHub always sends both ids for artifacts of a run.
    pub fn is_from_fork(&self) -> bool {
        self.workflow_run.as_ref().is_some_and(
            |r| matches!((r.repository_id, r.head_repository_id), (Some(a), Some(b)) if a != b),
        )
    }

    /// Orders by creation time, then id (ids grow over time), so "newest" has one answer.
    /// GitHub's timestamps are all RFC 3339 in UTC with `Z`, so they sort as strings.
    pub fn newness(&self) -> (Option<&str>, ArtifactId) {
        (self.created_at.as_deref(), self.id)
    }
}

/// One page of `GET …/artifacts`.
#[derive(Debug, Deserialize)]
pub struct ArtifactPage {
    pub total_count: u64,
    pub artifacts: Vec<Artifact>,
}

/// The fields of a workflow run we use.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkflowRun {
    pub id: RunId,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub head_branch: Option<String>,
    #[serde(default)]
    pub head_sha: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub run_number: Option<u64>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub head_repository: Option<MinimalRepo>,
    #[serde(default)]
    pub repository: Option<MinimalRepo>,
}

impl WorkflowRun {
    /// Whether the run's code came from another repository (a fork's pull request).
    pub fn is_from_fork(&self, base: &Repo) -> bool {
        match &self.head_repository {
            Some(head) => !head.full_name.eq_ignore_ascii_case(&base.to_string()),
            None => false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct MinimalRepo {
    pub full_name: String,
}

/// One page of `GET …/runs`.
#[derive(Debug, Deserialize)]
pub struct RunPage {
    pub total_count: u64,
    pub workflow_runs: Vec<WorkflowRun>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_parsing() {
        let r: Repo = "octo-org/my.repo_1".parse().unwrap();
        assert_eq!(
            (r.owner.as_str(), r.name.as_str()),
            ("octo-org", "my.repo_1")
        );
        assert_eq!("o/r.git".parse::<Repo>().unwrap().name, "r");
        for bad in [
            "noslash", "/r", "o/", "o/r/x", "o/..", "o w/r", "o/r?x", "o/r#",
        ] {
            assert!(bad.parse::<Repo>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn artifact_tolerates_nulls_and_missing_digest() {
        let a: Artifact = serde_json::from_str(
            r#"{"id":1,"node_id":"x","name":"dist","size_in_bytes":3,"url":"u",
                "archive_download_url":"u","expired":false,"created_at":null,
                "expires_at":null,"updated_at":null,"workflow_run":null}"#,
        )
        .unwrap();
        assert_eq!(a.digest, None);
        assert_eq!(a.run_id(), None);
    }
}
