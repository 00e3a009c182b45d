/*!
The pure ActivityPub layer: what goes over the wire, with no HTTP server, no storage
and no service behind it (SPEC §3). It owns the JSON-LD `@context` ([`context`]), ids
([`ids`], the one activity-id minter), the typed activities ([`activities`]), the objects that
need nothing of the node ([`objects`]) and HTTP Signatures ([`signatures`]). `federation/` (inbox, routes, delivery) and
`service/` build on it; it imports none of them.
*/

pub mod activities;
pub mod context;
pub mod ids;
pub mod objects;
pub mod signatures;
