//! Maillage: a federated, contributive directory of the digital public actions of French
//! local authorities (collectivités).
//!
//! Where things live (see `docs/architecture.md` for the diagram):
//! - [`domain`]: validated value types (INSEE code, SIREN, theme, phase…) and the domain
//!   records (`Collectivite`, `Action`). Everything coming from outside is parsed here.
//! - [`referential`] and [`taxonomy`]: the embedded French referential and the theme list.
//! - [`db`]: the `Store`, one interface over SQLite and PostgreSQL, sharing SQL text.
//! - [`service`]: business operations used by the API, the CLI and the web pages alike.
//! - [`activitypub`]: the pure ActivityPub layer (no HTTP server, no storage): the
//!   `@context`, typed activities, HTTP Signatures.
//! - [`federation`]: the HTTP side of ActivityPub: wire structs of actors and objects,
//!   inbox, delivery, WebFinger, NodeInfo, collections.
//! - [`api`]: the JSON API under `/api/v1` and its OpenAPI document.
//! - [`web`]: server-rendered HTML pages.
//! - [`cli`]: the `maillage` command line.
//! - [`startup`]: builds the application and runs it; [`server`]: the accept loop
//!   (header-read timeout, connection caps); [`metrics`]: Prometheus;
//!   [`input`]: checks of raw request input before routing (NUL bytes).
#![warn(missing_docs)]

pub mod activitypub;
pub mod api;
pub mod cli;
pub mod config;
pub mod db;
pub mod directory;
pub mod domain;
pub mod error;
pub mod federation;
pub mod input;
pub mod limits;
pub mod metrics;
pub mod referential;
pub mod server;
pub mod service;
pub mod startup;
pub mod state;
pub mod taxonomy;
pub mod telemetry;
pub mod web;
