//! The town hall's desk (role `mairie`): its town's communities, created, renamed, and their
//! referents appointed and removed, as on its pages.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vigie::app::town::{self, Person, Problem, Summary};
use vigie::domain::{Community, Role};

use super::{ApiError, CommunityJson};
use crate::app::AppState;
use crate::forms::Segments;
use crate::guard::{CsrfHeader, CsrfJson, TownHall};
use crate::render::phone_display;

#[derive(Debug, Serialize)]
pub struct PersonJson {
    pub id: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub role: &'static str,
    /// The number as shown, absent when its owner hid it or there is none.
    pub phone: Option<String>,
    pub has_email: bool,
    pub number: &'static str,
}

impl PersonJson {
    fn of(person: &Person) -> Self {
        Self {
            id: person.id.to_string(),
            first_name: person.first_name.to_string(),
            last_name: person.last_name.as_ref().map(ToString::to_string),
            role: person.role.as_str(),
            phone: person.phone.as_ref().map(phone_display),
            has_email: person.has_email,
            number: if person.number_confirmed {
                "confirmed"
            } else if person.number_invited {
                "invited"
            } else {
                "none"
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SummaryJson {
    pub community: CommunityJson,
    pub members: u32,
    pub confirmed_numbers: u32,
    pub invited_numbers: u32,
    pub without_number: u32,
    pub referents: Vec<PersonJson>,
}

fn community_json(community: &Community) -> CommunityJson {
    CommunityJson { id: community.id.to_string(), name: community.name.clone(), town: community.town.clone() }
}

impl SummaryJson {
    fn of(summary: &Summary) -> Self {
        Self {
            community: community_json(&summary.community),
            members: summary.members,
            confirmed_numbers: summary.confirmed_numbers,
            invited_numbers: summary.invited_numbers,
            without_number: summary.without_number,
            referents: summary.referents.iter().map(PersonJson::of).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TownJson {
    pub town: String,
    pub communities: Vec<SummaryJson>,
}

/// `GET /api/town`: the town's communities, counted.
pub(super) async fn get_town(
    State(state): State<AppState>,
    hall: TownHall,
) -> Result<Json<TownJson>, ApiError> {
    let summaries =
        town::communities(state.store(), &hall.town).await.map_err(|err| ApiError::Web(err.into()))?;
    Ok(Json(TownJson { town: hall.town, communities: summaries.iter().map(SummaryJson::of).collect() }))
}

#[derive(Debug, Serialize)]
pub struct CommunityDetailJson {
    #[serde(flatten)]
    pub summary: SummaryJson,
    pub people: Vec<PersonJson>,
}

/// `GET /api/town/communities/{id}`: a community of the town and its members.
pub(super) async fn get_community(
    State(state): State<AppState>,
    hall: TownHall,
    Segments(id): Segments<String>,
) -> Result<Json<CommunityDetailJson>, ApiError> {
    let (summary, people) = town::community(state.store(), &hall.town, &id).await.map_err(api_error)?;
    Ok(Json(CommunityDetailJson {
        summary: SummaryJson::of(&summary),
        people: people.iter().map(PersonJson::of).collect(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameJson {
    pub name: String,
}

/// `POST /api/town/communities`: a new community of the town.
pub(super) async fn create(
    State(state): State<AppState>,
    hall: TownHall,
    CsrfJson(body): CsrfJson<NameJson>,
) -> Result<Response, ApiError> {
    let community = town::create(state.store(), &hall.town, &body.name).await.map_err(api_error)?;
    Ok((StatusCode::CREATED, Json(community_json(&community))).into_response())
}

/// `PATCH /api/town/communities/{id}`: renamed.
pub(super) async fn rename(
    State(state): State<AppState>,
    hall: TownHall,
    Segments(id): Segments<String>,
    CsrfJson(body): CsrfJson<NameJson>,
) -> Result<Json<CommunityJson>, ApiError> {
    let community = town::rename(state.store(), &hall.town, &id, &body.name).await.map_err(api_error)?;
    Ok(Json(community_json(&community)))
}

/// `PUT /api/town/communities/{id}/referents/{member}`: a resident appointed referent.
pub(super) async fn appoint(
    State(state): State<AppState>,
    hall: TownHall,
    _: CsrfHeader,
    Segments((id, member)): Segments<(String, String)>,
) -> Result<StatusCode, ApiError> {
    town::set_referent(state.store(), &hall.town, &id, &member, true).await.map_err(api_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/town/communities/{id}/referents/{member}`: a referent a resident again.
pub(super) async fn dismiss(
    State(state): State<AppState>,
    hall: TownHall,
    _: CsrfHeader,
    Segments((id, member)): Segments<(String, String)>,
) -> Result<StatusCode, ApiError> {
    town::set_referent(state.store(), &hall.town, &id, &member, false).await.map_err(api_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A town hall's problem as the API answers it (`docs/openapi.yaml`).
fn api_error(problem: Problem) -> ApiError {
    match problem {
        Problem::InvalidName => ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_name"),
        Problem::NameTaken => ApiError::Problem(StatusCode::CONFLICT, "name_taken"),
        Problem::WrongRole(Role::Resident) => ApiError::Problem(StatusCode::CONFLICT, "not_a_resident"),
        Problem::WrongRole(_) => ApiError::Problem(StatusCode::CONFLICT, "not_a_referent"),
        other => ApiError::Web(other.into()),
    }
}
