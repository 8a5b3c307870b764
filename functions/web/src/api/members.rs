//! The neighbours, and the referent's care of them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vigie::app::members::{self, Invalid, Invitation, NewMember, Problem};
use vigie::app::neighbours;
use vigie::domain::MemberId;
use vigie::model::Recipient;

use super::{ApiError, CommunityJson, not_null};
use crate::app::AppState;
use crate::error::WebError;
use crate::forms::{Query, Segments};
use crate::guard::{CsrfHeader, CsrfJson, Referent};
use crate::i18n::Lang;
use crate::pages::members::{Neighbour, read_neighbours};
use crate::session::Signed;

#[derive(Debug, Serialize)]
pub struct MembersJson {
    pub community: CommunityJson,
    pub members: Vec<Neighbour>,
    pub next: Option<String>,
}

/// `GET /api/members?community=&after=`: the neighbours, as the page shows them.
pub(super) async fn list(
    State(state): State<AppState>,
    lang: Lang,
    signed: Signed,
    Query(query): Query,
) -> Result<Json<MembersJson>, WebError> {
    // A cursor that is not a member's row starts from the first page (the store checks it).
    let after = query.get("after");
    let found = read_neighbours(&state, &signed, lang, query.get("community"), after).await?;
    Ok(Json(MembersJson {
        community: CommunityJson {
            id: found.community.id.to_string(),
            name: found.community.name.clone(),
            town: found.community.town.clone(),
        },
        members: found.neighbours,
        next: found.next.map(|c| c.0),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMemberJson {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    pub sms_alerts: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    pub email_alerts: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    pub hide_phone: Option<bool>,
}

/// `POST /api/members` (referent): as the referent's form.
pub(super) async fn create(
    State(state): State<AppState>,
    lang: Lang,
    referent: Referent,
    CsrfJson(body): CsrfJson<NewMemberJson>,
) -> Result<Response, ApiError> {
    let values = NewMember {
        first_name: body.first_name,
        last_name: body.last_name,
        email: body.email.unwrap_or_default(),
        phone: body.phone.unwrap_or_default(),
        sms_alerts: body.sms_alerts.unwrap_or(true),
        email_alerts: body.email_alerts.unwrap_or(true),
        hide_phone: body.hide_phone.unwrap_or(false),
    };
    match crate::pages::admin::add_member(&state, &referent, &values).await {
        Ok(added) => {
            let recipient = Recipient { email: None, ..Recipient::of(&added.member) };
            let seen = neighbours::Neighbour::seen_by(&recipient, &referent.signed().member);
            Ok((StatusCode::CREATED, Json(Neighbour::of(&seen, lang))).into_response())
        }
        Err(Problem::Invalid(invalid)) => {
            let code = invalid.first().map_or("invalid", |first| invalid_code(*first));
            Err(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, code))
        }
        Err(Problem::TooManyInvitations) => {
            Err(ApiError::Problem(StatusCode::TOO_MANY_REQUESTS, "too_many_invitations"))
        }
        Err(err) => Err(ApiError::Web(err.into())),
    }
}

/// The stable code of what is wrong with a new member (`docs/openapi.yaml`).
fn invalid_code(invalid: Invalid) -> &'static str {
    match invalid {
        Invalid::FirstName => "invalid_first_name",
        Invalid::FirstNameNotAllowed => "first_name_not_allowed",
        Invalid::LastName => "invalid_last_name",
        Invalid::Email => "invalid_email",
        Invalid::Phone => "invalid_phone",
        Invalid::PhoneCountry => "phone_country_not_allowed",
        Invalid::ContactRequired => "contact_required",
    }
}

/// `DELETE /api/members/{id}` (referent).
pub(super) async fn delete(
    State(state): State<AppState>,
    referent: Referent,
    _: CsrfHeader,
    Segments(id): Segments<String>,
) -> Result<StatusCode, WebError> {
    let id: MemberId = id.parse().map_err(|_| WebError::NotFound)?;
    members::remove(state.store(), referent.community(), referent.signed().member.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/members/{id}/erasure` (referent): the member asked in person.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureJson {
    /// Must be true: the member asked their referent in person.
    pub asked_in_person: bool,
}

/// `POST /api/members/{id}/erasure` (referent): the account of a member without an address
/// erased at their request, as the referent's page does.
pub(super) async fn erase(
    State(state): State<AppState>,
    referent: Referent,
    Segments(id): Segments<String>,
    CsrfJson(body): CsrfJson<ErasureJson>,
) -> Result<Json<vigie::app::erasure::Erased>, ApiError> {
    let id: MemberId = id.parse().map_err(|_| ApiError::Web(WebError::NotFound))?;
    if !body.asked_in_person {
        return Err(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, "not_asked"));
    }
    let community = &referent.community().id;
    vigie::app::erasure::erase_for(state.store(), &referent.signed().member, community, id)
        .await
        .map(Json)
        .map_err(super::me::erasure_problem)
}

#[derive(Debug, Serialize)]
pub struct InvitedJson {
    /// `sent`, or `not_sent` (the send failed: the number waits for its owner's OUI all the same).
    pub invitation: &'static str,
}

/// `POST /api/members/{id}/invite` (referent): the invitation texted again to an invited member,
/// as the referent's page does.
pub(super) async fn reinvite(
    State(state): State<AppState>,
    referent: Referent,
    _: CsrfHeader,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    let id: MemberId = id.parse().map_err(|_| WebError::NotFound)?;
    let first_name = &referent.signed().member.first_name;
    match members::reinvite(state.store(), &state.messengers(), referent.community(), first_name, id).await {
        Ok(invitation) => {
            let invitation = match invitation {
                Invitation::NotSent(_) => "not_sent",
                Invitation::Sent | Invitation::None => "sent",
            };
            Ok((StatusCode::OK, Json(InvitedJson { invitation })).into_response())
        }
        Err(Problem::TooManyInvitations) => {
            Err(ApiError::Problem(StatusCode::TOO_MANY_REQUESTS, "too_many_invitations"))
        }
        Err(err) => Err(ApiError::Web(err.into())),
    }
}
