//! `dentex-gateway` joins every crate into the running service: typed
//! configuration, application state, the HTTP edge (request ids, tracing,
//! metrics, security headers, problem+json for every error, CORS, body limits,
//! graceful shutdown), health and readiness, the OpenAPI document and its
//! reference page, and the `dentex` binary with its subcommands.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod app;
pub mod cli;
pub mod config;
pub mod docs;
pub mod edge;
pub mod health;
pub mod jobs;
pub mod metrics;
pub mod pages;
pub mod server;
pub mod state;

pub use app::Application;
pub use config::Config;

/// Installs the process-wide TLS crypto provider (aws-lc-rs). Call first in
/// `main` and in test harnesses: two providers in one process make TLS clients
/// panic at their first handshake.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
