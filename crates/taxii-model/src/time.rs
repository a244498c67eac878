//! Instants as STIX and TAXII write them.
//!
//! A hand-written parser rather than a date crate: STIX timestamps have one strict grammar
//! (`YYYY-MM-DDTHH:MM:SS[.s+]Z`, UTC only, up to 9 fractional digits here) and versions must be
//! compared as exact nanosecond instants, which a general RFC 3339 parser would have to be
//! wrapped and re-checked for anyway.

use std::fmt;

const NANOS_PER_SEC: i64 = 1_000_000_000;
const NANOS_PER_MICRO: i64 = 1_000;

/// An instant in UTC with nanosecond precision (nanoseconds since the Unix epoch).
///
/// The range is that of `i64` nanoseconds: 1677-09-21 to 2262-04-11.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a timestamp of the form YYYY-MM-DDTHH:MM:SS[.fraction]Z ({reason})")]
pub struct TimestampError {
    pub text: String,
    pub reason: &'static str,
}

impl Timestamp {
    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    pub const fn nanos(self) -> i64 {
        self.0
    }

    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros.saturating_mul(NANOS_PER_MICRO))
    }

    /// Microseconds since the epoch, rounded down (TAXII timestamps carry six digits).
    pub const fn micros(self) -> i64 {
        self.0.div_euclid(NANOS_PER_MICRO)
    }

    /// This instant with everything below the microsecond dropped.
    pub const fn truncate_to_micros(self) -> Self {
        Timestamp::from_micros(self.micros())
    }

    /// The next representable TAXII timestamp (one microsecond later).
    pub const fn next_micro(self) -> Self {
        Timestamp::from_micros(self.micros() + 1)
    }

    /// Parses the STIX/TAXII timestamp grammar: `YYYY-MM-DDTHH:MM:SS`, an optional `.` with 1 to 9
    /// digits, and a literal `Z`. Calendar and clock ranges are checked.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let (secs, fraction_nanos) = Self::parse_parts(text)?;
        secs.checked_mul(NANOS_PER_SEC)
            .and_then(|n| n.checked_add(fraction_nanos))
            .map(Timestamp)
            .ok_or_else(|| TimestampError {
                text: text.to_owned(),
                reason: "outside the supported range 1677-2262",
            })
    }

    /// Like [`parse`](Self::parse), but an instant outside the representable range becomes the
    /// earliest or latest one. For query bounds such as `added_after`, where a far-future
    /// instant is valid and simply matches nothing.
    pub fn parse_saturating(text: &str) -> Result<Self, TimestampError> {
        let (secs, fraction_nanos) = Self::parse_parts(text)?;
        Ok(Timestamp(
            secs.saturating_mul(NANOS_PER_SEC)
                .saturating_add(fraction_nanos),
        ))
    }

    /// Seconds since the epoch and the nanoseconds of the fraction.
    fn parse_parts(text: &str) -> Result<(i64, i64), TimestampError> {
        let fail = |reason| TimestampError {
            text: text.to_owned(),
            reason,
        };
        let b = text.as_bytes();
        if b.len() < 20 {
            return Err(fail("too short"));
        }
        let digits = |range: std::ops::Range<usize>| -> Option<i64> {
            b.get(range)?.iter().try_fold(0i64, |acc, c| {
                c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
            })
        };
        let sep_ok =
            b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':';
        if !sep_ok {
            return Err(fail("bad separators"));
        }
        let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
            digits(0..4),
            digits(5..7),
            digits(8..10),
            digits(11..13),
            digits(14..16),
            digits(17..19),
        ) else {
            return Err(fail("expected digits"));
        };
        let mut fraction_nanos = 0i64;
        let rest = &b[19..];
        let zone = match rest.first() {
            Some(b'.') => {
                let frac: &[u8] = rest.get(1..rest.len() - 1).unwrap_or_default();
                if frac.is_empty() || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
                    return Err(fail("fraction must have 1 to 9 digits"));
                }
                for (i, c) in frac.iter().enumerate() {
                    fraction_nanos += i64::from(c - b'0') * 10i64.pow(8 - i as u32);
                }
                &rest[rest.len() - 1..]
            }
            _ => rest,
        };
        if zone != b"Z" {
            return Err(fail("must end in Z"));
        }
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(fail("no such date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(fail("no such time"));
        }
        let days = days_from_civil(year, month, day);
        Ok((
            days * 86_400 + hour * 3_600 + minute * 60 + second,
            fraction_nanos,
        ))
    }

    /// The TAXII form: UTC, exactly six fractional digits, `Z`.
    pub fn to_taxii_string(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(NANOS_PER_SEC);
        let micros = self.0.rem_euclid(NANOS_PER_SEC) / NANOS_PER_MICRO;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's algorithms: days since 1970-01-01 in the proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Where "now" comes from. The server reads the wall clock at its edge and passes instants
/// inward, so tests can pin time.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Timestamp;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_fraction_length_to_the_same_instant_when_equal() {
        let a = Timestamp::parse("2016-01-01T00:00:00Z").unwrap();
        let b = Timestamp::parse("2016-01-01T00:00:00.000Z").unwrap();
        let c = Timestamp::parse("2016-01-01T00:00:00.000000000Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(a.nanos(), 1_451_606_400 * NANOS_PER_SEC);
    }

    #[test]
    fn keeps_nanosecond_precision() {
        let a = Timestamp::parse("2016-01-01T00:00:00.123456789Z").unwrap();
        let b = Timestamp::parse("2016-01-01T00:00:00.123456788Z").unwrap();
        assert!(a > b);
        assert_eq!(a.nanos() % NANOS_PER_SEC, 123_456_789);
        let half = Timestamp::parse("2016-01-01T00:00:00.5Z").unwrap();
        assert_eq!(half.nanos() % NANOS_PER_SEC, 500_000_000);
    }

    #[test]
    fn formats_with_six_digits_and_z() {
        let t = Timestamp::parse("2017-01-27T13:49:53.935382999Z").unwrap();
        assert_eq!(t.to_taxii_string(), "2017-01-27T13:49:53.935382Z");
        let t = Timestamp::parse("1969-12-31T23:59:59.5Z").unwrap();
        assert_eq!(t.to_taxii_string(), "1969-12-31T23:59:59.500000Z");
        let t = Timestamp::parse("2000-02-29T00:00:00Z").unwrap();
        assert_eq!(t.to_taxii_string(), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn round_trips_through_the_taxii_form() {
        for micros in [0i64, 1, -1, 1_479_969_045_000_001, 4_102_444_800_000_000] {
            let t = Timestamp::from_micros(micros);
            assert_eq!(Timestamp::parse(&t.to_taxii_string()).unwrap(), t);
        }
    }

    #[test]
    fn saturating_parse_clamps_only_the_range() {
        let far = Timestamp::parse_saturating("3000-01-01T00:00:00Z").unwrap();
        assert_eq!(far, Timestamp::from_nanos(i64::MAX));
        let early = Timestamp::parse_saturating("0001-01-01T00:00:00Z").unwrap();
        assert_eq!(early, Timestamp::from_nanos(i64::MIN));
        assert!(Timestamp::parse_saturating("3000-13-01T00:00:00Z").is_err());
        assert_eq!(
            Timestamp::parse_saturating("2016-01-01T00:00:00Z"),
            Timestamp::parse("2016-01-01T00:00:00Z")
        );
    }

    #[test]
    fn rejects_what_is_not_a_stix_timestamp() {
        for bad in [
            "",
            "yesterday",
            "2016-13-01T00:00:00Z",
            "2016-02-30T00:00:00Z",
            "2015-02-29T00:00:00Z",
            "2016-01-01T24:00:00Z",
            "2016-01-01T00:60:00Z",
            "2016-01-01T00:00:00",
            "2016-01-01T00:00:00+00:00",
            "2016-01-01 00:00:00Z",
            "2016-01-01T00:00:00.Z",
            "2016-01-01T00:00:00.1234567890Z",
            "2016-01-01t00:00:00z",
            "16-01-01T00:00:00Z",
            "2016-01-01T00:00:00ZZ",
            "2016-01-01T00:00:00.",
            "2016-01-01T00:00:0.Z",
            "3000-01-01T00:00:00Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
