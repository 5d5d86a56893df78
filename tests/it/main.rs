//! Integration tests: the real daemon (in-process) or binary against real HTTP servers
//! on 127.0.0.1 with ephemeral ports. No internet.

mod access;
mod alerts;
mod cli;
mod corpora;
mod daemon;
mod export;
mod fixtures;
mod index;
mod platforms;
mod polling;
mod quality;
