//! One integration-test binary: every file here is a module, so the crate links once.

#[path = "../support/mod.rs"]
mod support;

mod container;
mod discovery;
mod fake_server;
mod faults;
mod fetch;
mod hostile;
mod network;
mod runner_fit;
