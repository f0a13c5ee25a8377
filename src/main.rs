//! The entry point, for the container and the command line alike: read inputs (flags become
//! `INPUT_*` variables), run the pipeline, turn any error into an `::error::` line (plain
//! `error:` off the runner) and exit code 1.

use std::process::ExitCode;

use fetch_artifact::cli::{self, Command, Layered};
use fetch_artifact::inputs::{self, Env, Inputs, ProcessEnv};
use fetch_artifact::runner::{self, RunnerFiles};

fn main() -> ExitCode {
    let args = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    let overlay = match cli::parse(args) {
        Ok(Command::Run(overlay)) => overlay,
        Ok(Command::Help) => {
            print!("{}", cli::help());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("fetch-artifact {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let env = Layered {
        overlay: &overlay,
        base: &ProcessEnv,
    };
    runner::use_plain_text(env.var("GITHUB_ACTIONS").as_deref() != Some("true"));
    // Before anything else is printed, so no later line can show the token.
    if let Some(token) = inputs::raw_token(&env) {
        runner::add_mask(&token);
    }
    let inputs = match Inputs::from_env(&env) {
        Ok(i) => i,
        Err(e) => {
            runner::error("Invalid input", &e.to_string());
            return ExitCode::FAILURE;
        }
    };
    let files = RunnerFiles::from_env(&env);
    match fetch_artifact::run_to_completion(&inputs, &files) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            runner::error("fetch-artifact failed", &format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}
