//! Kai: a Telegram gateway to coding-agent CLIs, one OS account per user.
//! `main.rs` is a thin edge; everything here is testable on its own.

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
pub mod models;
pub mod osuser;
pub mod process;
pub mod retry;
pub mod router;
pub mod state;
pub mod systemd;
pub mod telegram;
