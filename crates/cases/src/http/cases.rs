//! `/api/v1/cases`: drafts, submission, cancellation, lists, the access log.

use crate::http::views::{self, AccessLog, CaseList, CaseView};
use crate::policy::CaseAction;
use crate::service::{
    self,
    cases::{CancelInput, CasePatch, NewCase, SubmitInput},
    lists::ListQuery,
};
use crate::state::CasesState;
use actix_web::{HttpResponse, get, patch, post, web};
use dentex_accounts::Actor;
use dentex_http::paging::SeqPageQuery;
use dentex_http::{ApiError, Json};

/// Drafts a case for the caller's clinic.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])), request_body = NewCase,
    responses((status = 201, body = CaseView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/cases")]
pub async fn create_case(
    actor: Actor,
    state: web::Data<CasesState>,
    input: Json<NewCase>,
) -> Result<HttpResponse, ApiError> {
    let shown = service::cases::create(&state, &actor, input.into_inner()).await?;
    Ok(dentex_http::created(format!("/api/v1/cases/{}", shown.case.id)).json(views::case_view(shown)))
}

/// A case the caller may see. Labs never see the patient reference.
#[utoipa::path(get, path = "/api/v1/cases/{case}", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), responses((status = 200, body = CaseView), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}")]
pub async fn get_case(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let allowed = service::case_for(&state, &actor, &path, CaseAction::Read).await?;
    let shown = service::cases::read(&state, &actor, &allowed).await?;
    Ok(HttpResponse::Ok().json(views::case_view(shown)))
}

/// Changes a draft (the clinic's members only). `rx` replaces the whole Rx.
#[utoipa::path(patch, path = "/api/v1/cases/{case}", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), request_body = CasePatch,
    responses((status = 200, body = CaseView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`case_not_draft`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[patch("/api/v1/cases/{case}")]
pub async fn update_case(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<String>,
    input: Json<CasePatch>,
) -> Result<HttpResponse, ApiError> {
    let allowed = service::case_for(&state, &actor, &path, CaseAction::Update).await?;
    let shown = service::cases::update(&state, &actor, &allowed, input.into_inner()).await?;
    Ok(HttpResponse::Ok().json(views::case_view(shown)))
}

/// Sends the case: to named labs, or open to every verified lab that offers
/// the services it needs in the clinic's region. Refuses an incomplete case
/// with every problem and its field.
#[utoipa::path(post, path = "/api/v1/cases/{case}/submit", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), request_body = SubmitInput,
    responses((status = 200, body = CaseView), (status = 403, description = "`forbidden`, `organization_not_verified`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`case_not_draft`, `restricted`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/cases/{case}/submit")]
pub async fn submit_case(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<String>,
    input: Json<SubmitInput>,
) -> Result<HttpResponse, ApiError> {
    let allowed = service::case_for(&state, &actor, &path, CaseAction::Submit).await?;
    let shown = service::cases::submit(&state, &actor, &allowed, input.into_inner()).await?;
    Ok(HttpResponse::Ok().json(views::case_view(shown)))
}

/// Cancels a case before award, with a reason. The labs involved (named, or
/// with a quote on it) are told by mail (the case id only, never the patient
/// reference or the reason); their quotes are declined.
#[utoipa::path(post, path = "/api/v1/cases/{case}/cancel", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), request_body = CancelInput,
    responses((status = 200, body = CaseView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`case_not_cancelable`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/cases/{case}/cancel")]
pub async fn cancel_case(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<String>,
    input: Json<CancelInput>,
) -> Result<HttpResponse, ApiError> {
    let allowed = service::case_for(&state, &actor, &path, CaseAction::Cancel).await?;
    let shown = service::cases::cancel(&state, &actor, &allowed, input.into_inner()).await?;
    Ok(HttpResponse::Ok().json(views::case_view(shown)))
}

/// The cases the caller's organisations may see, newest first: a clinic's
/// own, and for a lab those open to it. Keyset paging on the id.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = CaseList), (status = 400, description = "`invalid_query`", body = dentex_http::Problem)))]
#[get("/api/v1/cases")]
pub async fn list_cases(
    actor: Actor,
    state: web::Data<CasesState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = service::lists::list(&state, &actor, &q).await?;
    Ok(HttpResponse::Ok().json(CaseList {
        items: page.items.into_iter().map(views::case_view).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Who read or changed this case and its files, and when (the clinic only).
#[utoipa::path(get, path = "/api/v1/cases/{case}/access-log", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), SeqPageQuery), responses((status = 200, body = AccessLog), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/access-log")]
pub async fn access_log(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<String>,
    q: web::Query<SeqPageQuery>,
) -> Result<HttpResponse, ApiError> {
    let allowed = service::case_for(&state, &actor, &path, CaseAction::AccessLog).await?;
    let page = service::cases::access_log(&state, &actor, &allowed, q.page()?).await?;
    Ok(HttpResponse::Ok().json(views::access_log(page)))
}

/// Which organisations received this case's data, when and for what (the
/// accounting of disclosures; the clinic only): the labs it was sent to,
/// the lab it was awarded to, and what each read or changed.
#[utoipa::path(get, path = "/api/v1/cases/{case}/disclosures", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), responses((status = 200, body = views::DisclosureList), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/disclosures")]
pub async fn disclosures(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let allowed = service::case_for(&state, &actor, &path, CaseAction::AccessLog).await?;
    let items = service::disclosures::of_case(&state, &actor, &allowed).await?;
    Ok(HttpResponse::Ok().json(views::disclosures(items)))
}
