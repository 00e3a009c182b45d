//! Domain → AS2 for actions: [`action_to_as`] builds the `Article` the node serves and
//! publishes (it needs the node's URLs). The wire structs and the AS2 → domain reading
//! are the pure layer's (`crate::activitypub::objects::action`), re-exported here.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use url::Url;

use crate::activitypub::ids::PUBLIC;
pub use crate::activitypub::objects::action::*;
use crate::activitypub::objects::place::PlaceJson;
use crate::domain::Action;
use crate::state::AppState;

fn day_start(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc()
}

/// Domain → AS2: the `Article` of an action (local or remote, as we know it).
pub fn action_to_as(action: &Action, state: &AppState) -> ArticleJson {
    let data = &action.data;
    let followers = if action.owner.local {
        state.url(&format!("/actors/{}/followers", action.owner.username))
    } else {
        Url::parse(&format!("{}/followers", action.owner.ap_id))
            .unwrap_or_else(|_| action.owner.ap_id.clone())
    };
    let mut attachment: Vec<AttachmentJson> = data
        .links
        .iter()
        .map(|l| AttachmentJson {
            kind: "Link".into(),
            href: Some(l.url.clone()),
            url: None,
            name: l.description.clone(),
        })
        .collect();
    attachment.extend(data.images.iter().map(|i| AttachmentJson {
        kind: "Image".into(),
        href: None,
        url: Some(i.url.clone()),
        name: i.description.clone(),
    }));
    ArticleJson {
        kind: "Article".into(),
        id: action.ap_id.clone(),
        attributed_to: action.owner.ap_id.clone(),
        name: data.name.clone(),
        summary: Some(action.display_summary()),
        content: data.content.html.to_string(),
        media_type: Some("text/html".into()),
        source: data.content.source.as_ref().map(|source| SourceJson {
            content: source.clone(),
            media_type: "text/markdown".into(),
        }),
        url: Some(action.url.clone()),
        published: Some(action.published),
        updated: Some(action.updated),
        to: vec![Url::parse(PUBLIC).expect("BUG: constant URL")],
        cc: vec![followers],
        tag: data
            .themes
            .iter()
            .map(|theme| TagJson {
                kind: "Hashtag".into(),
                name: theme.hashtag(),
                href: Some(state.url(&format!("/themes/{theme}"))),
            })
            .collect(),
        location: data.locations.iter().map(PlaceJson::from).collect(),
        start_time: data.start_date.map(day_start),
        end_time: data.end_date.map(day_start),
        replies: Some(state.url(&format!("/actions/{}/replies", action.id))),
        attachment,
        phase: Some(data.phase.as_str().into()),
        status: Some(data.status.as_str().into()),
        themes: data.themes.iter().map(|t| t.to_string()).collect(),
        partners: action.partners.clone(),
        open_to_partners: data.open_to_partners,
        budget: data.budget_eur,
        results: data.results.as_ref().map(|r| r.html.to_string()),
        recommendations: data.recommendations.as_ref().map(|r| r.html.to_string()),
        software: data.software.clone(),
        providers: data.providers.clone(),
        contacts: if data.contacts_public {
            data.contacts.clone()
        } else {
            Vec::new()
        },
    }
}
