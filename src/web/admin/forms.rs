//! What the admin's forms share: reading a url-encoded body ([`FormData`]: browsers
//! repeat the `themes` key, which `axum::Form` cannot read), errors by input
//! ([`FormErrors`], the error summary), inputs and choices as templates show them, the
//! French ways of typing numbers, the action an editor may reach
//! (`service::permissions::owned_action`), and uploads. The pages are one file per
//! resource: `profile.rs`, `actions.rs`, `import.rs`, `partnerships.rs`,
//! `comments.rs`, `follows.rs`, `blocks.rs`.

use std::collections::HashMap;

use axum::extract::Multipart;
use axum::http::StatusCode;

use crate::domain::FieldError;
use crate::domain::{Action, Collectivite, french};
use crate::error::{AppError, AppResult};
use crate::service;
use crate::state::AppState;

/// A url-encoded form: every value of every key, in order (line ends as `\n`).
pub(super) struct FormData(Vec<(String, String)>);

impl FormData {
    pub(super) fn parse(bytes: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.replace("\r\n", "\n")))
                .collect(),
        )
    }

    /// The first value of `key`, or `""`.
    pub(super) fn get(&self, key: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Every value of `key`.
    pub(super) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }
}

/// Errors of a form, by input name; `general` for what no input shows.
#[derive(Debug, Default)]
pub(super) struct FormErrors {
    pub(super) fields: HashMap<&'static str, Vec<String>>,
    pub(super) general: Vec<String>,
}

impl FormErrors {
    pub(super) fn push(&mut self, field: &'static str, message: impl Into<String>) {
        self.fields.entry(field).or_default().push(message.into());
    }

    pub(super) fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    /// The messages of `field`, joined.
    pub(super) fn message(&self, field: &str) -> String {
        self.fields
            .get(field)
            .map(|m| m.join(" ; "))
            .unwrap_or_default()
    }

    /// Adds the API's field errors, each on the input `input_of` names (or `general`).
    /// Inputs that already have an error of the form itself keep only that one.
    pub(super) fn add_api(
        &mut self,
        errors: Vec<FieldError>,
        input_of: impl Fn(&str) -> Option<&'static str>,
        message_of: impl Fn(&FieldError) -> String,
    ) {
        let before: Vec<&'static str> = self.fields.keys().copied().collect();
        for error in errors {
            match input_of(&error.field) {
                Some(input) if before.contains(&input) => {}
                Some(input) => self.push(input, message_of(&error)),
                None => self
                    .general
                    .push(format!("{} : {}", error.field, error.message)),
            }
        }
    }

    /// The error summary at the top of a page: `(input id, label, message)` in the
    /// order of `inputs`, then the general errors.
    pub(super) fn summary(&self, inputs: &[(&'static str, &'static str)]) -> Vec<SummaryItem> {
        let mut items: Vec<SummaryItem> = inputs
            .iter()
            .filter(|(name, _)| self.fields.contains_key(name))
            .map(|(name, label)| SummaryItem {
                anchor: name.to_string(),
                label: label.to_string(),
                message: self.message(name),
            })
            .collect();
        items.extend(self.general.iter().map(|message| SummaryItem {
            anchor: String::new(),
            label: String::new(),
            message: message.clone(),
        }));
        items
    }
}

/// One line of the error summary.
pub struct SummaryItem {
    pub(super) anchor: String,
    pub(super) label: String,
    pub(super) message: String,
}

/// An input as the templates show it.
pub struct Field {
    pub(super) name: &'static str,
    pub(super) label: &'static str,
    pub(super) value: String,
    pub(super) hint: &'static str,
    pub(super) error: String,
    /// `aria-describedby`: the hint's and the error's ids.
    pub(super) described: String,
    /// Marked "(obligatoire)" and `required` (the server checks it all the same).
    pub(super) required: bool,
}

impl Field {
    pub(super) fn new(
        name: &'static str,
        label: &'static str,
        value: impl Into<String>,
        hint: &'static str,
        errors: &FormErrors,
    ) -> Self {
        let error = errors.message(name);
        let mut ids = Vec::new();
        if !hint.is_empty() {
            ids.push(format!("{name}-aide"));
        }
        if !error.is_empty() {
            ids.push(format!("{name}-erreur"));
        }
        Self {
            name,
            label,
            value: value.into(),
            hint,
            error,
            described: ids.join(" "),
            required: false,
        }
    }

    /// The same field, marked required.
    pub(super) fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

/// An option of a `<select>`.
pub struct Choice {
    pub(super) value: &'static str,
    pub(super) label: &'static str,
    pub(super) selected: bool,
}

pub(super) fn choices<T: Copy>(
    all: &[T],
    value: &str,
    key: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|item| Choice {
            value: key(*item),
            label: label(*item),
            selected: key(*item) == value,
        })
        .collect()
}

/// The non-empty lines (or `separators`-separated items) of a text, trimmed.
pub(super) fn items(text: &str, separators: &[char]) -> Vec<String> {
    text.split(|c| c == '\n' || separators.contains(&c))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

pub(super) fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// A whole number typed with spaces or a unit (`15 000 €`, `12 345`).
pub(super) fn parse_integer(text: &str) -> Result<Option<i64>, ()> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '€' && *c != '\u{202f}')
        .collect();
    if compact.is_empty() {
        return Ok(None);
    }
    compact.parse::<i64>().map(Some).map_err(|_| ())
}

/// A coordinate, with a decimal point or a French decimal comma.
pub(super) fn parse_coordinate(text: &str) -> Result<Option<f64>, ()> {
    let text = text.trim().replace(',', ".");
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map(Some)
        .ok_or(())
}

pub(super) fn not_found_action(id: &str) -> AppError {
    AppError::NotFound(format!("aucune action « {id} » pour cette collectivité"))
}

/// A live, local action of `owner`; `404` for any other (`410` once deleted).
pub(super) async fn owned_action(
    state: &AppState,
    owner: &Collectivite,
    id: &str,
) -> AppResult<Action> {
    use service::permissions::ActionDenied;
    service::permissions::owned_action(state, owner, id)
        .await
        .map_err(|denied| match denied {
            ActionDenied::Deleted { name, when } => {
                AppError::Gone(format!("l'action « {name} » {}", french::deleted_on(when)))
            }
            ActionDenied::Store(error) => error.into(),
            ActionDenied::NotAnId(_) | ActionDenied::Unknown(_) | ActionDenied::Remote => {
                not_found_action(id)
            }
        })
}

/// The parts of an upload form: its CSRF token, an optional `list` choice, the file.
#[derive(Debug, Default)]
pub(super) struct Upload {
    pub(super) csrf: String,
    pub(super) list: String,
    pub(super) file: Option<Vec<u8>>,
}

/// Reads the `csrf`, `list` and `file` parts of an upload (the CSV import of actions,
/// the domain lists); an empty file counts as none.
pub(super) async fn read_upload(multipart: &mut Multipart) -> Result<Upload, String> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "fichier trop volumineux : {} Mo au plus",
                crate::startup::BODY_LIMIT / (1024 * 1024)
            )
        } else {
            format!("envoi illisible : {}", e.body_text())
        }
    };
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => upload.csrf = field.text().await.map_err(unreadable)?,
            Some("list") => upload.list = field.text().await.map_err(unreadable)?,
            Some("file") => {
                let bytes = field.bytes().await.map_err(unreadable)?;
                if !bytes.is_empty() {
                    upload.file = Some(bytes.to_vec());
                }
            }
            _ => {}
        }
    }
    Ok(upload)
}
