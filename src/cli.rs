//! The command line: the same binary on a laptop. Each `--flag` is an action input of the same
//! name (from [`INPUTS`], the one definition), so a flag simply becomes the `INPUT_*` variable
//! the runner would have set, and everything after that is the action's own code path.

use std::collections::HashMap;

use crate::inputs::{Env, INPUTS, InputDef};

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run with these `INPUT_*` variables set on top of the environment.
    Run(Overlay),
    Help,
    Version,
}

/// `INPUT_*` values from flags, read before the process environment.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Overlay {
    vars: HashMap<String, String>,
}

impl Overlay {
    /// The flags as the runner would have spelled them (`INPUT_RUN-ID`).
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The overlay first, then `base` (the process environment).
pub struct Layered<'a, E: Env> {
    pub overlay: &'a Overlay,
    pub base: &'a E,
}

impl<E: Env> Env for Layered<'_, E> {
    fn var(&self, name: &str) -> Option<String> {
        if let Some(v) = self.overlay.vars.get(name) {
            return Some(v.clone());
        }
        // A flag wins over both spellings of the same input in the environment.
        if let Some(rest) = name.strip_prefix("INPUT_")
            && self
                .overlay
                .vars
                .contains_key(&format!("INPUT_{}", rest.replace('_', "-")))
        {
            return None;
        }
        self.base.var(name)
    }
}

/// `INPUT_<NAME>` as the runner spells it: upper case, hyphens kept.
pub fn variable(def: &InputDef) -> String {
    format!("INPUT_{}", def.name.to_ascii_uppercase())
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut overlay = Overlay::default();
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            _ => {}
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!(
                "unexpected argument `{arg}`: every option is a --flag (see --help)"
            ));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (flag, None),
        };
        let def = INPUTS
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| unknown(name))?;
        let value = match inline {
            Some(v) => v,
            // `--dry-run` alone means true; `--dry-run false` is still understood.
            None if def.is_flag() => match args.peek().map(String::as_str) {
                Some("true" | "false") => args.next().unwrap_or_default(),
                _ => "true".to_owned(),
            },
            None => args
                .next()
                .filter(|v| !v.starts_with("--"))
                .ok_or_else(|| format!("--{name} needs a value"))?,
        };
        overlay.vars.insert(variable(def), value);
    }
    Ok(Command::Run(overlay))
}

fn unknown(name: &str) -> String {
    let close = INPUTS
        .iter()
        .filter(|d| d.name.contains(name) || name.contains(d.name))
        .map(|d| format!("--{}", d.name))
        .collect::<Vec<_>>();
    if close.is_empty() {
        format!("unknown option --{name} (see --help)")
    } else {
        format!(
            "unknown option --{name}; did you mean {}?",
            close.join(" or ")
        )
    }
}

pub fn help() -> String {
    let mut out = format!(
        "fetch-artifact {}\n\
         Fetch artifacts of a GitHub Actions run, verify their sha256 digests and extract them.\n\n\
         Usage: fetch-artifact --name dist --run-id 123 [--repository owner/name] [--path out] …\n\n\
         The token comes from GITHUB_TOKEN or GH_TOKEN; the API from GITHUB_API_URL (GitHub\n\
         Enterprise Server: https://HOST/api/v3). Every flag is also read from its INPUT_*\n\
         variable, as in the action (--run-id: INPUT_RUN-ID or INPUT_RUN_ID). Outputs go to\n\
         GITHUB_OUTPUT when it is set, and to stdout otherwise.\n\nOptions:\n",
        env!("CARGO_PKG_VERSION")
    );
    for d in INPUTS {
        let left = if d.is_flag() {
            format!("--{}", d.name)
        } else {
            format!("--{} <value>", d.name)
        };
        let default = match d.default {
            "" | "false" => String::new(),
            d if d.contains("${{") => String::new(),
            d => format!(" [default: {d}]"),
        };
        out.push_str(&format!("  {left:<34} {}{default}\n", d.help));
    }
    out.push_str(&format!("  {:<34} {}\n", "-h, --help", "print this help"));
    out.push_str(&format!(
        "  {:<34} {}\n",
        "-V, --version", "print the version"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Overlay, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Command::Run(o) => Ok(o),
            other => Err(format!("{other:?}")),
        }
    }

    fn get<'a>(o: &'a Overlay, var: &str) -> Option<&'a str> {
        o.vars.get(var).map(String::as_str)
    }

    #[test]
    fn flags_become_input_variables() {
        let o = run(&[
            "--repository",
            "o/r",
            "--run-id=123",
            "--name",
            "dist",
            "--dry-run",
            "--merge-multiple",
            "false",
            "--path",
            "out",
        ])
        .unwrap();
        assert_eq!(get(&o, "INPUT_REPOSITORY"), Some("o/r"));
        assert_eq!(get(&o, "INPUT_RUN-ID"), Some("123"));
        assert_eq!(get(&o, "INPUT_NAME"), Some("dist"));
        assert_eq!(get(&o, "INPUT_DRY-RUN"), Some("true"));
        assert_eq!(get(&o, "INPUT_MERGE-MULTIPLE"), Some("false"));
        assert_eq!(get(&o, "INPUT_PATH"), Some("out"));
    }

    #[test]
    fn mistakes_are_named() {
        assert!(
            run(&["--nme", "x"])
                .unwrap_err()
                .contains("unknown option --nme")
        );
        assert!(run(&["--run"]).unwrap_err().contains("--run-id"));
        assert!(run(&["--name"]).unwrap_err().contains("needs a value"));
        assert!(
            run(&["--name", "--path", "x"])
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(run(&["dist"]).unwrap_err().contains("unexpected argument"));
        assert_eq!(
            parse(["--name".into(), "x".into(), "--help".into()]),
            Ok(Command::Help)
        );
        assert_eq!(parse(["-V".to_string()]), Ok(Command::Version));
    }

    #[test]
    fn flags_win_over_both_spellings_in_the_environment() {
        let o = run(&["--run-id", "7"]).unwrap();
        let base = |name: &str| match name {
            "INPUT_RUN_ID" | "INPUT_RUN-ID" => Some("1".to_owned()),
            "INPUT_NAME" => Some("from-env".to_owned()),
            _ => None,
        };
        let env = Layered {
            overlay: &o,
            base: &base,
        };
        assert_eq!(crate::inputs::input(&env, "run-id").as_deref(), Some("7"));
        assert_eq!(
            crate::inputs::input(&env, "name").as_deref(),
            Some("from-env")
        );
    }

    #[test]
    fn help_lists_every_input() {
        let h = help();
        for d in INPUTS {
            assert!(h.contains(&format!("--{}", d.name)), "{} missing", d.name);
        }
        assert!(h.contains("[default: 100]"));
    }
}
