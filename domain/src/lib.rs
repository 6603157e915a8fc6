//! The pure core of cws chat-ops: the `/cws` grammar, workspace templates and pricing, launch
//! planning, jobs exchanged between bot and worker, user-facing messages, settings, and the
//! ports that adapters implement. Nothing here performs I/O or depends on an async runtime.

pub mod account;
pub mod alert;
pub mod audit;
pub mod budget;
pub mod chargeback;
pub mod command;
pub mod deployment;
pub mod digest;
pub mod doctor;
pub mod efs_utils;
pub mod exception;
pub mod expiry;
pub mod identity;
pub mod idle;
pub mod invitation;
pub mod job;
pub mod launch;
pub mod ledger;
pub mod limit;
pub mod message;
pub mod network;
pub mod pdf;
pub mod policy;
pub mod ports;
pub mod preserve;
pub mod pricing;
pub mod profile;
pub mod project;
pub mod quota;
pub mod retry;
pub mod service_secret;
pub mod settings;
mod shell;
pub mod slack_signature;
pub mod spreadsheet;
pub mod ssh_key;
pub mod template;
pub mod time_text;
pub mod token;
pub mod url_prefix;
pub mod user_data;
pub mod verified_identity;
pub mod volume;
pub mod workspace;
