//! TAXII 2.0's item pagination (2.0 §3.4): `Range: items=a-b` asks for the zero-based,
//! inclusive items a to b of a result; a partial answer says `Content-Range: items a-b/total`.
//! The 2.0 examples write `items a-b` (a space, not RFC 7233's `=`) and clients send both, so
//! both are read.

/// The items a request asks for: `first` and, when given, `last` (both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemsRange {
    pub first: u64,
    pub last: Option<u64>,
}

/// Why a `Range` header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Range header '{0}' is not of the form 'items=<first>-<last>'")]
pub struct RangeError(pub String);

impl ItemsRange {
    /// Parses `items=a-b`, `items a-b` or the open-ended `items=a-`. Another unit, several
    /// ranges, a suffix range (`items=-5`) or `b < a` is an error: TAXII 2.0 defines none.
    pub fn parse(header: &str) -> Result<ItemsRange, RangeError> {
        let bad = || RangeError(header.chars().take(100).collect());
        let trimmed = header.trim();
        let unit_len = "items".len();
        let rest = trimmed
            .get(..unit_len)
            .filter(|u| u.eq_ignore_ascii_case("items"))
            .and_then(|_| trimmed.get(unit_len..))
            .ok_or_else(bad)?;
        let spec = rest
            .strip_prefix('=')
            .or_else(|| rest.strip_prefix(' '))
            .ok_or_else(bad)?
            .trim();
        let (first, last) = spec.split_once('-').ok_or_else(bad)?;
        let number = |s: &str| -> Result<u64, RangeError> {
            if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            // Digits only: past u64 is simply past every result.
            Ok(s.parse::<u64>().unwrap_or(u64::MAX))
        };
        let first = number(first.trim())?;
        let last = match last.trim() {
            "" => None,
            l => Some(number(l)?),
        };
        if last.is_some_and(|l| l < first) {
            return Err(bad());
        }
        Ok(ItemsRange { first, last })
    }

    /// How many items the range asks for, capped at `max` (a server page).
    pub fn len_capped(&self, max: u64) -> u64 {
        match self.last {
            Some(l) => (l - self.first).saturating_add(1).min(max),
            None => max,
        }
    }
}

/// `Content-Range: items a-b/total` for `count` items from `first` (`count` > 0).
pub fn content_range(first: u64, count: u64, total: u64) -> String {
    format!(
        "items {first}-{}/{total}",
        first.saturating_add(count.saturating_sub(1))
    )
}

/// `Content-Range: items */total`: the answer to a range past the end (416), or the whole of
/// an empty result.
pub fn unsatisfied_range(total: u64) -> String {
    format!("items */{total}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_and_open_ranges_are_read() {
        let r = |first, last| Ok(ItemsRange { first, last });
        assert_eq!(ItemsRange::parse("items=0-9"), r(0, Some(9)));
        assert_eq!(ItemsRange::parse("items 0-9"), r(0, Some(9)));
        assert_eq!(ItemsRange::parse(" Items=10-10 "), r(10, Some(10)));
        assert_eq!(ItemsRange::parse("items=5-"), r(5, None));
        assert_eq!(
            ItemsRange::parse("items=0-99999999999999999999999"),
            r(0, Some(u64::MAX))
        );
    }

    #[test]
    fn other_shapes_are_refused() {
        for bad in [
            "",
            "items",
            "items=",
            "items=a-b",
            "items=-5",
            "items=9-0",
            "bytes=0-9",
            "items=0-9,20-29",
            "items:0-9",
            "itemsx=0-9",
            "items=+1-2",
            "é",
        ] {
            assert!(ItemsRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lengths_are_capped_at_the_page_size() {
        let r = ItemsRange::parse("items=0-9").unwrap();
        assert_eq!(r.len_capped(100), 10);
        assert_eq!(r.len_capped(4), 4);
        assert_eq!(ItemsRange::parse("items=3-").unwrap().len_capped(100), 100);
        let huge = ItemsRange::parse("items=0-18446744073709551615").unwrap();
        assert_eq!(huge.len_capped(100), 100);
        assert_eq!(content_range(0, 10, 25), "items 0-9/25");
        assert_eq!(content_range(20, 5, 25), "items 20-24/25");
        assert_eq!(unsatisfied_range(25), "items */25");
    }
}
