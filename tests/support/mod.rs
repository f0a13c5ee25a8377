//! Helpers shared by the integration tests. Each test binary uses only some of them.
#![allow(dead_code)]

pub mod action;
pub mod dist;
pub mod fake_github;
pub mod proxy;
pub mod tls;
pub mod zips;
