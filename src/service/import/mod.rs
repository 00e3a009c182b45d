//! Bulk import of a collectivité's actions from a spreadsheet saved as CSV (`maillage
//! import`; the columns are described in `docs/import.md`). Each row becomes an
//! `ActionBody` draft checked by the same validation as the API (`domain::drafts`); good rows are published
//! through [`service::actions`](crate::service::actions) like any action, bad rows are
//! reported with their line number and reason, in French, for the editor.
//!
//! Idempotence: every imported action keeps an import key (the row's `reference` cell,
//! or a hash of the normalised row), unique per collectivité; importing the same file
//! again finds those actions instead of creating them twice, and a row with a
//! `reference` whose content changed updates its action.
//!
//! [`parse`] (`parse.rs`) reads and checks the file (encoding, separator, header) at
//! once, and each row; [`import`] (`apply.rs`) then handles its rows one by one and
//! calls back after each, for a progress bar. [`import_csv`] does both.

mod apply;
mod parse;
#[cfg(test)]
mod tests;

pub use apply::{ImportReport, Progress, RowOutcome, RowReport, import, import_csv};
pub use parse::{
    Column, REFERENCE_MAX, RowError, Sheet, detect_separator, normalise_header, parse, split_cell,
};
