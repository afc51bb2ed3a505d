//! `organizations`.

use super::Organization;
use dentex_db::entities::organization;
use dentex_db::now;
use dentex_domain::{CountryCode, DataRegion, OrgId, OrgKind};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Set};

pub async fn find<C: ConnectionTrait>(db: &C, id: OrgId) -> Result<Option<Organization>, DbErr> {
    organization::Entity::find_by_id(id.0).one(db).await
}

/// The names of these organizations, in one query.
pub async fn names<C: ConnectionTrait>(
    db: &C,
    ids: Vec<uuid::Uuid>,
) -> Result<std::collections::HashMap<uuid::Uuid, String>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows = organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|o| (o.id, o.name)).collect())
}

/// A registered organisation: a lab serves its own country to begin with.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    id: OrgId,
    name: String,
    kind: OrgKind,
    country: CountryCode,
    region: DataRegion,
) -> Result<Organization, DbErr> {
    let t = now();
    organization::ActiveModel {
        id: Set(id.0),
        name: Set(name),
        kind: Set(kind.as_str().into()),
        country: Set(country.to_string()),
        region: Set(region.as_str().into()),
        accepts_new_work: Set(kind.is_lab()),
        services: Set("[]".into()),
        service_countries: Set(if kind.is_lab() {
            format!("[\"{country}\"]")
        } else {
            "[]".into()
        }),
        suspended_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await
}

/// A profile change: each field given replaces the stored one.
#[derive(Debug, Default)]
pub struct Changes {
    pub name: Option<String>,
    pub accepts_new_work: Option<bool>,
    pub services: Option<Vec<String>>,
    pub service_countries: Option<Vec<String>>,
}

pub async fn update<C: ConnectionTrait>(db: &C, o: Organization, c: Changes) -> Result<Organization, DbErr> {
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    let mut am: organization::ActiveModel = o.into();
    if let Some(name) = c.name {
        am.name = Set(name);
    }
    if let Some(v) = c.accepts_new_work {
        am.accepts_new_work = Set(v);
    }
    if let Some(s) = &c.services {
        am.services = Set(json(s));
    }
    if let Some(s) = &c.service_countries {
        am.service_countries = Set(json(s));
    }
    am.updated_at = Set(now());
    am.update(db).await
}
