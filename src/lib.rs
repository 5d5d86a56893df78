//! webcare: hears what people say in public about the Dutch asylum procedure, finds the
//! complaints that keep coming back, and gets them in front of the people who can act.
//!
//! Data flows one way:
//!
//! ```text
//! config ──► sources (one file per platform) ──► pipeline (plain functions over a Mention)
//!        ──► search::writer (the one IndexWriter, positions in the commit payload)
//!        ──► search (tantivy) ──► http (API) and the command line
//! ```
//!
//! The binary (`src/bin/webcare/`) only parses arguments, loads the config and calls in here.

pub mod access;
pub mod alerts;
pub mod backtest;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod eval;
pub mod export;
pub mod files;
pub mod http;
pub mod import;
pub mod mention;
pub mod pipeline;
pub mod poll;
pub mod retention;
pub mod search;
pub mod sources;
pub mod state;
pub mod train;

pub use config::Config;
pub use mention::Mention;
