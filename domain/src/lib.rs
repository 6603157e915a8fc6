//! The pure core of cws chat-ops: the `/cws` grammar, workspace templates and pricing, launch
//! planning, jobs exchanged between bot and worker, user-facing messages, settings, and the
//! ports that adapters implement. Nothing here performs I/O or depends on an async runtime.

pub mod command;
pub mod job;
pub mod launch;
pub mod message;
pub mod ports;
pub mod pricing;
pub mod retry;
pub mod settings;
pub mod slack_signature;
pub mod template;
pub mod workspace;
