//! `page` / `page_size` query parameters (API.md: default 1 and 15, max 100).

use crate::ServiceError;

pub const DEFAULT_PAGE_SIZE: u32 = 15;
pub const MAX_PAGE_SIZE: u32 = 100;
/// The deepest row a page may reach (page × page_size). Deeper offsets are
/// refused: each distinct page is a scan of its offset and a cache key, so an
/// unbounded `page` let anonymous clients make the database count and Redis
/// store without end. (Search engines bound their windows the same way.)
pub const MAX_WINDOW: u64 = 10_000;
/// Follows from the window: page_size is at least 1.
pub const MAX_PAGE: u32 = MAX_WINDOW as u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub page_size: u32,
}

impl Page {
    /// Parses a raw query string. Unknown parameters are ignored; a present
    /// but invalid `page` or `page_size` is a 400, never silently clamped.
    pub fn from_query(query: &str) -> Result<Page, ServiceError> {
        let mut page = 1;
        let mut page_size = DEFAULT_PAGE_SIZE;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "page" => page = parse_bounded("page", &value, 1, MAX_PAGE)?,
                "page_size" => page_size = parse_bounded("page_size", &value, 1, MAX_PAGE_SIZE)?,
                _ => {}
            }
        }
        Page::new(page, page_size)
    }

    pub fn new(page: u32, page_size: u32) -> Result<Page, ServiceError> {
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(ServiceError::invalid(format!(
                "page must be between 1 and {MAX_PAGE}"
            )));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(ServiceError::invalid(format!(
                "page_size must be between 1 and {MAX_PAGE_SIZE}"
            )));
        }
        if u64::from(page) * u64::from(page_size) > MAX_WINDOW {
            return Err(ServiceError::invalid(format!(
                "page × page_size must be at most {MAX_WINDOW}"
            )));
        }
        Ok(Page { page, page_size })
    }

    /// Rows to skip: pages of N advance by N (the seed advanced by 10).
    pub fn offset(&self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.page_size)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.page_size)
    }
}

fn parse_bounded(name: &str, value: &str, min: u32, max: u32) -> Result<u32, ServiceError> {
    let message = || format!("{name} must be an integer between {min} and {max}");
    let n: u64 = value
        .trim()
        .parse()
        .map_err(|_| ServiceError::invalid(message()))?;
    if n < u64::from(min) || n > u64::from(max) {
        return Err(ServiceError::invalid(message()));
    }
    Ok(n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults() {
        assert_eq!(
            Page::from_query("").unwrap(),
            Page {
                page: 1,
                page_size: 15
            }
        );
    }

    #[test]
    fn reads_both_parameters() {
        let p = Page::from_query("page=3&page_size=20&x=y").unwrap();
        assert_eq!((p.page, p.page_size), (3, 20));
        assert_eq!(p.offset(), 40);
        assert_eq!(p.limit(), 20);
    }

    #[test]
    fn rejects_out_of_range_and_garbage() {
        for q in [
            "page=0",
            "page=-1",
            "page=abc",
            "page_size=0",
            "page_size=101",
            "page_size=1000000",
            "page=1.5",
            "page=",
            "page=99999999999999999999",
            "page=10001",
            "page=101&page_size=100",
            "page=668",
        ] {
            let err = Page::from_query(q).unwrap_err();
            assert!(matches!(err, ServiceError::InvalidInput(_)), "{q}");
        }
    }

    #[test]
    fn pages_do_not_overlap() {
        let a = Page::new(1, 15).unwrap();
        let b = Page::new(2, 15).unwrap();
        assert_eq!(a.offset() + a.limit(), b.offset());
    }

    #[test]
    fn the_window_is_bounded() {
        assert!(Page::new(100, 100).is_ok());
        assert!(Page::new(666, 15).is_ok());
        assert!(Page::new(667, 15).is_err(), "10 005 rows deep");
        assert!(Page::new(10_000, 1).is_ok());
    }

    proptest! {
        #[test]
        fn valid_pages_have_non_negative_offsets(
            (page, size) in (1u32..=MAX_PAGE_SIZE)
                .prop_flat_map(|size| (1..=MAX_WINDOW as u32 / size, Just(size)))
        ) {
            let p = Page::new(page, size).unwrap();
            prop_assert!(p.offset() >= 0);
            prop_assert_eq!(p.offset() % i64::from(size), 0);
        }
    }
}
