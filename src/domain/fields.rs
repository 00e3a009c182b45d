//! Owns field-level validation errors: [`FieldErrors`] collects every invalid field while
//! an input draft (`domain::drafts`) or a query string is converted into domain values,
//! and [`InvalidFields`] is what the conversion answers. The HTTP error type renders it as
//! a `422` problem+json; the web admin and the CSV import show it next to their inputs.

use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field of a request body or query string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON path of the field, e.g. `themes[1]` or `location[0].latitude`.
    pub field: String,
    /// Human-readable message, in French, saying what is expected.
    pub message: String,
}

impl FieldError {
    /// A field error for `field` with `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every invalid field of one input, in the order they were found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fields")]
pub struct InvalidFields(pub Vec<FieldError>);

/// Collects field errors while a body is converted into a domain value.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Records an error on `field`.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Keeps the value of `result`, or records its error on `field` and returns `None`.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: impl Into<String>,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(field, error.to_string());
                None
            }
        }
    }

    /// `Ok(value)` when no error was recorded, every recorded field otherwise.
    ///
    /// # Errors
    /// [`InvalidFields`] with every recorded field.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, InvalidFields> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(InvalidFields(self.0))
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
