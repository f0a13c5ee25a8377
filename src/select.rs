//! What to fetch: which runs qualify (`workflow-conclusion`) and which artifacts of a run
//! (`name`, `pattern`, `name-is-regexp`, `artifact-ids`, or all of them).

use std::collections::BTreeMap;

use crate::github::{Artifact, ArtifactId};

/// How artifacts are chosen.
#[derive(Debug, Clone)]
pub enum Selection {
    /// `name`: exactly this name; lands straight in `path`.
    Name(String),
    /// `pattern`: a glob over the whole name.
    Pattern(Glob),
    /// `name` with `name-is-regexp: true`.
    Regex(regex_lite::Regex),
    /// `artifact-ids`.
    Ids(Vec<ArtifactId>),
    /// None of the above: every artifact of the run.
    All,
}

impl Selection {
    pub fn matches(&self, artifact: &Artifact) -> bool {
        match self {
            Selection::Name(n) => artifact.name == *n,
            Selection::Pattern(g) => g.matches(&artifact.name),
            Selection::Regex(r) => r.is_match(&artifact.name),
            Selection::Ids(ids) => ids.contains(&artifact.id),
            Selection::All => true,
        }
    }

    /// Only an exact name puts the files straight into `path`; every other selection may
    /// match several artifacts, so each gets `path/<name>`.
    pub fn is_single_name(&self) -> bool {
        matches!(self, Selection::Name(_))
    }

    /// The exact name, when the server can filter by it.
    pub fn server_name(&self) -> Option<&str> {
        match self {
            Selection::Name(n) => Some(n),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Selection::Name(n) => format!("named `{n}`"),
            Selection::Pattern(g) => format!("matching pattern `{}`", g.source),
            Selection::Regex(r) => format!("matching regular expression `{}`", r.as_str()),
            Selection::Ids(ids) => format!(
                "with id {}",
                ids.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Selection::All => "at all".to_owned(),
        }
    }
}

/// The outcome of applying a selection to a list of artifacts.
#[derive(Debug, Default)]
pub struct Chosen {
    /// The newest live artifact of each matching name, oldest first.
    pub live: Vec<Artifact>,
    /// Names whose every candidate has expired (newest of each).
    pub expired: Vec<Artifact>,
}

/// Keeps the matching artifacts, the newest live one per name (re-runs can upload the same
/// name again), and remembers names that only exist expired.
pub fn choose(selection: &Selection, candidates: Vec<Artifact>) -> Chosen {
    let mut by_name: BTreeMap<String, Vec<Artifact>> = BTreeMap::new();
    for a in candidates.into_iter().filter(|a| selection.matches(a)) {
        by_name.entry(a.name.clone()).or_default().push(a);
    }
    let mut chosen = Chosen::default();
    for (_, group) in by_name {
        let newest = |it: &mut dyn Iterator<Item = Artifact>| {
            it.max_by(|a, b| a.newness().cmp(&b.newness()))
        };
        let (live, dead): (Vec<_>, Vec<_>) = group.into_iter().partition(|a| !a.expired);
        match newest(&mut live.into_iter()) {
            Some(a) => chosen.live.push(a),
            None => chosen.expired.extend(newest(&mut dead.into_iter())),
        }
    }
    chosen.live.sort_by(|a, b| a.newness().cmp(&b.newness()));
    chosen
}

/// A shell-style glob: `*` any run of characters, `?` one character, `[abc]`, `[a-z]`,
/// `[!a-z]` classes. It matches the whole name; there are no path separators in names.
#[derive(Debug, Clone)]
pub struct Glob {
    source: String,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone)]
enum Token {
    Literal(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    pub fn new(source: &str) -> Result<Glob, String> {
        let mut tokens = Vec::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '*' => Token::Star,
                '?' => Token::Any,
                '\\' => Token::Literal(chars.next().ok_or("ends with a lone `\\`")?),
                '[' => {
                    let negated = matches!(chars.peek(), Some('!' | '^'));
                    if negated {
                        chars.next();
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let c = chars.next().ok_or("has an unclosed `[`")?;
                        if c == ']' && !first {
                            break;
                        }
                        first = false;
                        if chars.peek() == Some(&'-') {
                            chars.next();
                            match chars.next() {
                                Some(']') => {
                                    ranges.push((c, c));
                                    ranges.push(('-', '-'));
                                    break;
                                }
                                Some(end) if end >= c => ranges.push((c, end)),
                                Some(end) => {
                                    return Err(format!("has a backwards range `{c}-{end}`"));
                                }
                                None => return Err("has an unclosed `[`".into()),
                            }
                        } else {
                            ranges.push((c, c));
                        }
                    }
                    Token::Class { negated, ranges }
                }
                c => Token::Literal(c),
            });
        }
        Ok(Glob {
            source: source.to_owned(),
            tokens,
        })
    }

    pub fn matches(&self, name: &str) -> bool {
        let chars: Vec<char> = name.chars().collect();
        // Classic iterative matcher with one backtrack point for the last `*`: linear-ish,
        // no exponential blow-up on patterns like `*a*a*a*b`.
        let (mut t, mut c) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while c < chars.len() {
            match self.tokens.get(t) {
                Some(Token::Star) => {
                    star = Some((t, c));
                    t += 1;
                    continue;
                }
                Some(tok) if tok.matches_one(chars[c]) => {
                    t += 1;
                    c += 1;
                    continue;
                }
                _ => {}
            }
            match star {
                Some((st, sc)) => {
                    t = st + 1;
                    c = sc + 1;
                    star = Some((st, sc + 1));
                }
                None => return false,
            }
        }
        self.tokens[t..]
            .iter()
            .all(|tok| matches!(tok, Token::Star))
    }
}

impl Token {
    fn matches_one(&self, c: char) -> bool {
        match self {
            Token::Literal(l) => *l == c,
            Token::Any => true,
            Token::Star => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
        }
    }
}

/// Which runs qualify, by `workflow-conclusion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    Any,
    Status(String),
    Conclusion(String),
}

const STATUSES: &[&str] = &[
    "completed",
    "in_progress",
    "queued",
    "requested",
    "waiting",
    "pending",
];
const CONCLUSIONS: &[&str] = &[
    "success",
    "failure",
    "cancelled",
    "skipped",
    "neutral",
    "timed_out",
    "action_required",
    "stale",
    "startup_failure",
];

impl RunState {
    pub fn parse(raw: &str) -> Result<RunState, String> {
        let v = raw.trim().to_ascii_lowercase();
        if v == "any" {
            Ok(RunState::Any)
        } else if STATUSES.contains(&v.as_str()) {
            Ok(RunState::Status(v))
        } else if CONCLUSIONS.contains(&v.as_str()) {
            Ok(RunState::Conclusion(v))
        } else {
            Err(format!(
                "expected `any`, a run conclusion ({}) or a status ({}), got `{raw}`",
                CONCLUSIONS.join(", "),
                STATUSES.join(", ")
            ))
        }
    }

    pub fn accepts(&self, status: Option<&str>, conclusion: Option<&str>) -> bool {
        match self {
            RunState::Any => true,
            RunState::Status(s) => status == Some(s.as_str()),
            // A conclusion only exists once the run completed; GitHub's own filter has been
            // seen to return runs whose status says otherwise, so check both.
            RunState::Conclusion(c) => {
                conclusion == Some(c.as_str()) && status.is_none_or(|s| s == "completed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = |p: &str, n: &str| Glob::new(p).unwrap().matches(n);
        assert!(g("dist-*", "dist-linux"));
        assert!(g("dist-*", "dist-"));
        assert!(!g("dist-*", "docs"));
        assert!(!g("dist-*", "my-dist-linux"));
        assert!(g("*-[lm]*", "dist-mac"));
        assert!(!g("*-[!lm]*", "dist-mac"));
        assert!(g("a?c", "abc") && !g("a?c", "ac"));
        assert!(g("[a-c]x", "bx") && !g("[a-c]x", "dx"));
        assert!(g("*", "") && g("**a", "a"));
        assert!(g("a\\*", "a*") && !g("a\\*", "ab"));
        assert!(g(
            "*a*a*a*b",
            &"a".repeat(40).to_owned().replace("aa", "ab")
        ));
        assert!(!g(&"*a".repeat(20), &"a".repeat(19)));
        assert!(Glob::new("[abc").is_err());
        assert!(Glob::new("[z-a]").is_err());
    }

    #[test]
    fn run_states() {
        let s = RunState::parse("success").unwrap();
        assert!(s.accepts(Some("completed"), Some("success")));
        assert!(!s.accepts(Some("in_progress"), Some("success")));
        assert!(!s.accepts(Some("completed"), Some("failure")));
        assert!(
            RunState::parse("in_progress")
                .unwrap()
                .accepts(Some("in_progress"), None)
        );
        assert!(RunState::parse("ANY").unwrap().accepts(None, None));
        assert!(RunState::parse("done").is_err());
    }
}
