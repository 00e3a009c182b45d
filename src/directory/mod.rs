//! Owns the directory (SPEC §4): what a node knows — its own actions and those of the
//! actors it follows — searched with filters and facets. [`SearchQuery`] is parsed and
//! checked at the edge; [`crate::db::search`] runs it on either engine.

pub mod export;
pub mod search;
pub mod text;

pub use search::{Facet, SearchPage, SearchQuery, Sort};
