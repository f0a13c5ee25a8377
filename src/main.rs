//! The container's entry point: read inputs, run the pipeline, turn any error into an
//! `::error::` line and exit code 1.

use std::process::ExitCode;

use fetch_artifact::inputs::{self, Inputs, ProcessEnv};
use fetch_artifact::runner::{self, RunnerFiles};

fn main() -> ExitCode {
    let env = ProcessEnv;
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
