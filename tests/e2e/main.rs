//! End-to-end tests: signed Slack requests in, EC2 instances in moto and Slack messages out,
//! through real Redis and the real worker binary.

mod harness;

mod audit;
mod backup;
mod bad_input;
mod bounded;
mod collaboration_output;
mod cost;
mod dead_letters;
mod deployment;
mod discord;
mod doctor;
mod embedded;
mod expiry;
mod extension;
mod grace;
mod homes;
mod idle;
mod invitations;
mod launch;
mod lifecycle;
mod message_limits;
mod money;
mod network;
mod operability;
mod pdf_export;
mod policy;
mod recovery;
mod redis_outage;
mod regions;
mod safety;
mod seed_spellings;
mod settings_at_start;
mod signatures;
mod snapshots;
mod ssh_keys;
mod stacks;
mod studio;
mod template_governance;
mod templates_dir;
mod verification;
mod volumes;
mod web_services;
