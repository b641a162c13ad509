//! Helpers the service components share over spin-sdk 5.2.
//!
//! Everything here maps host failures onto [`platform_core::ApiError`] so that
//! no Postgres or Redis text ever reaches a client: details go to stderr
//! (Spin's component log), clients get the contract's message.

pub mod cache;
pub mod config;
pub mod db;
