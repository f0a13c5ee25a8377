//! Everything that speaks the Actions runner's language: log commands on stdout, the
//! `GITHUB_OUTPUT` file (heredoc form with a random delimiter) and `GITHUB_STEP_SUMMARY`.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Escapes a log-command message: the runner reads one command per line, so `%`, CR and LF are
/// encoded as it documents.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Property values (`title=`) additionally escape `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Off the runner (the command line on a laptop) there is nobody to read workflow commands:
/// warnings and errors go to stderr as plain text, and `::add-mask::` is never printed (it
/// would show the very secret it means to hide).
static PLAIN: AtomicBool = AtomicBool::new(false);

/// `GITHUB_ACTIONS=true` is how the runner says "you are in a job".
pub fn use_plain_text(plain: bool) {
    PLAIN.store(plain, Ordering::Relaxed);
}

fn plain() -> bool {
    PLAIN.load(Ordering::Relaxed)
}

fn emit_err(line: &str) {
    let mut out = io::stderr().lock();
    let _ = writeln!(out, "{line}");
}

fn emit(line: &str) {
    let mut out = io::stdout().lock();
    // A closed stdout (the runner gone) must not turn a good download into a panic.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Asks the runner to replace `secret` with `***` in every later log line.
pub fn add_mask(secret: &str) {
    if plain() {
        return;
    }
    // A multi-line secret is masked line by line; the command itself cannot span lines.
    for line in secret.lines().filter(|l| !l.trim().is_empty()) {
        emit(&format!("::add-mask::{}", escape_data(line)));
    }
}

pub fn info(msg: &str) {
    // A plain line that happens to start with `::` would be read as a command.
    if msg.starts_with("::") {
        emit(&format!(" {msg}"));
    } else {
        emit(msg);
    }
}

pub fn debug(msg: &str) {
    if !plain() {
        emit(&format!("::debug::{}", escape_data(msg)));
    }
}

pub fn warning(msg: &str) {
    if plain() {
        emit_err(&format!("warning: {msg}"));
    } else {
        emit(&format!("::warning::{}", escape_data(msg)));
    }
}

pub fn error(title: &str, msg: &str) {
    if plain() {
        emit_err(&format!("error: {title}: {msg}"));
    } else {
        emit(&format!(
            "::error title={}::{}",
            escape_property(title),
            escape_data(msg)
        ));
    }
}

pub fn group(title: &str) {
    if plain() {
        emit(title);
    } else {
        emit(&format!("::group::{}", escape_data(title)));
    }
}

pub fn end_group() {
    if !plain() {
        emit("::endgroup::");
    }
}

/// The step's outputs, written in one append at the end so a failed run leaves no partial set.
#[derive(Debug, Default)]
pub struct Outputs {
    entries: Vec<(String, String)>,
}

impl Outputs {
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.entries.push((name.to_owned(), value.into()));
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// Renders every output in the heredoc form (`name<<DELIM`), which is safe for any value,
    /// with a fresh random delimiter that is checked not to occur in the value.
    pub fn render(&self) -> io::Result<String> {
        let mut out = String::new();
        for (name, value) in &self.entries {
            let delim = loop {
                let d = format!("ghadelimiter_{}", random_hex(16)?);
                if !value.contains(&d) {
                    break d;
                }
            };
            out.push_str(&format!("{name}<<{delim}\n{value}\n{delim}\n"));
        }
        Ok(out)
    }

    /// Appends to the file named by `GITHUB_OUTPUT`.
    pub fn write_to(&self, path: &Path) -> io::Result<()> {
        append(path, &self.render()?)
    }
}

/// Appends Markdown to the file named by `GITHUB_STEP_SUMMARY`.
pub fn append_summary(path: &Path, markdown: &str) -> io::Result<()> {
    append(path, markdown)
}

fn append(path: &Path, text: &str) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))
}

fn random_hex(bytes: usize) -> io::Result<String> {
    crate::random::hex(bytes)
}

/// The files the runner gave us, read from the environment once.
#[derive(Debug, Clone, Default)]
pub struct RunnerFiles {
    pub output: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    /// Set when we run in the action's container, where the workspace is mounted at
    /// [`CONTAINER_WORKSPACE`].
    pub container_workspace: Option<PathBuf>,
}

/// Where the runner mounts the job workspace in a container action.
pub const CONTAINER_WORKSPACE: &str = "/github/workspace";

impl RunnerFiles {
    /// A path as later steps can use it. In the container, `/github/workspace/out` exists only
    /// for us: the steps after ours run on the host, where the workspace lives elsewhere, and
    /// their working directory is the workspace. So a path inside the workspace is given
    /// relative to it (`out`, or `.` for the workspace itself); any other path as it is.
    pub fn shown(&self, path: &Path) -> String {
        match self
            .container_workspace
            .as_deref()
            .and_then(|ws| path.strip_prefix(ws).ok())
        {
            Some(rel) if rel.as_os_str().is_empty() => ".".to_owned(),
            Some(rel) => rel.display().to_string(),
            None => path.display().to_string(),
        }
    }
}

impl RunnerFiles {
    pub fn from_env(env: &impl crate::inputs::Env) -> Self {
        let path = |name| {
            env.var(name)
                .filter(|v| !v.trim().is_empty())
                .map(PathBuf::from)
        };
        RunnerFiles {
            output: path("GITHUB_OUTPUT"),
            summary: path("GITHUB_STEP_SUMMARY"),
            container_workspace: path("GITHUB_WORKSPACE")
                .filter(|ws| ws.as_path() == Path::new(CONTAINER_WORKSPACE)),
        }
    }
}

/// Escapes text for a Markdown table cell.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_log_data() {
        assert_eq!(escape_data("100%\r\nok"), "100%25%0D%0Aok");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn heredoc_outputs_round_trip() {
        let mut o = Outputs::default();
        o.set("plain", "x");
        o.set("multi", "line one\nline two\nghadelimiter_");
        let text = o.render().unwrap();
        let mut lines = text.lines();
        let mut parsed = Vec::new();
        while let Some(head) = lines.next() {
            let (name, delim) = head.split_once("<<").unwrap();
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            parsed.push((name.to_owned(), value.join("\n")));
        }
        assert_eq!(parsed, o.entries());
    }

    #[test]
    fn paths_inside_the_container_workspace_are_relative() {
        let files = RunnerFiles {
            container_workspace: Some(CONTAINER_WORKSPACE.into()),
            ..RunnerFiles::default()
        };
        assert_eq!(files.shown(Path::new("/github/workspace/out/a")), "out/a");
        assert_eq!(files.shown(Path::new("/github/workspace")), ".");
        assert_eq!(files.shown(Path::new("/github/home/x")), "/github/home/x");
        assert_eq!(RunnerFiles::default().shown(Path::new("/w/out")), "/w/out");
    }

    #[test]
    fn table_cells() {
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
    }
}
