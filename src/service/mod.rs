//! Owns the business operations, shared by the JSON API, the CLI and the web pages:
//! a handler extracts, calls one function here, and responds. Permission checks,
//! multi-table writes and publishing activities live here, not in handlers.

pub mod actions;
pub mod collectivites;
pub mod comments;
pub mod directory;
pub mod domain_policy;
pub mod exports;
pub mod follows;
pub mod import;
pub mod keys;
pub mod login_limiter;
pub mod moderation;
pub mod nearby;
pub mod notifications;
pub mod partnerships;
pub mod passwords;
pub mod permissions;
pub mod tokens;
pub mod users;
