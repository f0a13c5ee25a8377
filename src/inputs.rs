//! Every input of the action, its default and its validation, in one place.
//!
//! The runner hands a container action its inputs as `INPUT_<NAME>` environment variables with
//! the name upper-cased and **hyphens kept** (`INPUT_RUN-ID`); by hand, people write the
//! underscore spelling (`INPUT_RUN_ID`), so both are read. The runner passes every input that
//! `action.yml` declares, filled with its default, so a present-but-empty value means "not given".

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::extract::Limits;
use crate::github::{ArtifactId, Repo, RunId};
use crate::select::{Glob, RunState, Selection};
use crate::staging::Owner;

/// One input of the action: the single definition behind `action.yml`'s `inputs:` (a test
/// holds the two equal), the `INPUT_*` variable and the command-line flag of the same name.
#[derive(Debug, Clone, Copy)]
pub struct InputDef {
    pub name: &'static str,
    /// As `action.yml` declares it (`${{ … }}` expressions included).
    pub default: &'static str,
    /// One line for `--help`; `action.yml` carries the long description.
    pub help: &'static str,
}

impl InputDef {
    /// A `true`/`false` input, which the command line also takes as a bare `--flag`.
    pub fn is_flag(&self) -> bool {
        self.default == "false"
    }
}

const fn def(name: &'static str, default: &'static str, help: &'static str) -> InputDef {
    InputDef {
        name,
        default,
        help,
    }
}

/// Every input, in `action.yml` order.
pub const INPUTS: &[InputDef] = &[
    def(
        "name",
        "",
        "artifact name (exact; a regular expression with --name-is-regexp)",
    ),
    def(
        "pattern",
        "",
        "glob over artifact names, e.g. `dist-*`; `*` takes them all",
    ),
    def(
        "name-is-regexp",
        "false",
        "treat --name as a regular expression",
    ),
    def(
        "artifact-ids",
        "",
        "comma-separated artifact ids instead of a name",
    ),
    def(
        "run-id",
        "",
        "id of the workflow run that uploaded the artifacts",
    ),
    def(
        "path",
        "",
        "destination directory (default: the workspace, or the current directory)",
    ),
    def(
        "workflow",
        "",
        "find the run: workflow file name (build.yml) or id",
    ),
    def("branch", "", "find the run: its branch"),
    def(
        "event",
        "",
        "find the run: its triggering event (push, pull_request, …)",
    ),
    def("commit", "", "find the run: its head commit SHA"),
    def(
        "ref",
        "",
        "find the run: a branch, tag or commit, resolved to a branch or SHA",
    ),
    def(
        "pr",
        "",
        "find the run: a pull request number (its head commit)",
    ),
    def("run-number", "", "find the run: its run number"),
    def(
        "workflow-conclusion",
        "success",
        "find the run: a conclusion or status, or `any`",
    ),
    def(
        "search-artifacts",
        "false",
        "walk back to the newest matching run that has the artifacts",
    ),
    def(
        "search-depth",
        "100",
        "how many matching runs --search-artifacts looks at",
    ),
    def(
        "allow-forks",
        "false",
        "accept runs and artifacts from a fork's code",
    ),
    def(
        "merge-multiple",
        "false",
        "put several artifacts straight into --path, newest wins",
    ),
    def("parallel-downloads", "4", "artifacts downloaded at once"),
    def("if-no-artifact-found", "fail", "`fail`, `warn` or `ignore`"),
    def(
        "skip-unpack",
        "false",
        "keep the verified zip as <path>/<name>.zip",
    ),
    def("dry-run", "false", "find and report only; write nothing"),
    def(
        "delete-after-download",
        "false",
        "delete the artifacts once in place (actions: write)",
    ),
    def(
        "github-token",
        "${{ github.token }}",
        "token (prefer GITHUB_TOKEN or GH_TOKEN: flags show in `ps`)",
    ),
    def(
        "repository",
        "${{ github.repository }}",
        "owner/name of the source repository",
    ),
    def(
        "retries",
        "5",
        "extra attempts on network and server faults",
    ),
    def(
        "max-entries",
        "1000000",
        "refuse archives with more entries",
    ),
    def(
        "max-uncompressed-size",
        "20G",
        "refuse archives that inflate to more (K, M, G, T)",
    ),
];

/// The default [`INPUTS`] declares for `name` (empty for an unknown name).
pub fn default_of(name: &str) -> &'static str {
    INPUTS
        .iter()
        .find(|d| d.name == name)
        .map_or("", |d| d.default)
}

/// Where the process environment comes from; tests pass a map instead.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The API token. Its `Debug` and `Display` never show the value, so a config dump or an error
/// chain cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }

    /// The secret itself: only for the `Authorization` header and `::add-mask::`.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// A validated artifact name (non-empty, as upload-artifact allows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactName(String);

impl ArtifactName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ArtifactName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything the pipeline needs to know, validated.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `name`, `pattern`, `name-is-regexp`, `artifact-ids`: which artifacts.
    pub selection: Selection,
    /// `run-id`: the workflow run that uploaded it; `None` = newest artifact of that name in
    /// the repository.
    pub run_id: Option<RunId>,
    /// `path`: absolute destination directory (default: the workspace).
    pub path: PathBuf,
    /// `github-token` (falls back to `GITHUB_TOKEN` / `GH_TOKEN` when run by hand).
    pub token: Token,
    /// `repository`: `owner/name` (default: `GITHUB_REPOSITORY`).
    pub repository: Repo,
    /// `GITHUB_API_URL` without a trailing slash (default `https://api.github.com`).
    pub api_url: String,
    /// `retries`: extra attempts for transient network and server faults.
    pub retries: u32,
    /// `max-entries`, `max-uncompressed-size`: zip-bomb bounds.
    pub limits: Limits,
    /// How to find the run when `run-id` is not given.
    pub runs: RunFilter,
    /// `merge-multiple`: several artifacts straight into `path` instead of `path/<name>`.
    pub merge_multiple: bool,
    /// `parallel-downloads`: artifacts in flight at once.
    pub parallel_downloads: usize,
    /// `if-no-artifact-found`.
    pub if_none: IfNone,
    /// `skip-unpack`: keep the verified zip as `path/<name>.zip`.
    pub skip_unpack: bool,
    /// `dry-run`: find and report, write nothing.
    pub dry_run: bool,
    /// `delete-after-download`.
    pub delete_after: bool,
    /// Who gets what lands: the workspace's owner when we run as root (see [`Owner`]).
    pub owner: Option<Owner>,
}

/// The run filters (all optional, combined with AND).
#[derive(Debug, Clone)]
pub struct RunFilter {
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub event: Option<String>,
    pub commit: Option<String>,
    pub run_number: Option<u64>,
    pub git_ref: Option<String>,
    pub pr: Option<u64>,
    pub state: RunState,
    /// Whether `workflow-conclusion` was given with a value other than the default `success`.
    pub state_given: bool,
    pub search_artifacts: bool,
    pub search_depth: u32,
    pub allow_forks: bool,
}

impl RunFilter {
    /// The names of the filters that were set, for "ignored because run-id is given".
    pub fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let pairs: [(&'static str, bool); 9] = [
            ("workflow", self.workflow.is_some()),
            ("branch", self.branch.is_some()),
            ("event", self.event.is_some()),
            ("commit", self.commit.is_some()),
            ("run-number", self.run_number.is_some()),
            ("ref", self.git_ref.is_some()),
            ("pr", self.pr.is_some()),
            ("workflow-conclusion", self.state_given),
            ("search-artifacts", self.search_artifacts),
        ];
        for (name, set) in pairs {
            if set {
                v.push(name);
            }
        }
        v
    }

    /// Whether a run has to be searched for at all.
    pub fn any(&self) -> bool {
        !self.given().is_empty()
    }
}

/// `if-no-artifact-found`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfNone {
    Fail,
    Warn,
    Ignore,
}

/// An input that is present but wrong. The message names the input and what it expects.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("input `{input}`: {problem}")]
pub struct InputError {
    pub input: &'static str,
    pub problem: String,
}

fn invalid(input: &'static str, problem: impl Into<String>) -> InputError {
    InputError {
        input,
        problem: problem.into(),
    }
}

pub const DEFAULT_API_URL: &str = "https://api.github.com";
pub const DEFAULT_RETRIES: u32 = 5;
pub const DEFAULT_PARALLEL: usize = 4;
pub const DEFAULT_SEARCH_DEPTH: u32 = 100;

/// A boolean input: `true`/`false` as YAML writes them (case-insensitive), empty = false.
fn flag(env: &impl Env, name: &'static str) -> Result<bool, InputError> {
    match input(env, name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(invalid(
            name,
            format!("expected `true` or `false`, got `{other}`"),
        )),
    }
}

fn positive(env: &impl Env, name: &'static str, what: &str) -> Result<Option<u64>, InputError> {
    input(env, name)
        .map(|raw| {
            raw.trim_start_matches('#')
                .parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    invalid(
                        name,
                        format!("expected {what} (a positive integer), got `{raw}`"),
                    )
                })
        })
        .transpose()
}

fn selection(env: &impl Env) -> Result<Selection, InputError> {
    let name = input(env, "name");
    let pattern = input(env, "pattern");
    let ids = input(env, "artifact-ids");
    let is_regexp = flag(env, "name-is-regexp")?;
    let given = [name.is_some(), pattern.is_some(), ids.is_some()]
        .iter()
        .filter(|&&b| b)
        .count();
    if given > 1 {
        return Err(invalid(
            "name",
            "give only one of `name`, `pattern` and `artifact-ids`",
        ));
    }
    if let Some(p) = pattern {
        return Glob::new(&p)
            .map(Selection::Pattern)
            .map_err(|e| invalid("pattern", format!("`{p}` {e}")));
    }
    if let Some(raw) = ids {
        let parsed: Option<Vec<ArtifactId>> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u64>().ok().filter(|&n| n > 0).map(ArtifactId))
            .collect();
        return match parsed {
            Some(v) if !v.is_empty() => Ok(Selection::Ids(v)),
            _ => Err(invalid(
                "artifact-ids",
                format!("expected comma-separated artifact ids such as `123,456`, got `{raw}`"),
            )),
        };
    }
    match (name, is_regexp) {
        (Some(n), false) => Ok(Selection::Name(n)),
        (Some(n), true) => regex_lite::Regex::new(&n)
            .map(Selection::Regex)
            .map_err(|e| {
                invalid(
                    "name",
                    format!("`{n}` is not a valid regular expression: {e}"),
                )
            }),
        (None, true) => Err(invalid("name", "is required with `name-is-regexp: true`")),
        // Fetching everything must be asked for (`pattern: '*'`), never happen by omission.
        (None, false) => Err(invalid(
            "name",
            "is required: the name of the artifact to fetch (or give `pattern`, e.g. `dist-*`, \
             or `artifact-ids`; `pattern: '*'` fetches every artifact of the run)",
        )),
    }
}

fn run_filter(env: &impl Env) -> Result<RunFilter, InputError> {
    let state_raw = input(env, "workflow-conclusion");
    let default = default_of("workflow-conclusion");
    let state = match &state_raw {
        None => RunState::Conclusion(default.into()),
        Some(raw) => RunState::parse(raw).map_err(|e| invalid("workflow-conclusion", e))?,
    };
    let commit = input(env, "commit");
    if let Some(c) = &commit
        && (c.len() < 7 || c.len() > 40 || !c.chars().all(|ch| ch.is_ascii_hexdigit()))
    {
        return Err(invalid(
            "commit",
            format!("expected a commit SHA (7 to 40 hex digits), got `{c}`"),
        ));
    }
    let search_depth = match input(env, "search-depth") {
        None => DEFAULT_SEARCH_DEPTH,
        Some(raw) => raw.parse::<u32>().ok().filter(|&n| n > 0).ok_or_else(|| {
            invalid(
                "search-depth",
                format!("expected a positive number of runs, got `{raw}`"),
            )
        })?,
    };
    Ok(RunFilter {
        workflow: input(env, "workflow"),
        branch: input(env, "branch").map(|b| b.trim_start_matches("refs/heads/").to_owned()),
        event: input(env, "event"),
        commit: commit.map(|c| c.to_ascii_lowercase()),
        run_number: positive(env, "run-number", "a run number")?,
        git_ref: input(env, "ref"),
        pr: positive(env, "pr", "a pull request number")?,
        // The runner always passes action.yml's default (`success`), so only another value
        // counts as a filter; otherwise every job without `run-id` would search runs.
        state_given: state_raw
            .as_deref()
            .is_some_and(|raw| !raw.eq_ignore_ascii_case(default)),
        state,
        search_artifacts: flag(env, "search-artifacts")?,
        search_depth,
        allow_forks: flag(env, "allow-forks")?,
    })
}

/// `123`, `10K`, `500M`, `20G`, `1T` (binary multiples; a trailing `B`/`iB` is allowed).
fn parse_size(raw: &str) -> Option<u64> {
    let s = raw.trim().to_ascii_uppercase();
    let s = s
        .strip_suffix("IB")
        .or_else(|| s.strip_suffix('B'))
        .unwrap_or(&s);
    let (digits, shift) = match s.chars().last()? {
        'K' => (&s[..s.len() - 1], 10),
        'M' => (&s[..s.len() - 1], 20),
        'G' => (&s[..s.len() - 1], 30),
        'T' => (&s[..s.len() - 1], 40),
        _ => (s, 0),
    };
    let n: u64 = digits.trim().parse().ok()?;
    n.checked_mul(1u64 << shift).filter(|&v| v > 0)
}

/// Reads an input by its action name (`run-id`), trying the runner's hyphenated variable first.
/// Surrounding whitespace is dropped (YAML block scalars leave a trailing newline) and an empty
/// value counts as not given.
pub fn input(env: &impl Env, name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase().replace(' ', "_");
    let hyphenated = format!("INPUT_{upper}");
    let underscored = format!("INPUT_{}", upper.replace('-', "_"));
    [hyphenated, underscored]
        .iter()
        .filter_map(|var| env.var(var))
        .map(|v| v.trim().to_owned())
        .find(|v| !v.is_empty())
}

fn non_empty_env(env: &impl Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The token as given, before any validation, so `main` can mask it before printing anything.
pub fn raw_token(env: &impl Env) -> Option<String> {
    input(env, "github-token")
        .or_else(|| non_empty_env(env, "GITHUB_TOKEN"))
        .or_else(|| non_empty_env(env, "GH_TOKEN"))
}

impl Inputs {
    pub fn from_env(env: &impl Env) -> Result<Inputs, InputError> {
        let run_id = input(env, "run-id")
            .map(|raw| {
                raw.parse::<u64>()
                    .ok()
                    .filter(|&id| id > 0)
                    .map(RunId)
                    .ok_or_else(|| {
                        invalid(
                            "run-id",
                            format!(
                                "expected a workflow run id (a positive integer, such as \
                                 `${{{{ github.event.workflow_run.id }}}}`), got `{raw}`"
                            ),
                        )
                    })
            })
            .transpose()?;

        let repository = match input(env, "repository") {
            Some(raw) => raw.parse::<Repo>().map_err(|e| invalid("repository", e))?,
            None => non_empty_env(env, "GITHUB_REPOSITORY")
                .ok_or_else(|| {
                    invalid(
                        "repository",
                        "not given and GITHUB_REPOSITORY is not set: pass `owner/name`",
                    )
                })?
                .parse::<Repo>()
                .map_err(|e| invalid("repository", format!("(from GITHUB_REPOSITORY) {e}")))?,
        };

        let token = raw_token(env).map(Token).ok_or_else(|| {
            invalid(
                "github-token",
                "is empty: pass `${{ secrets.GITHUB_TOKEN }}` or a token with `actions: read` \
                 on the source repository (by hand: set GITHUB_TOKEN)",
            )
        })?;
        if token.0.chars().any(|c| c.is_control() || c == ' ') {
            return Err(invalid(
                "github-token",
                "contains whitespace or control characters; check how the secret was stored",
            ));
        }

        let api_url = non_empty_env(env, "GITHUB_API_URL")
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(invalid(
                "GITHUB_API_URL",
                format!("expected an http(s) URL such as {DEFAULT_API_URL}, got `{api_url}`"),
            ));
        }

        let runner_workspace = non_empty_env(env, "GITHUB_WORKSPACE").map(PathBuf::from);
        // Only the runner's workspace has an owner to match; by hand, files are the user's.
        let owner = runner_workspace.as_deref().and_then(Owner::for_workspace);
        let workspace = match runner_workspace {
            Some(ws) => ws,
            None => std::env::current_dir()
                .map_err(|e| invalid("path", format!("cannot read the current directory: {e}")))?,
        };
        let home = non_empty_env(env, "HOME").map(PathBuf::from);
        let path = resolve_path(input(env, "path").as_deref(), &workspace, home.as_deref())
            .map_err(|e| invalid("path", e))?;

        let retries = match input(env, "retries") {
            None => DEFAULT_RETRIES,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|&n| n <= 20)
                .ok_or_else(|| {
                    invalid(
                        "retries",
                        format!("expected a number from 0 to 20, got `{raw}`"),
                    )
                })?,
        };
        let mut limits = Limits::default();
        if let Some(raw) = input(env, "max-entries") {
            limits.max_entries = raw
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    invalid(
                        "max-entries",
                        format!("expected a positive number, got `{raw}`"),
                    )
                })?;
        }
        if let Some(raw) = input(env, "max-uncompressed-size") {
            limits.max_total_bytes = parse_size(&raw).ok_or_else(|| {
                invalid(
                    "max-uncompressed-size",
                    format!(
                        "expected a size such as `500M`, `20G` or a number of bytes, got `{raw}`"
                    ),
                )
            })?;
        }

        let selection = selection(env)?;
        let runs = run_filter(env)?;
        let parallel_downloads = match input(env, "parallel-downloads") {
            None => DEFAULT_PARALLEL,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=32).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "parallel-downloads",
                        format!("expected 1 to 32, got `{raw}`"),
                    )
                })?,
        };
        let if_none = match input(env, "if-no-artifact-found").as_deref() {
            None | Some("fail") => IfNone::Fail,
            Some("warn") => IfNone::Warn,
            Some("ignore") => IfNone::Ignore,
            Some(other) => {
                return Err(invalid(
                    "if-no-artifact-found",
                    format!("expected `fail`, `warn` or `ignore`, got `{other}`"),
                ));
            }
        };

        Ok(Inputs {
            selection,
            runs,
            merge_multiple: flag(env, "merge-multiple")?,
            parallel_downloads,
            if_none,
            skip_unpack: flag(env, "skip-unpack")?,
            dry_run: flag(env, "dry-run")?,
            delete_after: flag(env, "delete-after-download")?,
            owner,
            run_id,
            path,
            token,
            repository,
            api_url,
            retries,
            limits,
        })
    }
}

/// Turns the `path` input into an absolute, lexically normalised directory: relative paths are
/// taken from the workspace (as every other action does), `~` from `HOME`.
fn resolve_path(
    raw: Option<&str>,
    workspace: &Path,
    home: Option<&Path>,
) -> Result<PathBuf, String> {
    let base = if workspace.is_absolute() {
        workspace.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?
            .join(workspace)
    };
    let joined = match raw {
        None => base,
        Some(p) if p.contains('\0') => return Err("contains a NUL byte".into()),
        Some("~") => home.ok_or("`~` used but HOME is not set")?.to_path_buf(),
        Some(p) if p.starts_with("~/") => home.ok_or("`~` used but HOME is not set")?.join(&p[2..]),
        Some(p) => base.join(p),
    };
    // Normalise `a/./b/../c` without touching the filesystem: the directory may not exist yet.
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Env {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("INPUT_NAME", "dist"),
            ("INPUT_GITHUB-TOKEN", "ghs_secret"),
            ("GITHUB_REPOSITORY", "octo/repo"),
            ("GITHUB_WORKSPACE", "/github/workspace"),
        ]
    }

    fn parse(extra: &[(&'static str, &'static str)]) -> Result<Inputs, InputError> {
        let mut pairs = base();
        pairs.extend_from_slice(extra);
        Inputs::from_env(&env(&pairs))
    }

    #[test]
    fn defaults() {
        let i = parse(&[]).unwrap();
        assert!(matches!(&i.selection, Selection::Name(n) if n == "dist"));
        assert_eq!(i.runs.state, RunState::Conclusion("success".into()));
        assert!(!i.runs.any() && !i.dry_run && !i.merge_multiple);
        assert_eq!(i.if_none, IfNone::Fail);
        assert_eq!(i.run_id, None);
        assert_eq!(i.path, PathBuf::from("/github/workspace"));
        assert_eq!(i.repository.to_string(), "octo/repo");
        assert_eq!(i.api_url, DEFAULT_API_URL);
        assert_eq!(i.token.expose(), "ghs_secret");
    }

    #[test]
    fn hyphenated_and_underscored_spellings() {
        let i = parse(&[("INPUT_RUN-ID", "42"), ("INPUT_PATH", "out/")]).unwrap();
        assert_eq!(i.run_id, Some(RunId(42)));
        assert_eq!(i.path, PathBuf::from("/github/workspace/out"));
        let i = parse(&[("INPUT_RUN_ID", " 43\n")]).unwrap();
        assert_eq!(i.run_id, Some(RunId(43)));
    }

    #[test]
    fn empty_means_not_given() {
        let i = parse(&[
            ("INPUT_RUN-ID", ""),
            ("INPUT_PATH", ""),
            ("INPUT_REPOSITORY", "  "),
        ])
        .unwrap();
        assert_eq!(i.run_id, None);
        assert_eq!(i.path, PathBuf::from("/github/workspace"));
        assert_eq!(i.repository.to_string(), "octo/repo");
    }

    #[test]
    fn invalid_values_name_the_input() {
        let e = parse(&[("INPUT_RUN-ID", "abc")]).unwrap_err();
        assert_eq!(e.input, "run-id");
        assert!(e.to_string().contains("`abc`"), "{e}");
        assert_eq!(parse(&[("INPUT_RUN-ID", "0")]).unwrap_err().input, "run-id");
        assert_eq!(
            parse(&[("INPUT_RUN-ID", "-5")]).unwrap_err().input,
            "run-id"
        );
        let e = parse(&[("INPUT_REPOSITORY", "noslash")]).unwrap_err();
        assert_eq!(e.input, "repository");
        assert!(e.to_string().contains("owner/name"), "{e}");
        let e = Inputs::from_env(&env(&[
            ("INPUT_NAME", ""),
            ("INPUT_GITHUB-TOKEN", "t"),
            ("GITHUB_REPOSITORY", "o/r"),
        ]))
        .unwrap_err();
        assert_eq!(e.input, "name");
        let e = parse(&[("GITHUB_API_URL", "ftp://x")]).unwrap_err();
        assert_eq!(e.input, "GITHUB_API_URL");
    }

    #[test]
    fn token_fallbacks_and_redaction() {
        let i = Inputs::from_env(&env(&[
            ("INPUT_NAME", "a"),
            ("INPUT_GITHUB-TOKEN", ""),
            ("GH_TOKEN", "from_gh"),
            ("GITHUB_REPOSITORY", "o/r"),
        ]))
        .unwrap();
        assert_eq!(i.token.expose(), "from_gh");
        assert!(!format!("{i:?}").contains("from_gh"));
        let e = Inputs::from_env(&env(&[("INPUT_NAME", "a"), ("GITHUB_REPOSITORY", "o/r")]))
            .unwrap_err();
        assert_eq!(e.input, "github-token");
    }

    #[test]
    fn discovery_and_selection_inputs() {
        let i = parse(&[
            ("INPUT_NAME", ""),
            ("INPUT_PATTERN", "dist-*"),
            ("INPUT_WORKFLOW", "build.yml"),
            ("INPUT_BRANCH", "refs/heads/main"),
            ("INPUT_PR", "#42"),
            ("INPUT_WORKFLOW-CONCLUSION", "any"),
            ("INPUT_MERGE-MULTIPLE", "True"),
            ("INPUT_IF-NO-ARTIFACT-FOUND", "warn"),
        ])
        .unwrap();
        assert!(matches!(i.selection, Selection::Pattern(_)));
        assert_eq!(i.runs.branch.as_deref(), Some("main"));
        assert_eq!(i.runs.pr, Some(42));
        assert_eq!(
            i.runs.given(),
            vec!["workflow", "branch", "pr", "workflow-conclusion"]
        );
        assert!(i.merge_multiple);
        assert_eq!(i.if_none, IfNone::Warn);
        let i = parse(&[("INPUT_NAME", ""), ("INPUT_ARTIFACT-IDS", "1, 2,3")]).unwrap();
        assert!(matches!(i.selection, Selection::Ids(ref v) if v.len() == 3));
        for (k, v, input) in [
            ("INPUT_PATTERN", "[x", "pattern"),
            ("INPUT_ARTIFACT-IDS", "1,x", "artifact-ids"),
            ("INPUT_WORKFLOW-CONCLUSION", "great", "workflow-conclusion"),
            ("INPUT_DRY-RUN", "yes", "dry-run"),
            ("INPUT_COMMIT", "xyz", "commit"),
            (
                "INPUT_IF-NO-ARTIFACT-FOUND",
                "explode",
                "if-no-artifact-found",
            ),
        ] {
            let mut pairs = vec![(k, v)];
            if k == "INPUT_PATTERN" || k == "INPUT_ARTIFACT-IDS" {
                pairs.push(("INPUT_NAME", ""));
            }
            assert_eq!(parse(&pairs).unwrap_err().input, input, "{k}={v}");
        }
        assert_eq!(parse(&[("INPUT_PATTERN", "a*")]).unwrap_err().input, "name");
        let e = parse(&[("INPUT_NAME-IS-REGEXP", "true"), ("INPUT_NAME", "(")]).unwrap_err();
        assert_eq!(e.input, "name");
    }

    #[test]
    fn sizes_and_limits() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("10k"), Some(10 << 10));
        assert_eq!(parse_size("500MiB"), Some(500 << 20));
        assert_eq!(parse_size("2 GB"), Some(2 << 30));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("x"), None);
        let i = parse(&[
            ("INPUT_MAX-ENTRIES", "10"),
            ("INPUT_MAX-UNCOMPRESSED-SIZE", "1M"),
            ("INPUT_RETRIES", "0"),
        ])
        .unwrap();
        assert_eq!(
            (i.limits.max_entries, i.limits.max_total_bytes, i.retries),
            (10, 1 << 20, 0)
        );
        assert_eq!(
            parse(&[("INPUT_RETRIES", "many")]).unwrap_err().input,
            "retries"
        );
        assert_eq!(
            parse(&[("INPUT_MAX-ENTRIES", "-1")]).unwrap_err().input,
            "max-entries"
        );
    }

    #[test]
    fn path_resolution() {
        let ws = Path::new("/ws");
        let home = Some(Path::new("/home/u"));
        assert_eq!(
            resolve_path(Some("a/../b/./c"), ws, home).unwrap(),
            PathBuf::from("/ws/b/c")
        );
        assert_eq!(
            resolve_path(Some("/abs"), ws, home).unwrap(),
            PathBuf::from("/abs")
        );
        assert_eq!(
            resolve_path(Some("~/x"), ws, home).unwrap(),
            PathBuf::from("/home/u/x")
        );
        assert!(resolve_path(Some("~/x"), ws, None).is_err());
        assert_eq!(
            parse(&[("GITHUB_API_URL", "https://ghe.example/api/v3/")])
                .unwrap()
                .api_url,
            "https://ghe.example/api/v3"
        );
    }
}
