//! Black-box tests of a real Maillage node: real server on a free port, real HTTP,
//! real SQLite and PostgreSQL. PostgreSQL cases run when `MAILLAGE_TEST_DATABASE_URL`
//! is set (CI sets it) and say so when skipped. `TEST_LOG=1` shows the logs.

mod helpers;

mod accessibility;
mod actions;
mod activitypub;
mod admin;
mod admin_browser;
mod admin_domains;
mod admission;
mod aggregator;
mod architecture;
mod browser;
mod cli;
mod cli_admin;
mod cli_ops;
mod collectivite_delete;
mod collectivites;
mod concurrency;
mod crash;
mod db_copy;
mod demo;
mod directory;
mod directory_bounds;
mod domains;
mod federation;
mod file_modes;
mod hostile;
mod hostile_federation;
mod hostile_http;
mod http_hardening;
mod http_signatures;
mod import;
mod interop;
mod jsonld;
mod keys;
mod moderation_queue;
mod mutualisation;
mod nearby;
mod no_phantom;
mod notifications;
mod operations;
mod operations_doc;
mod operator_view;
mod pages;
mod permissions;
mod restore;
mod scaleout;
mod sign_ins;
mod strict_config;
mod validation;
mod verification;
mod wire;
