/*!
The pure ActivityPub layer: what goes over the wire, with no HTTP server, no storage
and no service behind it (SPEC §3). It owns the JSON-LD `@context` ([`context`]) and
HTTP Signatures ([`signatures`]). `federation/` (inbox, routes, delivery) and
`service/` build on it; it imports none of them.
*/

pub mod context;
pub mod signatures;
