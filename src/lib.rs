//! Kai: a daemon that lets a small team talk over Telegram to coding agents
//! (OpenAI Codex CLI, Claude Code), each Telegram user's agent running under
//! their own OS account, plus the GitHub automation (reviews, triage,
//! notices) that runs beside it. docs/design.md explains how it works and
//! maps every module; README.md is the operator manual.
//!
//! `main.rs` is a thin edge (argument parsing, signals, exit codes). What
//! it, the integration tests, the benchmarks and the fuzz targets use is
//! exported here; everything else stays inside the crate.

pub mod agent;
pub mod catalog;
pub mod chat;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod eval;
pub mod files;
pub mod github;
pub mod logging;
mod models;
pub mod osuser;
pub mod process;
mod retry;
mod router;
mod state;
pub mod systemd;
pub mod telegram;
pub(crate) mod transcribe;
pub mod usage;
mod utc;
