//! Calendar months, written `"YYYY-MM"` everywhere: in scenario files, CSV output and messages.
//!
//! A [`Month`] is a count of months since year 0, so month arithmetic is integer arithmetic.
//! This module knows nothing about scenarios or agents.
//!
//! Owns: `Month`. Reads: nothing in the crate. Never: anything above it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A calendar month such as `2014-02`.
///
/// ```
/// use paymarket::Month;
/// let m: Month = "2014-02".parse().unwrap();
/// assert_eq!(m.to_string(), "2014-02");
/// assert_eq!(m.plus(11).to_string(), "2015-01");
/// assert_eq!(m.months_until("2015-02".parse().unwrap()), 12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(i32);

impl Month {
    /// The month `year-month` (`month` in 1..=12).
    pub fn new(year: i32, month: u32) -> Option<Month> {
        if !(1..=12).contains(&month) || !(0..=9999).contains(&year) {
            return None;
        }
        Some(Month(year * 12 + month as i32 - 1))
    }

    /// The calendar year.
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// The month of the year, 1..=12.
    pub fn month_of_year(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }

    /// This month plus `n` months (`n` may be negative).
    pub fn plus(self, n: i32) -> Month {
        Month(self.0 + n)
    }

    /// Months from `self` to `later` (negative when `later` is earlier).
    pub fn months_until(self, later: Month) -> i32 {
        later.0 - self.0
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month_of_year())
    }
}

/// Why a month string could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthParseError(pub String);

impl fmt::Display for MonthParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a month: write it as \"YYYY-MM\", e.g. \"2014-02\"",
            self.0
        )
    }
}

impl std::error::Error for MonthParseError {}

impl FromStr for Month {
    type Err = MonthParseError;
    fn from_str(s: &str) -> Result<Month, MonthParseError> {
        let err = || MonthParseError(s.to_string());
        let (y, m) = s.trim().split_once('-').ok_or_else(err)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(err());
        }
        let y: i32 = y.parse().map_err(|_| err())?;
        let m: u32 = m.parse().map_err(|_| err())?;
        Month::new(y, m).ok_or_else(err)
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let m: Month = "2013-08".parse().unwrap();
        assert_eq!(m.year(), 2013);
        assert_eq!(m.month_of_year(), 8);
        assert_eq!(m.plus(5).to_string(), "2014-01");
        assert_eq!(m.plus(-8).to_string(), "2012-12");
    }

    #[test]
    fn rejects_bad_months() {
        for bad in [
            "2013-13", "2013-00", "13-08", "2013/08", "2013-8", "", "abcd-ef",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad} should be rejected");
        }
    }
}
