//! Keyset paging, the same on every list: `limit` (1–200, default 50) and
//! `cursor`, which is the `next_cursor` of the page before (opaque to
//! clients: the key of that page's last row). A list fetches `limit + 1`
//! rows after the cursor; [`split`] keeps `limit` and says whether there is
//! a next page.

use crate::{ApiError, codes};
use std::str::FromStr;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

/// The query of every list.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the page before.
    #[param(format = Uuid)]
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// The query of a list keyed by a sequence number (the access log).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeqPageQuery {
    /// The `next_cursor` of the page before.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

impl SeqPageQuery {
    pub fn page(&self) -> Result<Page<i64>, ApiError> {
        page(self.limit, self.cursor.as_deref())
    }
}

impl PageQuery {
    pub fn page<K: FromStr>(&self) -> Result<Page<K>, ApiError> {
        page(self.limit, self.cursor.as_deref())
    }
}

/// A list's `limit` and `cursor`, checked.
#[derive(Debug, Clone, Copy)]
pub struct Page<K> {
    pub limit: u64,
    pub after: Option<K>,
}

/// Checks a list's `limit` and `cursor` (400 `invalid_query` naming the
/// parameter).
pub fn page<K: FromStr>(limit: Option<u64>, cursor: Option<&str>) -> Result<Page<K>, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(
            &codes::INVALID_QUERY,
            format!("limit: between 1 and {MAX_LIMIT}."),
        ));
    }
    let after = match cursor {
        Some(c) => Some(
            c.parse()
                .map_err(|_| ApiError::new(&codes::INVALID_QUERY, "cursor: not one we gave."))?,
        ),
        None => None,
    };
    Ok(Page { limit, after })
}

/// Keeps the first `limit` of `rows` (fetched as `limit + 1`) and the
/// cursor of the next page, if there is one.
pub fn split<T, K: ToString>(mut rows: Vec<T>, limit: u64, key: impl Fn(&T) -> K) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|r| key(r).to_string());
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors_are_checked_and_pages_split() {
        assert_eq!(page::<u64>(None, None).unwrap().limit, 50);
        for bad in [Some(0), Some(201), Some(u64::MAX)] {
            assert_eq!(page::<u64>(bad, None).unwrap_err().code, "invalid_query");
        }
        assert_eq!(page::<u64>(None, Some("x")).unwrap_err().code, "invalid_query");
        assert_eq!(page::<u64>(Some(2), Some("7")).unwrap().after, Some(7));
        assert_eq!(split(vec![1, 2, 3], 2, |x| *x), (vec![1, 2], Some("2".to_owned())));
        assert_eq!(split(vec![1, 2], 2, |x| *x), (vec![1, 2], None));
    }
}
