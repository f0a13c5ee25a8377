//! Runs the real binary the way the Actions runner runs the container: `INPUT_*` variables with
//! hyphens kept, `GITHUB_WORKSPACE`, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_API_URL`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

pub const TOKEN: &str = "ghs_TestTokenValue0123456789abcdefXYZ";
pub const REPO: &str = "octo/app";

/// A runner-like job directory: a workspace and the file-command files.
pub struct Job {
    pub root: TempDir,
    env: Vec<(String, String)>,
    removed: Vec<String>,
}

/// What one run of the action left behind.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub outputs: BTreeMap<String, String>,
    pub output_file: String,
    pub summary: String,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    pub fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no output `{name}` in {:?}", self.outputs))
    }

    /// The `::error::` lines, unescaped enough to read.
    pub fn errors(&self) -> String {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("::error"))
            .map(|l| l.replace("%0A", "\n").replace("%25", "%"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn warnings(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("::warning::"))
            .collect()
    }

    #[track_caller]
    pub fn assert_success(&self) {
        assert!(
            self.success(),
            "action failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
    }

    #[track_caller]
    pub fn assert_failure_containing(&self, needle: &str) {
        assert_eq!(
            self.code,
            Some(1),
            "expected failure; stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        let errors = self.errors();
        assert!(
            errors.contains(needle),
            "error should contain {needle:?}; got:\n{errors}\nstdout:\n{}",
            self.stdout
        );
    }
}

impl Job {
    /// A job whose `GITHUB_API_URL` points at `api_url`, for repository [`REPO`].
    pub fn new(api_url: &str) -> Job {
        let root = tempfile::tempdir().expect("tempdir");
        for d in ["workspace", "file_commands", "runner_temp", "home"] {
            std::fs::create_dir(root.path().join(d)).expect("mkdir");
        }
        let p = |s: &str| root.path().join(s).display().to_string();
        let env = vec![
            ("GITHUB_API_URL".into(), api_url.to_owned()),
            ("GITHUB_REPOSITORY".into(), REPO.into()),
            ("GITHUB_WORKSPACE".into(), p("workspace")),
            ("GITHUB_OUTPUT".into(), p("file_commands/set_output")),
            (
                "GITHUB_STEP_SUMMARY".into(),
                p("file_commands/step_summary"),
            ),
            ("RUNNER_TEMP".into(), p("runner_temp")),
            ("HOME".into(), p("home")),
            ("GITHUB_ACTIONS".into(), "true".into()),
            ("FETCH_ARTIFACT_RETRY_BASE_MS".into(), "20".into()),
        ];
        // Every input action.yml declares arrives, filled with its default, as the runner
        // passes them: the binary must not mistake a default for a choice the user made.
        let env = env
            .into_iter()
            .chain(action_defaults().into_iter().map(|(name, default)| {
                let value = match default.as_str() {
                    "${{ github.token }}" => TOKEN.to_owned(),
                    "${{ github.repository }}" => REPO.to_owned(),
                    d if d.contains("${{") => panic!("unknown expression in default: {d}"),
                    _ => default,
                };
                (format!("INPUT_{}", name.to_ascii_uppercase()), value)
            }))
            .collect();
        Job {
            root,
            env,
            removed: Vec::new(),
        }
    }

    pub fn workspace(&self) -> PathBuf {
        self.root.path().join("workspace")
    }

    /// Sets an input by its action name (`run-id`), spelled as the runner does.
    pub fn input(self, name: &str, value: impl ToString) -> Job {
        self.set(&format!("INPUT_{}", name.to_ascii_uppercase()), value)
    }

    pub fn env(self, key: &str, value: impl ToString) -> Job {
        self.set(key, value)
    }

    pub fn without_env(mut self, key: &str) -> Job {
        self.env.retain(|(k, _)| k != key);
        self.removed.push(key.to_owned());
        self
    }

    fn set(mut self, key: &str, value: impl ToString) -> Job {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_string()));
        self
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fetch-artifact"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.workspace())
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self) -> Outcome {
        let out = self.command().output().expect("run fetch-artifact");
        self.outcome(out)
    }

    pub fn outcome(&self, out: std::process::Output) -> Outcome {
        let read = |p: &str| std::fs::read_to_string(self.root.path().join(p)).unwrap_or_default();
        let output_file = read("file_commands/set_output");
        Outcome {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            outputs: parse_outputs(&output_file),
            output_file,
            summary: read("file_commands/step_summary"),
        }
    }
}

/// The inputs of `action.yml` with their defaults (empty when none), in declaration order.
/// A line-based reading of the file's fixed layout: two-space-indented input names under
/// `inputs:`, each with a `default:` line.
pub fn action_defaults() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml"))
        .expect("read action.yml");
    let mut out: Vec<(String, String)> = Vec::new();
    let mut in_inputs = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_inputs = line == "inputs:";
            continue;
        }
        if !in_inputs {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            out.push((name.to_owned(), String::new()));
        } else if let Some(value) = line.trim_start().strip_prefix("default:") {
            let value = value.trim();
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(value);
            out.last_mut().expect("default before any input").1 = value.to_owned();
        }
    }
    assert!(out.len() > 10, "action.yml inputs not found: {out:?}");
    out
}

/// Parses a `GITHUB_OUTPUT` file the way the runner does (`name=value` and `name<<DELIM`).
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            let mut closed = false;
            for l in lines.by_ref() {
                if l == delim {
                    closed = true;
                    break;
                }
                value.push(l);
            }
            assert!(closed, "unterminated heredoc for {name}");
            out.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_owned(), value.to_owned());
        } else if !line.is_empty() {
            panic!("malformed GITHUB_OUTPUT line: {line:?}");
        }
    }
    out
}

/// Everything under `dir` (relative path → kind, mode and content hash), for before/after
/// comparisons. Symlinks are listed, not followed.
pub fn tree(dir: &Path) -> BTreeMap<String, String> {
    use sha2::Digest;
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let desc = if meta.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(&p).unwrap().display())
            } else if meta.is_dir() {
                stack.push(p.clone());
                format!("dir {mode:o}")
            } else {
                let bytes = std::fs::read(&p).unwrap();
                format!("file {mode:o} {:x}", sha2::Sha256::digest(&bytes))
            };
            out.insert(rel, desc);
        }
    }
    out
}

/// The sha256 digest string GitHub would publish for `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}
